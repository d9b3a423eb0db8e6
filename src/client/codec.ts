/**
 * The wire encoding of the SDK's types (the proto3 JSON mapping the server speaks):
 * Date to RFC 3339, bytes to base64, int64 to decimal strings and back to bigint.
 * Uses only what browsers and Node 20 share (btoa/atob, TextEncoder), no Buffer.
 */
import { DgwClientError } from './errors.js';
import type {
  AddCountRequest,
  AggregateEventRecordsRequest,
  AggregateEventRecordsResponse,
  BytesInput,
  ClearCountRequest,
  EventPage,
  EventRecord,
  IdempotencyToken,
  Int64Input,
  ReadEventRecordsRequest,
  SearchEventRecordsRequest,
  SearchQuery,
  TimeInput,
  TimeInterval,
  WriteEventRecordsRequest,
} from './types.js';

/** A JSON object as sent or received. */
export type Json = Record<string, unknown>;

const encoder = new TextEncoder();

/** RFC 3339 text of a time input; strings pass unchanged (the server checks them, microseconds kept). */
export function encodeTime(t: TimeInput): string {
  if (typeof t === 'string') return t;
  if (Number.isNaN(t.getTime())) throw new DgwClientError('INVALID_ARGUMENT', 'invalid Date');
  return t.toISOString();
}

/** Base64 of bytes (a string is its UTF-8 text). */
export function encodeBytes(b: BytesInput): string {
  const bytes = typeof b === 'string' ? encoder.encode(b) : b;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Bytes of a base64 string. */
export function decodeBytes(b64: string): Uint8Array {
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Decimal text of an int64 input. */
export function encodeInt64(n: Int64Input, field: string): string {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) {
    throw new DgwClientError('INVALID_ARGUMENT', `${field}: ${n} is not a safe integer; pass a bigint`);
  }
  return String(n);
}

/** A bigint from the server's decimal string (or number). */
export function decodeInt64(v: unknown, field: string): bigint {
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new DgwClientError('INTERNAL', `${field}: expected an int64 from the server, got ${JSON.stringify(v)}`);
}

function encodeInterval(i: TimeInterval): Json {
  return { start: encodeTime(i.start), end: encodeTime(i.end) };
}

function encodeToken(t: IdempotencyToken): Json {
  return { token: t.token, generation_time: encodeTime(t.generationTime) };
}

function encodeQuery(q: SearchQuery): Json {
  if ('equals' in q) return { equals: { eventItemKey: q.equals.eventItemKey, eventItemValue: encodeBytes(q.equals.eventItemValue) } };
  if ('range' in q) {
    const { eventItemKey, lowerBound, upperBound } = q.range;
    const bound = (b: NonNullable<typeof lowerBound>) => ({ eventItemValue: encodeBytes(b.eventItemValue), ...(b.inclusive === undefined ? {} : { inclusive: b.inclusive }) });
    return { range: { eventItemKey, ...(lowerBound ? { lowerBound: bound(lowerBound) } : {}), ...(upperBound ? { upperBound: bound(upperBound) } : {}) } };
  }
  return { booleanQuery: { searchQuery: q.booleanQuery.searchQuery.map(encodeQuery), ...(q.booleanQuery.operator ? { operator: q.booleanQuery.operator } : {}) } };
}

/** Drops undefined members (so optional fields are absent on the wire, not null). */
function compact(o: Json): Json {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** WriteEventRecords(Sync) body; every event must already have its eventId. */
export function encodeWrite(r: WriteEventRecordsRequest & { events: { eventId: string }[] }): Json {
  return {
    namespace: r.namespace,
    events: r.events.map((e) => ({
      timeSeriesId: e.timeSeriesId,
      eventTime: encodeTime(e.eventTime),
      eventId: e.eventId,
      eventItems: e.eventItems.map((i) => ({ eventItemKey: i.eventItemKey, eventItemValue: encodeBytes(i.eventItemValue) })),
    })),
  };
}

/** ReadEventRecords body, with the server-side `timeout` and `allowPartial` the call computed. */
export function encodeRead(r: ReadEventRecordsRequest, serverTimeoutMs: number | undefined, allowPartial: boolean): Json {
  return compact({
    namespace: r.namespace,
    timeSeriesId: r.timeSeriesId,
    timeInterval: encodeInterval(r.timeInterval),
    eventFilters: r.eventFilters?.map((f) => ({ matchEventItemKey: f.matchEventItemKey, matchEventItemValue: encodeBytes(f.matchEventItemValue) })),
    pageSize: r.pageSize,
    totalRecordLimit: r.totalRecordLimit,
    pageToken: r.pageToken,
    timeout: serverTimeoutMs === undefined ? undefined : `${Math.max(1, Math.floor(serverTimeoutMs))}ms`,
    allowPartial: allowPartial ? true : undefined,
  });
}

/** The fields Search and Aggregate share. */
function searchScope(r: SearchEventRecordsRequest | AggregateEventRecordsRequest): Json {
  return {
    namespace: r.namespace,
    timeInterval: encodeInterval(r.timeInterval),
    searchQuery: r.searchQuery === undefined ? undefined : encodeQuery(r.searchQuery),
    pageToken: r.pageToken,
  };
}

/** SearchEventRecords body. */
export function encodeSearch(r: SearchEventRecordsRequest): Json {
  return compact({ ...searchScope(r), pageSize: r.pageSize, totalRecordLimit: r.totalRecordLimit });
}

/** AggregateEventRecords body. */
export function encodeAggregate(r: AggregateEventRecordsRequest): Json {
  return compact({ ...searchScope(r), aggregationQuery: r.aggregationQuery });
}

/** AddCount / AddAndGetCount body; the token is required here (the client made one). */
export function encodeAddCount(r: AddCountRequest & { idempotencyToken: IdempotencyToken }): Json {
  return { namespace: r.namespace, counter_name: r.counterName, delta: encodeInt64(r.delta, 'delta'), idempotency_token: encodeToken(r.idempotencyToken) };
}

/** ClearCount body. */
export function encodeClearCount(r: ClearCountRequest & { idempotencyToken: IdempotencyToken }): Json {
  return { namespace: r.namespace, counter_name: r.counterName, idempotency_token: encodeToken(r.idempotencyToken) };
}

function asArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new DgwClientError('INTERNAL', `${field}: expected an array from the server`);
  return v;
}

function asRecord(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DgwClientError('INTERNAL', `${field}: expected an object from the server`);
  return v as Json;
}

function decodeEvent(v: unknown, i: number): EventRecord {
  const e = asRecord(v, `events[${i}]`);
  return {
    timeSeriesId: String(e['timeSeriesId']),
    eventTime: String(e['eventTime']),
    eventId: String(e['eventId']),
    eventItems: asArray(e['eventItems'] ?? [], `events[${i}].eventItems`).map((item, j) => {
      const it = asRecord(item, `events[${i}].eventItems[${j}]`);
      return { eventItemKey: String(it['eventItemKey']), eventItemValue: decodeBytes(String(it['eventItemValue'] ?? '')) };
    }),
  };
}

/** A Read/Search answer. */
export function decodePage(body: Json): EventPage {
  const token = body['nextPageToken'];
  return {
    events: asArray(body['events'] ?? [], 'events').map(decodeEvent),
    partial: body['partial'] === true,
    ...(typeof token === 'string' && token !== '' ? { nextPageToken: token } : {}),
  };
}

/** An AggregateEventRecords answer. */
export function decodeAggregate(body: Json): AggregateEventRecordsResponse {
  if (body['distinct'] === undefined) return { count: decodeInt64(body['count'], 'count') };
  const d = asRecord(body['distinct'], 'distinct');
  const token = d['nextPageToken'];
  return {
    distinct: {
      eventItemKey: String(d['eventItemKey']),
      values: asArray(d['values'] ?? [], 'distinct.values').map((v, i) => {
        const o = asRecord(v, `distinct.values[${i}]`);
        return { eventItemValue: decodeBytes(String(o['eventItemValue'] ?? '')), count: decodeInt64(o['count'], `distinct.values[${i}].count`) };
      }),
      ...(typeof token === 'string' && token !== '' ? { nextPageToken: token } : {}),
    },
  };
}
