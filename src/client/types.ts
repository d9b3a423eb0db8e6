/**
 * The SDK's request and response types: the caller's view of the wire messages, int64 as
 * `bigint`, times as `Date` or RFC 3339 strings, bytes as `Uint8Array`. Each is derived
 * from the generated wire type of its proto message (wire.gen.ts, made from the protos
 * and the operation table) with {@link FromWire}: which fields the SDK requires, which it
 * gives its own type, which it fills itself. A field added to a message appears here by
 * itself; a field renamed or removed breaks the typecheck of this file (an override or a
 * required field names it) or of codec.ts (its encoders name every field of the wire
 * message, its decoders read named fields). The JSON encoding lives in codec.ts only.
 */
import type * as Wire from './wire.gen.js';

/**
 * The SDK's view of the wire message `W`: the fields in `Req` required, those in `Over`
 * with the SDK's type (the override may name only fields of `W`), those in `Drop` left
 * out (the SDK sets them from call options), every other field optional as on the wire.
 */
export type FromWire<
  W,
  Req extends keyof W,
  Over extends { [K in keyof Over]: K extends keyof W ? unknown : never } = Record<never, never>,
  Drop extends keyof W = never,
> = Flatten<
  { [K in Exclude<keyof W, Drop> as K extends Req ? K : never]-?: K extends keyof Over ? Over[K] : Exclude<W[K], undefined> } & {
    [K in Exclude<keyof W, Drop> as K extends Req ? never : K]?: K extends keyof Over ? Over[K] : W[K];
  }
>;

type Flatten<T> = { [K in keyof T]: T[K] };

/** A point in time: a Date (millisecond precision) or an RFC 3339 string (up to microseconds, kept exactly). */
export type TimeInput = Date | string;

/** Bytes: a Uint8Array, or a string taken as its UTF-8 text (how indexed fields are searched). */
export type BytesInput = Uint8Array | string;

/** An int64: a bigint, or a safe integer number. */
export type Int64Input = bigint | number;

/** `[start, end)`: start-inclusive, end-exclusive. */
export type TimeInterval = FromWire<Wire.TimeInterval, 'start' | 'end', { start: TimeInput; end: TimeInput }>;

/** One item of an event. */
export type EventItemInput = FromWire<Wire.EventItem, 'eventItemKey' | 'eventItemValue', { eventItemValue: BytesInput }>;

/** An event to write. Without `eventId` the SDK makes one (once per logical call, so retries stay idempotent). */
export type EventInput = FromWire<Wire.Event, 'timeSeriesId' | 'eventTime' | 'eventItems', { eventTime: TimeInput; eventItems: EventItemInput[] }>;

/** WriteEventRecordsSync / WriteEventRecords (the two messages have the same fields: checked in codec.ts). */
export type WriteEventRecordsRequest = FromWire<Wire.WriteEventRecordsRequest, 'namespace' | 'events', { events: EventInput[] }>;

/** One item of an event as read back. */
export type EventItem = FromWire<Wire.EventItem, 'eventItemKey' | 'eventItemValue', { eventItemValue: Uint8Array }>;

/** One event as read back. `eventTime` is the server's RFC 3339 text (microseconds kept). */
export type EventRecord = FromWire<Wire.Event, 'timeSeriesId' | 'eventTime' | 'eventId' | 'eventItems', { eventItems: EventItem[] }>;

/**
 * A page of events, newest first. `nextPageToken` is present when more results may
 * follow; `partial` is true when a deadline cut the page short (only when the caller
 * allowed it). Read and Search answer the same fields (checked in codec.ts).
 */
export type EventPage = FromWire<Wire.ReadEventRecordsResponse, 'events' | 'partial', { events: EventRecord[] }>;

/** A filter of ReadEventRecords: events with this item. */
export type EventFilter = FromWire<Wire.EventFilter, 'matchEventItemKey' | 'matchEventItemValue', { matchEventItemValue: BytesInput }>;

/** ReadEventRecords. The server-side `timeout` and `allowPartial` come from the call's options. */
export type ReadEventRecordsRequest = FromWire<
  Wire.ReadEventRecordsRequest,
  'namespace' | 'timeSeriesId' | 'timeInterval',
  { timeInterval: TimeInterval; eventFilters: EventFilter[] },
  'timeout' | 'allowPartial'
>;

/** A bound of a range query. */
export type RangeBound = FromWire<Wire.RangeBound, 'eventItemValue', { eventItemValue: BytesInput }>;

/** `equals`: the field has this value. */
export type EqualsQuery = FromWire<Wire.EqualsQuery, 'eventItemKey' | 'eventItemValue', { eventItemValue: BytesInput }>;

/** `range`: between the bounds. */
export type RangeQuery = FromWire<Wire.RangeQuery, 'eventItemKey', { lowerBound: RangeBound; upperBound: RangeBound }>;

/** `booleanQuery`: AND, OR or NOT of sub-queries. */
export interface BooleanQuery {
  searchQuery: SearchQuery[];
  operator?: Exclude<NonNullable<Wire.BooleanQuery['operator']>, 'OPERATOR_UNSPECIFIED'>;
}

/**
 * The article's search query: exactly one of the members of the wire message's oneof
 * (`equals`, `range`, `booleanQuery`; codec.ts checks the union covers them all).
 */
export type SearchQuery = { equals: EqualsQuery } | { range: RangeQuery } | { booleanQuery: BooleanQuery };

/** SearchEventRecords. */
export type SearchEventRecordsRequest = FromWire<
  Wire.SearchEventRecordsRequest,
  'namespace' | 'timeInterval',
  { timeInterval: TimeInterval; searchQuery: SearchQuery }
>;

/** The aggregation of AggregateEventRecords: one member of the wire oneof. */
export type AggregationQuery =
  | { distinct: FromWire<Wire.DistinctAggregation, 'eventItemKey'> }
  | { count: Record<string, never> };

/** AggregateEventRecords. */
export type AggregateEventRecordsRequest = FromWire<
  Wire.AggregateEventRecordsRequest,
  'namespace' | 'timeInterval' | 'aggregationQuery',
  { timeInterval: TimeInterval; searchQuery: SearchQuery; aggregationQuery: AggregationQuery }
>;

/** One distinct value and how many events have it. */
export type DistinctValue = FromWire<Wire.DistinctValue, 'eventItemValue' | 'count', { eventItemValue: Uint8Array; count: bigint }>;

/** AggregateEventRecords' answer: distinct values with counts, or a count. */
export type AggregateEventRecordsResponse =
  | { distinct: FromWire<Wire.DistinctResult, 'eventItemKey' | 'values', { values: DistinctValue[] }> }
  | { count: bigint };

/** The idempotency token of a counter mutation (DESIGN 4.3). */
export type IdempotencyToken = FromWire<Wire.IdempotencyToken, 'token' | 'generationTime', { generationTime: TimeInput }>;

/** AddCount / AddAndGetCount. Without `idempotencyToken` the SDK makes one per logical call. */
export type AddCountRequest = FromWire<
  Wire.AddCountRequest,
  'namespace' | 'counterName' | 'delta',
  { delta: Int64Input; idempotencyToken: IdempotencyToken }
>;

/** GetCount. */
export type GetCountRequest = FromWire<Wire.GetCountRequest, 'namespace' | 'counterName'>;

/** ClearCount. Without `idempotencyToken` the SDK makes one per logical call. */
export type ClearCountRequest = FromWire<Wire.ClearCountRequest, 'namespace' | 'counterName', { idempotencyToken: IdempotencyToken }>;

/** ReadCounterLog: one page of a counter's adds and clears, newest first (EVENTUAL and ACCURATE). */
export type ReadCounterLogRequest = FromWire<Wire.ReadCounterLogRequest, 'namespace' | 'counterName', { timeInterval: TimeInterval }>;

/** One mutation of a counter's log: its kind, the token's generation time (RFC 3339, microseconds kept), the token, the delta of an ADD. */
export type CounterLogEntry = FromWire<Wire.CounterLogEntry, 'kind' | 'time' | 'token', { kind: 'ADD' | 'CLEAR'; delta: bigint }>;

/** A page of a counter's log; `nextPageToken` when more may follow. */
export type CounterLogPage = FromWire<Wire.ReadCounterLogResponse, 'entries', { entries: CounterLogEntry[] }>;

/** RecountCount; `repair` (default false) replaces a wrong rollup with the recount. */
export type RecountCountRequest = FromWire<Wire.RecountCountRequest, 'namespace' | 'counterName'>;

/**
 * What a recount found: the rollup (its checkpoint absent for a counter never rolled up),
 * the recount, their difference, whether the log held the whole history, and the
 * checkpoint written when it repaired.
 */
export type RecountCountResponse = FromWire<
  Wire.RecountCountResponse,
  'rollupCount' | 'recount' | 'difference' | 'eventsScanned' | 'complete' | 'repaired',
  { rollupCount: bigint; recount: bigint; difference: bigint; eventsScanned: bigint; repairedCount: bigint }
>;

/** CompareCounts (DESIGN 4.6): 2 to 16 arms, one assignment probability each (summing to 1). */
export type CompareCountsRequest = FromWire<Wire.CompareCountsRequest, 'namespace' | 'counterNames' | 'assignmentProbabilities', { timeInterval: TimeInterval }>;

/** The anytime-valid comparison: counts per arm, p-value, log Bayes factor, when it first fell below alpha. */
export type CompareCountsResponse = FromWire<Wire.CompareCountsResponse, 'counts' | 'pValue' | 'logBayesFactor', { counts: bigint[] }>;

/** The two kinds of namespace. */
export type NamespaceKind = 'timeseries' | 'counter';

/** Counter flavours (DESIGN 4). */
export type CounterType = 'BEST_EFFORT' | 'EVENTUAL' | 'ACCURATE';

/** One endpoint's SLO, as the server returns it (canonical form). */
export interface Slo {
  targetMicros: number;
  maxMicros: number;
}

/** A namespace's SLOs per endpoint (DESIGN 3.5). */
export interface NamespaceSlos {
  read?: Slo;
  write?: Slo;
}

/** The server's canonical configuration; the SDK relies only on `slos` (TimeSeries) and `counterType` (Counter). */
export type NamespaceConfigView = { slos?: NamespaceSlos; counterType?: CounterType } & Readonly<Record<string, unknown>>;

/** A namespace as GET returns it. */
export type NamespaceView = FromWire<
  Wire.Namespace,
  'namespace' | 'kind' | 'version' | 'updatedAt' | 'config',
  { kind: NamespaceKind; config: NamespaceConfigView }
>;

/** PUT's answer: the namespace plus notices (store mappings, ignored settings). */
export type PutNamespaceResponse = FromWire<
  Wire.PutNamespaceResponse,
  'namespace' | 'kind' | 'version' | 'updatedAt' | 'config' | 'notices',
  { kind: NamespaceKind; config: NamespaceConfigView }
>;
