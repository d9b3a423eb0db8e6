/**
 * Request body parsing. Every route takes JSON whatever the content-type says (curl's
 * default form type included). int64 fields sent as long JSON numbers are turned into
 * strings before parsing so no digit is lost (DESIGN 2). Namespace documents are parsed
 * leniently (comments, trailing commas) so the article's examples work verbatim.
 */
import { parseNamespaceBody } from '../../core/control/lenient-json.js';

const INT64_NUMBER = /("(?:delta|count)"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;
/** What INT64_NUMBER needs to match at all: 16 digits in a row (absent from most bodies). */
const SIXTEEN_DIGITS = /\d{16}/;

/** Parses a request body text for a route URL. */
export function parseBody(url: string, text: string): unknown {
  if (url.includes('/namespaces/')) return text.trim() === '' ? {} : parseNamespaceBody(text);
  const pair = namespaceAndCounter(text);
  if (pair !== undefined) return pair;
  // A JSON string cannot contain an unescaped quote, so this only matches real keys. The
  // replace is skipped when it cannot match (issue 9: it was half of a counter body's
  // parse, ~0.5 µs, and its copy of the text made JSON.parse slower too).
  return JSON.parse(SIXTEEN_DIGITS.test(text) ? text.replace(INT64_NUMBER, '$1"$2"') : text);
}

const PAIR_HEAD = '{"namespace":"';
const PAIR_MIDDLE = '","counter_name":"';

/**
 * A GetCount body written as the SDK and the bench write it, `{"namespace":"…","counter_name":"…"}`
 * with no space, escape or control character in either string: the object JSON.parse
 * gives for it (the same keys in the same order), read with two searches instead of the
 * JSON parser (issue 9: ~0.3 µs of a ~0.35 µs parse). Any other text: undefined, and
 * JSON.parse reads it (and refuses what it refuses).
 */
function namespaceAndCounter(text: string): { namespace: string; counter_name: string } | undefined {
  if (!hasAt(text, 0, PAIR_HEAD)) return undefined;
  const nsEnd = text.indexOf('"', PAIR_HEAD.length);
  if (nsEnd < 0 || !hasAt(text, nsEnd, PAIR_MIDDLE)) return undefined;
  const nameStart = nsEnd + PAIR_MIDDLE.length;
  const nameEnd = text.length - 2;
  if (nameEnd < nameStart || text.charCodeAt(nameEnd) !== 0x22 || text.charCodeAt(nameEnd + 1) !== 0x7d) return undefined;
  if (!plainJsonChars(text, PAIR_HEAD.length, nsEnd) || !plainJsonChars(text, nameStart, nameEnd)) return undefined;
  return { namespace: text.slice(PAIR_HEAD.length, nsEnd), counter_name: text.slice(nameStart, nameEnd) };
}

/** True when `text[from, to)` holds no quote, backslash or control character: JSON string content taken as it is. */
function plainJsonChars(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** `text.startsWith(part, at)`, compared code by code (startsWith was most of this parse's time). */
function hasAt(text: string, at: number, part: string): boolean {
  if (at + part.length > text.length) return false;
  for (let i = 0; i < part.length; i++) if (text.charCodeAt(at + i) !== part.charCodeAt(i)) return false;
  return true;
}
