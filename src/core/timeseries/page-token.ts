/**
 * Opaque page tokens (DESIGN 3.4). A token is base64url JSON of the query's fingerprint
 * and the position to resume from, plus a checksum. It holds no server state, so tokens
 * survive restarts and work on any instance.
 */
import { invalidArgument } from '../errors.js';
import { xxhash32 } from '../hash.js';

/** Resume state carried by a token. */
export interface PageState {
  /** Fingerprint of the query the token belongs to. */
  q: string;
  /** Events already returned over the whole walk (for totalRecordLimit). */
  n: number;
  /** Position of the last returned item (meaning depends on the query kind). */
  p?: { t: number; id: string; ts?: string };
  /** Exclusive upper time bound to resume below (when no item was returned yet). */
  b?: number;
  /** Last returned distinct value text. */
  v?: string;
}

/** Encodes a page state into an opaque token. */
export function encodePageToken(state: PageState): string {
  const body = JSON.stringify(state);
  const sum = xxhash32(body).toString(36);
  return Buffer.from(`${sum}.${body}`, 'utf8').toString('base64url');
}

/** Decodes a token for the query `fingerprint`; INVALID_ARGUMENT naming `pageToken` otherwise. */
export function decodePageToken(token: string, fingerprint: string): PageState {
  const bad = (why: string) => invalidArgument('pageToken', why);
  if (token.length > 4096) throw bad('too long');
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const dot = text.indexOf('.');
  if (dot <= 0) throw bad('not a token issued by this service');
  const sum = text.slice(0, dot);
  const body = text.slice(dot + 1);
  if (xxhash32(body).toString(36) !== sum) throw bad('not a token issued by this service');
  let state: PageState;
  try {
    state = JSON.parse(body) as PageState;
  } catch {
    throw bad('not a token issued by this service');
  }
  if (state.q !== fingerprint) throw bad('belongs to a different query (namespace, series, interval or filters changed)');
  return state;
}

/** A stable fingerprint of the parts of a query that must not change between pages. */
export function fingerprintOf(parts: unknown): string {
  return xxhash32(JSON.stringify(parts)).toString(36);
}
