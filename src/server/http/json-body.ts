/**
 * Request body parsing. Every route takes JSON whatever the content-type says (curl's
 * default form type included). int64 fields sent as long JSON numbers are turned into
 * strings before parsing so no digit is lost (DESIGN 2). Namespace documents are parsed
 * leniently (comments, trailing commas) so the article's examples work verbatim.
 */
import { parseNamespaceBody } from '../../core/control/lenient-json.js';

const INT64_NUMBER = /("(?:delta|count)"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;

/** Parses a request body text for a route URL. */
export function parseBody(url: string, text: string): unknown {
  if (url.includes('/namespaces/')) return text.trim() === '' ? {} : parseNamespaceBody(text);
  // A JSON string cannot contain an unescaped quote, so this only matches real keys.
  return JSON.parse(text.replace(INT64_NUMBER, '$1"$2"'));
}
