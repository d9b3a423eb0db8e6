/**
 * GENERATED from proto/dgw/*.proto and the operation table (src/server/operations/) by
 * src/server/operations/client-wire.ts. Do not edit. Regenerate with
 *   DGW_UPDATE_CLIENT_WIRE=1 node --import tsx --test test/unit/client-wire.test.ts
 * (that test fails while this file differs from what the protos and the table give).
 *
 * The proto3 JSON mapping of every operation's request and response, as the HTTP API
 * takes and gives them; the SDK's codec (codec.ts) is typed against these, and its
 * caller-facing types (types.ts) are derived from them.
 */

/** int64: a decimal string (answers always are), or a JSON number on input. */
export type Int64Json = string | number;
/** google.protobuf.Timestamp: RFC 3339 text. */
export type TimestampJson = string;
/** google.protobuf.Duration: text such as "1.5s", "250ms", "100000us". */
export type DurationJson = string;
/** bytes: base64 text. */
export type BytesJson = string;
/** google.protobuf.Struct: any JSON object. */
export type StructJson = { [key: string]: unknown };

/** proto message dgw.v1.AddAndGetCountRequest. */
export interface AddAndGetCountRequest {
  namespace?: string;
  counterName?: string;
  delta?: Int64Json;
  idempotencyToken?: IdempotencyToken;
}

/** proto message dgw.v1.AddAndGetCountResponse. */
export interface AddAndGetCountResponse {
  count?: Int64Json;
}

/** proto message dgw.v1.AddCountRequest. */
export interface AddCountRequest {
  namespace?: string;
  counterName?: string;
  delta?: Int64Json;
  idempotencyToken?: IdempotencyToken;
}

/** proto message dgw.v1.AddCountResponse. */
export interface AddCountResponse {
}

/** proto message dgw.v1.AggregateEventRecordsRequest. */
export interface AggregateEventRecordsRequest {
  namespace?: string;
  timeInterval?: TimeInterval;
  searchQuery?: SearchQuery;
  aggregationQuery?: AggregationQuery;
  pageSize?: number;
  pageToken?: string;
}

/** proto message dgw.v1.AggregateEventRecordsResponse. */
export interface AggregateEventRecordsResponse {
  distinct?: DistinctResult;
  count?: Int64Json;
}

/** proto message dgw.v1.AggregationQuery. */
export interface AggregationQuery {
  distinct?: DistinctAggregation;
  count?: CountAggregation;
}

/** proto message dgw.v1.BooleanQuery. */
export interface BooleanQuery {
  searchQuery?: Array<SearchQuery>;
  operator?: 'OPERATOR_UNSPECIFIED' | 'AND' | 'OR' | 'NOT';
}

/** proto message dgw.v1.ClearCountRequest. */
export interface ClearCountRequest {
  namespace?: string;
  counterName?: string;
  idempotencyToken?: IdempotencyToken;
}

/** proto message dgw.v1.ClearCountResponse. */
export interface ClearCountResponse {
}

/** proto message dgw.v1.CompareCountsRequest. */
export interface CompareCountsRequest {
  namespace?: string;
  counterNames?: Array<string>;
  assignmentProbabilities?: Array<number>;
  concentration?: number;
  timeInterval?: TimeInterval;
  alpha?: number;
}

/** proto message dgw.v1.CompareCountsResponse. */
export interface CompareCountsResponse {
  counts?: Array<Int64Json>;
  pValue?: number;
  logBayesFactor?: number;
  firstBelowAlpha?: TimestampJson;
}

/** proto message dgw.v1.CountAggregation. */
export interface CountAggregation {
}

/** proto message dgw.v1.CounterLogEntry. */
export interface CounterLogEntry {
  kind?: 'KIND_UNSPECIFIED' | 'ADD' | 'CLEAR';
  time?: TimestampJson;
  token?: string;
  delta?: Int64Json;
}

/** proto message dgw.v1.DeleteNamespaceRequest. */
export interface DeleteNamespaceRequest {
  kind?: string;
  namespace?: string;
}

/** proto message dgw.v1.DeleteNamespaceResponse. */
export interface DeleteNamespaceResponse {
}

/** proto message dgw.v1.DistinctAggregation. */
export interface DistinctAggregation {
  eventItemKey?: string;
  pageSize?: number;
}

/** proto message dgw.v1.DistinctResult. */
export interface DistinctResult {
  eventItemKey?: string;
  values?: Array<DistinctValue>;
  nextPageToken?: string;
}

/** proto message dgw.v1.DistinctValue. */
export interface DistinctValue {
  eventItemValue?: BytesJson;
  count?: Int64Json;
}

/** proto message dgw.v1.EqualsQuery. */
export interface EqualsQuery {
  eventItemKey?: string;
  eventItemValue?: BytesJson;
}

/** proto message dgw.v1.Event. */
export interface Event {
  timeSeriesId?: string;
  eventTime?: TimestampJson;
  eventId?: string;
  eventItems?: Array<EventItem>;
}

/** proto message dgw.v1.EventFilter. */
export interface EventFilter {
  matchEventItemKey?: string;
  matchEventItemValue?: BytesJson;
}

/** proto message dgw.v1.EventItem. */
export interface EventItem {
  eventItemKey?: string;
  eventItemValue?: BytesJson;
}

/** proto message dgw.v1.GetCountRequest. */
export interface GetCountRequest {
  namespace?: string;
  counterName?: string;
}

/** proto message dgw.v1.GetCountResponse. */
export interface GetCountResponse {
  count?: Int64Json;
}

/** proto message dgw.v1.GetNamespaceRequest. */
export interface GetNamespaceRequest {
  kind?: string;
  namespace?: string;
}

/** proto message dgw.v1.IdempotencyToken. */
export interface IdempotencyToken {
  token?: string;
  generationTime?: TimestampJson;
}

/** proto message dgw.v1.ListNamespacesRequest. */
export interface ListNamespacesRequest {
  kind?: string;
}

/** proto message dgw.v1.ListNamespacesResponse. */
export interface ListNamespacesResponse {
  namespaces?: Array<Namespace>;
}

/** proto message dgw.v1.Namespace. */
export interface Namespace {
  namespace?: string;
  kind?: string;
  version?: number;
  updatedAt?: string;
  config?: StructJson;
}

/** proto message dgw.v1.PutNamespaceRequest. */
export interface PutNamespaceRequest {
  kind?: string;
  namespace?: string;
  document?: StructJson;
}

/** proto message dgw.v1.PutNamespaceResponse. */
export interface PutNamespaceResponse {
  namespace?: string;
  kind?: string;
  version?: number;
  updatedAt?: string;
  config?: StructJson;
  notices?: Array<string>;
}

/** proto message dgw.v1.RangeBound. */
export interface RangeBound {
  eventItemValue?: BytesJson;
  inclusive?: boolean;
}

/** proto message dgw.v1.RangeQuery. */
export interface RangeQuery {
  eventItemKey?: string;
  lowerBound?: RangeBound;
  upperBound?: RangeBound;
}

/** proto message dgw.v1.ReadCounterLogRequest. */
export interface ReadCounterLogRequest {
  namespace?: string;
  counterName?: string;
  timeInterval?: TimeInterval;
  pageSize?: number;
  pageToken?: string;
}

/** proto message dgw.v1.ReadCounterLogResponse. */
export interface ReadCounterLogResponse {
  entries?: Array<CounterLogEntry>;
  nextPageToken?: string;
}

/** proto message dgw.v1.ReadEventRecordsRequest. */
export interface ReadEventRecordsRequest {
  namespace?: string;
  timeSeriesId?: string;
  timeInterval?: TimeInterval;
  eventFilters?: Array<EventFilter>;
  pageSize?: number;
  totalRecordLimit?: number;
  pageToken?: string;
  timeout?: DurationJson;
  allowPartial?: boolean;
}

/** proto message dgw.v1.ReadEventRecordsResponse. */
export interface ReadEventRecordsResponse {
  events?: Array<Event>;
  nextPageToken?: string;
  partial?: boolean;
}

/** proto message dgw.v1.RecountCountRequest. */
export interface RecountCountRequest {
  namespace?: string;
  counterName?: string;
  repair?: boolean;
}

/** proto message dgw.v1.RecountCountResponse. */
export interface RecountCountResponse {
  rollupCount?: Int64Json;
  rollupTime?: TimestampJson;
  recount?: Int64Json;
  difference?: Int64Json;
  eventsScanned?: Int64Json;
  complete?: boolean;
  repaired?: boolean;
  repairedCount?: Int64Json;
  repairedTime?: TimestampJson;
}

/** proto message dgw.v1.SearchEventRecordsRequest. */
export interface SearchEventRecordsRequest {
  namespace?: string;
  timeInterval?: TimeInterval;
  searchQuery?: SearchQuery;
  pageSize?: number;
  totalRecordLimit?: number;
  pageToken?: string;
}

/** proto message dgw.v1.SearchEventRecordsResponse. */
export interface SearchEventRecordsResponse {
  events?: Array<Event>;
  nextPageToken?: string;
  partial?: boolean;
}

/** proto message dgw.v1.SearchQuery. */
export interface SearchQuery {
  equals?: EqualsQuery;
  range?: RangeQuery;
  booleanQuery?: BooleanQuery;
}

/** proto message dgw.v1.TimeInterval. */
export interface TimeInterval {
  start?: TimestampJson;
  end?: TimestampJson;
}

/** proto message dgw.v1.WriteEventRecordsRequest. */
export interface WriteEventRecordsRequest {
  namespace?: string;
  events?: Array<Event>;
}

/** proto message dgw.v1.WriteEventRecordsResponse. */
export interface WriteEventRecordsResponse {
}

/** proto message dgw.v1.WriteEventRecordsSyncRequest. */
export interface WriteEventRecordsSyncRequest {
  namespace?: string;
  events?: Array<Event>;
}

/** proto message dgw.v1.WriteEventRecordsSyncResponse. */
export interface WriteEventRecordsSyncResponse {
}

/** Every operation of the table: its request and response messages. */
export interface WireOperations {
  WriteEventRecordsSync: { request: WriteEventRecordsSyncRequest; response: WriteEventRecordsSyncResponse };
  WriteEventRecords: { request: WriteEventRecordsRequest; response: WriteEventRecordsResponse };
  ReadEventRecords: { request: ReadEventRecordsRequest; response: ReadEventRecordsResponse };
  SearchEventRecords: { request: SearchEventRecordsRequest; response: SearchEventRecordsResponse };
  AggregateEventRecords: { request: AggregateEventRecordsRequest; response: AggregateEventRecordsResponse };
  AddCount: { request: AddCountRequest; response: AddCountResponse };
  AddAndGetCount: { request: AddAndGetCountRequest; response: AddAndGetCountResponse };
  GetCount: { request: GetCountRequest; response: GetCountResponse };
  ClearCount: { request: ClearCountRequest; response: ClearCountResponse };
  ReadCounterLog: { request: ReadCounterLogRequest; response: ReadCounterLogResponse };
  RecountCount: { request: RecountCountRequest; response: RecountCountResponse };
  CompareCounts: { request: CompareCountsRequest; response: CompareCountsResponse };
  PutNamespace: { request: PutNamespaceRequest; response: PutNamespaceResponse };
  GetNamespace: { request: GetNamespaceRequest; response: Namespace };
  ListNamespaces: { request: ListNamespacesRequest; response: ListNamespacesResponse };
  DeleteNamespace: { request: DeleteNamespaceRequest; response: DeleteNamespaceResponse };
}

/** Every operation's HTTP method and paths (`{namespace}`: the namespace name, URL-encoded). */
export const HTTP_ROUTES = {
  WriteEventRecordsSync: { method: 'POST', paths: ['/v1/timeseries/WriteEventRecordsSync'] },
  WriteEventRecords: { method: 'POST', paths: ['/v1/timeseries/WriteEventRecords'] },
  ReadEventRecords: { method: 'POST', paths: ['/v1/timeseries/ReadEventRecords'] },
  SearchEventRecords: { method: 'POST', paths: ['/v1/timeseries/SearchEventRecords'] },
  AggregateEventRecords: { method: 'POST', paths: ['/v1/timeseries/AggregateEventRecords'] },
  AddCount: { method: 'POST', paths: ['/v1/counter/AddCount'] },
  AddAndGetCount: { method: 'POST', paths: ['/v1/counter/AddAndGetCount'] },
  GetCount: { method: 'POST', paths: ['/v1/counter/GetCount'] },
  ClearCount: { method: 'POST', paths: ['/v1/counter/ClearCount'] },
  ReadCounterLog: { method: 'POST', paths: ['/v1/counter/ReadCounterLog'] },
  RecountCount: { method: 'POST', paths: ['/v1/counter/RecountCount'] },
  CompareCounts: { method: 'POST', paths: ['/v1/counter/CompareCounts'] },
  PutNamespace: { method: 'PUT', paths: ['/v1/timeseries/namespaces/{namespace}', '/v1/counter/namespaces/{namespace}'] },
  GetNamespace: { method: 'GET', paths: ['/v1/timeseries/namespaces/{namespace}', '/v1/counter/namespaces/{namespace}'] },
  ListNamespaces: { method: 'GET', paths: ['/v1/timeseries/namespaces', '/v1/counter/namespaces'] },
  DeleteNamespace: { method: 'DELETE', paths: ['/v1/timeseries/namespaces/{namespace}', '/v1/counter/namespaces/{namespace}'] },
} as const;
