/**
 * Page tokens (DESIGN 3.4): base64url JSON of the query's fingerprint and the position to
 * resume from, signed with an HMAC-SHA256 of a server secret. A token holds no server
 * state, so it survives restarts and works on any instance sharing the secret (the server
 * keeps one in its namespace registry: src/server/runtime.ts). A client can read a token
 * but not forge or alter one: a token that does not verify, or that verifies but does not
 * parse as a page state, is INVALID_ARGUMENT naming `pageToken`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** Bytes of the HMAC kept in a token (128 bits: forging is out of reach, tokens stay short). */
const MAC_BYTES = 16;
/** Shortest secret accepted. */
export const MIN_SECRET_BYTES = 16;

/** Signs and verifies the page tokens of one server secret. */
export class PageTokens {
  private readonly key: Buffer;

  /** @param secret at least {@link MIN_SECRET_BYTES} bytes (a string counts its UTF-8 bytes). */
  constructor(secret: string | Uint8Array) {
    this.key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (this.key.length < MIN_SECRET_BYTES) throw invalidArgument('pageTokenSecret', `must be at least ${MIN_SECRET_BYTES} bytes`);
  }

  /** Tokens of a fresh random secret: valid only in this process (tests, a lone engine). */
  static random(): PageTokens {
    return new PageTokens(randomBytes(32));
  }

  /** Encodes a page state into a signed token. */
  encode(state: PageState): string {
    const body = Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** Verifies and decodes a token for the query `fingerprint`; INVALID_ARGUMENT naming `pageToken` otherwise. */
  decode(token: string, fingerprint: string): PageState {
    const bad = (why: string) => invalidArgument('pageToken', why);
    if (token.length > 4096) throw bad('too long');
    const dot = token.indexOf('.');
    if (dot <= 0) throw bad('not a token issued by this service');
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    if (given.length !== MAC_BYTES || !timingSafeEqual(given, this.mac(body))) throw bad('not a token issued by this service');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw bad('not a token issued by this service');
    }
    // Parsed, not cast: even a signed body is checked field by field before it reaches a
    // store (a secret shared too widely must not turn into a driver error, a 500).
    const state = checkState(parsed);
    if (state === undefined) throw bad('not a token issued by this service');
    if (state.query !== fingerprint) throw bad('belongs to a different query (namespace, series, interval or filters changed)');
    return state;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }
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
