/**
 * The wire encoding of the SDK's types (the proto3 JSON mapping the server speaks):
 * Date to RFC 3339, bytes to base64, int64 to decimal strings and back to bigint.
 * Uses only what browsers and Node 20 share (btoa/atob, TextEncoder), no Buffer.
 *
 * Typed against the generated wire messages (wire.gen.ts): every encoder names every field
 * of its wire message ({@link Complete}: a field added to the proto fails the typecheck
 * here until the encoder says what it sends; a field renamed or removed fails it too), and
 * decoders read fields by their wire names ({@link field}).
 */
import { DgwClientError } from './errors.js';
import type * as Wire from './wire.gen.js';
import type {
  AddCountRequest,
  AggregateEventRecordsRequest,
  AggregateEventRecordsResponse,
  AggregationQuery,
  BytesInput,
  ClearCountRequest,
  CompareCountsRequest,
  CompareCountsResponse,
  CounterLogPage,
  EventPage,
  EventRecord,
  GetCountRequest,
  IdempotencyToken,
  Int64Input,
  RangeBound,
  ReadCounterLogRequest,
  ReadEventRecordsRequest,
  RecountCountRequest,
  RecountCountResponse,
  SearchEventRecordsRequest,
  SearchQuery,
  TimeInput,
  TimeInterval,
  WriteEventRecordsRequest,
} from './types.js';

/** A JSON object as sent or received. */
export type Json = Record<string, unknown>;

/**
 * Every field of the wire message `W` named (undefined: not sent). Mapped over
 * `Extract<keyof W, string>` rather than `keyof W` so that the optional fields' `undefined`
 * is kept (a `-?` mapping would drop it).
 */
export type Complete<W> = { [K in Extract<keyof W, string>]: W[K] | undefined };

/** Field `key` of an answer, by its name in the wire message `W`. */
function field<W>(body: Json, key: keyof W & string): unknown {
  return body[key];
}

/** True when `A` and `B` have the same keys (type-level checks below). */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
/** Compiles only when `T` is `true`. */
type Check<T extends true> = T;
/** Members of a union of single-key objects (the SDK's oneof unions). */
type UnionKeys<U> = U extends unknown ? keyof U : never;

// Messages the SDK treats as one: a proto change making them differ fails here.
export type WireChecks = [
  Check<SameKeys<Wire.WriteEventRecordsRequest, Wire.WriteEventRecordsSyncRequest>>,
  Check<SameKeys<Wire.AddCountRequest, Wire.AddAndGetCountRequest>>,
  Check<SameKeys<Wire.ReadEventRecordsResponse, Wire.SearchEventRecordsResponse>>,
  Check<SameKeys<Wire.AddAndGetCountResponse, Wire.GetCountResponse>>,
  // The SDK's oneof unions cover exactly the wire oneofs.
  Check<SameKeys<Record<UnionKeys<SearchQuery>, true>, Wire.SearchQuery>>,
  Check<SameKeys<Record<UnionKeys<AggregateEventRecordsRequest['aggregationQuery']>, true>, Wire.AggregationQuery>>,
  Check<SameKeys<Record<UnionKeys<AggregateEventRecordsResponse>, true>, Wire.AggregateEventRecordsResponse>>,
];

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

function encodeInterval(i: TimeInterval): Wire.TimeInterval {
  return { start: encodeTime(i.start), end: encodeTime(i.end) } satisfies Complete<Wire.TimeInterval>;
}

function encodeToken(t: IdempotencyToken): Wire.IdempotencyToken {
  return { token: t.token, generationTime: encodeTime(t.generationTime) } satisfies Complete<Wire.IdempotencyToken>;
}

function encodeBound(b: RangeBound | undefined): Wire.RangeBound | undefined {
  return b === undefined ? undefined : compact({ eventItemValue: encodeBytes(b.eventItemValue), inclusive: b.inclusive } satisfies Complete<Wire.RangeBound>);
}

function encodeQuery(q: SearchQuery): Wire.SearchQuery {
  if ('equals' in q) {
    return { equals: { eventItemKey: q.equals.eventItemKey, eventItemValue: encodeBytes(q.equals.eventItemValue) } satisfies Complete<Wire.EqualsQuery> };
  }
  if ('range' in q) {
    const { eventItemKey, lowerBound, upperBound } = q.range;
    return { range: compact({ eventItemKey, lowerBound: encodeBound(lowerBound), upperBound: encodeBound(upperBound) } satisfies Complete<Wire.RangeQuery>) };
  }
  const b = q.booleanQuery;
  return { booleanQuery: compact({ searchQuery: b.searchQuery.map(encodeQuery), operator: b.operator } satisfies Complete<Wire.BooleanQuery>) };
}

function encodeAggregation(a: AggregationQuery): Wire.AggregationQuery {
  if ('count' in a) return { count: {} };
  return { distinct: compact({ eventItemKey: a.distinct.eventItemKey, pageSize: a.distinct.pageSize } satisfies Complete<Wire.DistinctAggregation>) };
}

/** Drops undefined members (so optional fields are absent on the wire, not null). */
function compact<T extends object>(o: T): T {
  const record = o as Record<string, unknown>;
  for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
  return o;
}

/** WriteEventRecords(Sync) body; every event must already have its eventId. */
export function encodeWrite(r: WriteEventRecordsRequest & { events: { eventId: string }[] }): Wire.WriteEventRecordsRequest {
  return {
    namespace: r.namespace,
    events: r.events.map(
      (e) =>
        ({
          timeSeriesId: e.timeSeriesId,
          eventTime: encodeTime(e.eventTime),
          eventId: e.eventId,
          eventItems: e.eventItems.map((i) => ({ eventItemKey: i.eventItemKey, eventItemValue: encodeBytes(i.eventItemValue) }) satisfies Complete<Wire.EventItem>),
        }) satisfies Complete<Wire.Event>,
    ),
  } satisfies Complete<Wire.WriteEventRecordsRequest>;
}

/** ReadEventRecords body, with the server-side `timeout` and `allowPartial` the call computed. */
export function encodeRead(r: ReadEventRecordsRequest, serverTimeoutMs: number | undefined, allowPartial: boolean): Wire.ReadEventRecordsRequest {
  return compact({
    namespace: r.namespace,
    timeSeriesId: r.timeSeriesId,
    timeInterval: encodeInterval(r.timeInterval),
    eventFilters: r.eventFilters?.map(
      (f) => ({ matchEventItemKey: f.matchEventItemKey, matchEventItemValue: encodeBytes(f.matchEventItemValue) }) satisfies Complete<Wire.EventFilter>,
    ),
    pageSize: r.pageSize,
    totalRecordLimit: r.totalRecordLimit,
    pageToken: r.pageToken,
    timeout: serverTimeoutMs === undefined ? undefined : `${Math.max(1, Math.floor(serverTimeoutMs))}ms`,
    allowPartial: allowPartial ? true : undefined,
  } satisfies Complete<Wire.ReadEventRecordsRequest>);
}

/** SearchEventRecords body. */
export function encodeSearch(r: SearchEventRecordsRequest): Wire.SearchEventRecordsRequest {
  return compact({
    namespace: r.namespace,
    timeInterval: encodeInterval(r.timeInterval),
    searchQuery: r.searchQuery === undefined ? undefined : encodeQuery(r.searchQuery),
    pageToken: r.pageToken,
    pageSize: r.pageSize,
    totalRecordLimit: r.totalRecordLimit,
  } satisfies Complete<Wire.SearchEventRecordsRequest>);
}

/** AggregateEventRecords body. */
export function encodeAggregate(r: AggregateEventRecordsRequest): Wire.AggregateEventRecordsRequest {
  return compact({
    namespace: r.namespace,
    timeInterval: encodeInterval(r.timeInterval),
    searchQuery: r.searchQuery === undefined ? undefined : encodeQuery(r.searchQuery),
    pageToken: r.pageToken,
    aggregationQuery: encodeAggregation(r.aggregationQuery),
    pageSize: r.pageSize,
  } satisfies Complete<Wire.AggregateEventRecordsRequest>);
}

/** AddCount / AddAndGetCount body; the token is required here (the client made one). */
export function encodeAddCount(r: AddCountRequest & { idempotencyToken: IdempotencyToken }): Wire.AddCountRequest {
  return {
    namespace: r.namespace,
    counterName: r.counterName,
    delta: encodeInt64(r.delta, 'delta'),
    idempotencyToken: encodeToken(r.idempotencyToken),
  } satisfies Complete<Wire.AddCountRequest>;
}

/** GetCount body. */
export function encodeGetCount(r: GetCountRequest): Wire.GetCountRequest {
  return { namespace: r.namespace, counterName: r.counterName } satisfies Complete<Wire.GetCountRequest>;
}

/** ClearCount body. */
export function encodeClearCount(r: ClearCountRequest & { idempotencyToken: IdempotencyToken }): Wire.ClearCountRequest {
  return { namespace: r.namespace, counterName: r.counterName, idempotencyToken: encodeToken(r.idempotencyToken) } satisfies Complete<Wire.ClearCountRequest>;
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
    timeSeriesId: String(field<Wire.Event>(e, 'timeSeriesId')),
    eventTime: String(field<Wire.Event>(e, 'eventTime')),
    eventId: String(field<Wire.Event>(e, 'eventId')),
    eventItems: asArray(field<Wire.Event>(e, 'eventItems') ?? [], `events[${i}].eventItems`).map((item, j) => {
      const it = asRecord(item, `events[${i}].eventItems[${j}]`);
      return { eventItemKey: String(field<Wire.EventItem>(it, 'eventItemKey')), eventItemValue: decodeBytes(String(field<Wire.EventItem>(it, 'eventItemValue') ?? '')) };
    }),
  };
}

/** A Read/Search answer. */
export function decodePage(body: Json): EventPage {
  const token = field<Wire.ReadEventRecordsResponse>(body, 'nextPageToken');
  return {
    events: asArray(field<Wire.ReadEventRecordsResponse>(body, 'events') ?? [], 'events').map(decodeEvent),
    partial: field<Wire.ReadEventRecordsResponse>(body, 'partial') === true,
    ...(typeof token === 'string' && token !== '' ? { nextPageToken: token } : {}),
  };
}

/** The count of an AddAndGetCount or GetCount answer. */
export function decodeCount(body: Json): bigint {
  return decodeInt64(field<Wire.GetCountResponse>(body, 'count'), 'count');
}

/** An AggregateEventRecords answer. */
export function decodeAggregate(body: Json): AggregateEventRecordsResponse {
  const distinct = field<Wire.AggregateEventRecordsResponse>(body, 'distinct');
  if (distinct === undefined) return { count: decodeInt64(field<Wire.AggregateEventRecordsResponse>(body, 'count'), 'count') };
  const d = asRecord(distinct, 'distinct');
  const token = field<Wire.DistinctResult>(d, 'nextPageToken');
  return {
    distinct: {
      eventItemKey: String(field<Wire.DistinctResult>(d, 'eventItemKey')),
      values: asArray(field<Wire.DistinctResult>(d, 'values') ?? [], 'distinct.values').map((v, i) => {
        const o = asRecord(v, `distinct.values[${i}]`);
        return {
          eventItemValue: decodeBytes(String(field<Wire.DistinctValue>(o, 'eventItemValue') ?? '')),
          count: decodeInt64(field<Wire.DistinctValue>(o, 'count'), `distinct.values[${i}].count`),
        };
      }),
      ...(typeof token === 'string' && token !== '' ? { nextPageToken: token } : {}),
    },
  };
}

/** ReadCounterLog body. */
export function encodeReadCounterLog(r: ReadCounterLogRequest): Wire.ReadCounterLogRequest {
  return compact({
    namespace: r.namespace,
    counterName: r.counterName,
    timeInterval: r.timeInterval === undefined ? undefined : encodeInterval(r.timeInterval),
    pageSize: r.pageSize,
    pageToken: r.pageToken,
  } satisfies Complete<Wire.ReadCounterLogRequest>);
}

/** A ReadCounterLog answer. */
export function decodeCounterLog(body: Json): CounterLogPage {
  const token = field<Wire.ReadCounterLogResponse>(body, 'nextPageToken');
  return {
    entries: asArray(field<Wire.ReadCounterLogResponse>(body, 'entries') ?? [], 'entries').map((v, i) => {
      const e = asRecord(v, `entries[${i}]`);
      const delta = field<Wire.CounterLogEntry>(e, 'delta');
      return {
        kind: field<Wire.CounterLogEntry>(e, 'kind') === 'CLEAR' ? 'CLEAR' : 'ADD',
        time: String(field<Wire.CounterLogEntry>(e, 'time')),
        token: String(field<Wire.CounterLogEntry>(e, 'token')),
        ...(delta !== undefined ? { delta: decodeInt64(delta, `entries[${i}].delta`) } : {}),
      };
    }),
    ...(typeof token === 'string' && token !== '' ? { nextPageToken: token } : {}),
  };
}

/** RecountCount body. */
export function encodeRecountCount(r: RecountCountRequest): Wire.RecountCountRequest {
  return compact({ namespace: r.namespace, counterName: r.counterName, repair: r.repair ? true : undefined } satisfies Complete<Wire.RecountCountRequest>);
}

/** A RecountCount answer. */
export function decodeRecount(body: Json): RecountCountResponse {
  const f = (key: keyof Wire.RecountCountResponse & string) => field<Wire.RecountCountResponse>(body, key);
  const int = (key: keyof Wire.RecountCountResponse & string) => decodeInt64(f(key) ?? '0', key);
  const rollupTime = f('rollupTime');
  const repairedTime = f('repairedTime');
  return {
    rollupCount: int('rollupCount'),
    ...(typeof rollupTime === 'string' ? { rollupTime } : {}),
    recount: int('recount'),
    difference: int('difference'),
    eventsScanned: int('eventsScanned'),
    complete: f('complete') === true,
    repaired: f('repaired') === true,
    ...(f('repairedCount') !== undefined ? { repairedCount: int('repairedCount') } : {}),
    ...(typeof repairedTime === 'string' ? { repairedTime } : {}),
  };
}

/** CompareCounts body. */
export function encodeCompareCounts(r: CompareCountsRequest): Wire.CompareCountsRequest {
  return compact({
    namespace: r.namespace,
    counterNames: r.counterNames,
    assignmentProbabilities: r.assignmentProbabilities,
    concentration: r.concentration,
    timeInterval: r.timeInterval === undefined ? undefined : encodeInterval(r.timeInterval),
    alpha: r.alpha,
  } satisfies Complete<Wire.CompareCountsRequest>);
}

/** A CompareCounts answer. */
export function decodeCompare(body: Json): CompareCountsResponse {
  const f = (key: keyof Wire.CompareCountsResponse & string) => field<Wire.CompareCountsResponse>(body, key);
  const first = f('firstBelowAlpha');
  return {
    counts: asArray(f('counts') ?? [], 'counts').map((c, i) => decodeInt64(c, `counts[${i}]`)),
    pValue: Number(f('pValue')),
    logBayesFactor: Number(f('logBayesFactor') ?? 0),
    ...(typeof first === 'string' ? { firstBelowAlpha: first } : {}),
  };
}
