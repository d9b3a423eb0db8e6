/**
 * The SDK's request and response types, written by hand against the current wire
 * (README "API reference", src/server/wire). They are the caller's view: int64 as
 * `bigint`, times as `Date` or RFC 3339 strings, bytes as `Uint8Array`. The JSON
 * encoding lives in codec.ts only, so these can later be derived from the operation
 * table's schemas without touching the client logic.
 */

/** A point in time: a Date (millisecond precision) or an RFC 3339 string (up to microseconds, kept exactly). */
export type TimeInput = Date | string;

/** Bytes: a Uint8Array, or a string taken as its UTF-8 text (how indexed fields are searched). */
export type BytesInput = Uint8Array | string;

/** An int64: a bigint, or a safe integer number. */
export type Int64Input = bigint | number;

/** `[start, end)`: start-inclusive, end-exclusive. */
export interface TimeInterval {
  start: TimeInput;
  end: TimeInput;
}

/** One item of an event. */
export interface EventItemInput {
  eventItemKey: string;
  eventItemValue: BytesInput;
}

/** An event to write. Without `eventId` the SDK makes one (once per logical call, so retries stay idempotent). */
export interface EventInput {
  timeSeriesId: string;
  eventTime: TimeInput;
  eventId?: string;
  eventItems: EventItemInput[];
}

/** WriteEventRecordsSync / WriteEventRecords. */
export interface WriteEventRecordsRequest {
  namespace: string;
  events: EventInput[];
}

/** One event as read back. `eventTime` is the server's RFC 3339 text (microseconds kept). */
export interface EventRecord {
  timeSeriesId: string;
  eventTime: string;
  eventId: string;
  eventItems: { eventItemKey: string; eventItemValue: Uint8Array }[];
}

/** A page of events, newest first. */
export interface EventPage {
  events: EventRecord[];
  /** Present when more results may follow. */
  nextPageToken?: string;
  /** True when a deadline cut the page short (only when the caller allowed it). */
  partial: boolean;
}

/** ReadEventRecords. */
export interface ReadEventRecordsRequest {
  namespace: string;
  timeSeriesId: string;
  timeInterval: TimeInterval;
  eventFilters?: { matchEventItemKey: string; matchEventItemValue: BytesInput }[];
  pageSize?: number;
  totalRecordLimit?: number;
  pageToken?: string;
}

/** A bound of a range query. */
export interface RangeBound {
  eventItemValue: BytesInput;
  inclusive?: boolean;
}

/** The article's search query: exactly one of `equals`, `range`, `booleanQuery`. */
export type SearchQuery =
  | { equals: { eventItemKey: string; eventItemValue: BytesInput } }
  | { range: { eventItemKey: string; lowerBound?: RangeBound; upperBound?: RangeBound } }
  | { booleanQuery: { searchQuery: SearchQuery[]; operator?: 'AND' | 'OR' | 'NOT' } };

/** SearchEventRecords. */
export interface SearchEventRecordsRequest {
  namespace: string;
  timeInterval: TimeInterval;
  searchQuery?: SearchQuery;
  pageSize?: number;
  totalRecordLimit?: number;
  pageToken?: string;
}

/** AggregateEventRecords. */
export interface AggregateEventRecordsRequest {
  namespace: string;
  timeInterval: TimeInterval;
  searchQuery?: SearchQuery;
  aggregationQuery: { distinct: { eventItemKey: string; pageSize?: number } } | { count: Record<string, never> };
  pageToken?: string;
}

/** AggregateEventRecords' answer: distinct values with counts, or a count. */
export type AggregateEventRecordsResponse =
  | { distinct: { eventItemKey: string; values: { eventItemValue: Uint8Array; count: bigint }[]; nextPageToken?: string } }
  | { count: bigint };

/** The idempotency token of a counter mutation (DESIGN 4.3). */
export interface IdempotencyToken {
  token: string;
  generationTime: TimeInput;
}

/** AddCount / AddAndGetCount. Without `idempotencyToken` the SDK makes one per logical call. */
export interface AddCountRequest {
  namespace: string;
  counterName: string;
  delta: Int64Input;
  idempotencyToken?: IdempotencyToken;
}

/** GetCount. */
export interface GetCountRequest {
  namespace: string;
  counterName: string;
}

/** ClearCount. Without `idempotencyToken` the SDK makes one per logical call. */
export interface ClearCountRequest {
  namespace: string;
  counterName: string;
  idempotencyToken?: IdempotencyToken;
}

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

/**
 * A namespace as GET returns it. `config` is the server's canonical configuration; the
 * SDK relies only on `config.slos` (TimeSeries) and `config.counterType` (Counter).
 */
export interface NamespaceView {
  namespace: string;
  kind: NamespaceKind;
  version: number;
  updatedAt: string;
  config: { slos?: NamespaceSlos; counterType?: CounterType } & Readonly<Record<string, unknown>>;
}

/** PUT's answer: the namespace plus notices (store mappings, ignored settings). */
export interface PutNamespaceResponse extends NamespaceView {
  notices: string[];
}
