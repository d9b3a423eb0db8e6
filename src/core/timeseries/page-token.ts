/**
 * Opaque page tokens (DESIGN 3.4). A token is base64url JSON of the query's fingerprint
 * and the position to resume from, plus a checksum. It holds no server state, so tokens
 * survive restarts and work on any instance.
 */
import { invalidArgument } from '../../kernel/errors.js';
import { xxhash32 } from '../../kernel/hash.js';
import { textProblem } from '../text.js';

/** Resume state carried by a token. */
export interface PageState {
  /** Fingerprint of the query the token belongs to ({@link fingerprintOf}). */
  query: string;
  /** Events already returned over the whole walk (for totalRecordLimit). */
  returned: number;
  /** The last returned event: resume strictly after it (search order adds its series). */
  after?: { eventTimeMicros: number; eventId: string; timeSeriesId?: string };
  /** Exclusive upper time bound to resume below (when no event was returned yet). */
  below?: number;
  /** Canonical text of the last returned distinct value (AggregateEventRecords). */
  afterValue?: string;
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw bad('not a token issued by this service');
  }
  // The checksum only catches accidents; a forged token can carry any JSON, so every field
  // is checked before it reaches a store (a wrong type there is a driver error, a 500).
  const state = checkState(parsed);
  if (state === undefined) throw bad('not a token issued by this service');
  if (state.query !== fingerprint) throw bad('belongs to a different query (namespace, series, interval or filters changed)');
  return state;
}

const MAX_TEXT = 4096;

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_TEXT && textProblem(v) === undefined;
}

/** The state when `v` has exactly the shape of a PageState with sane values; undefined otherwise. */
function checkState(v: unknown): PageState | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'query' && key !== 'returned' && key !== 'after' && key !== 'below' && key !== 'afterValue') return undefined;
  if (!isText(o['query']) || !isTime(o['returned'])) return undefined;
  const state: PageState = { query: o['query'], returned: o['returned'] };
  const after = o['after'];
  if (after !== undefined) {
    if (typeof after !== 'object' || after === null || Array.isArray(after)) return undefined;
    const pos = after as Record<string, unknown>;
    for (const key of Object.keys(pos)) if (key !== 'eventTimeMicros' && key !== 'eventId' && key !== 'timeSeriesId') return undefined;
    if (!isTime(pos['eventTimeMicros']) || !isText(pos['eventId'])) return undefined;
    if (pos['timeSeriesId'] !== undefined && !isText(pos['timeSeriesId'])) return undefined;
    state.after = { eventTimeMicros: pos['eventTimeMicros'], eventId: pos['eventId'], ...(pos['timeSeriesId'] !== undefined ? { timeSeriesId: pos['timeSeriesId'] } : {}) };
  }
  if (o['below'] !== undefined) {
    if (!isTime(o['below'])) return undefined;
    state.below = o['below'];
  }
  if (o['afterValue'] !== undefined) {
    if (!isText(o['afterValue'])) return undefined;
    state.afterValue = o['afterValue'];
  }
  return state;
}

/** A stable fingerprint of the parts of a query that must not change between pages. */
export function fingerprintOf(parts: unknown): string {
  return xxhash32(JSON.stringify(parts)).toString(36);
}
