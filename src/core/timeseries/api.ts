/**
 * The TimeSeries abstraction as core sees it (domain types, no wire encoding). The HTTP
 * and gRPC servers and the Counter abstraction both call this interface.
 */
import type { TimeSeriesConfig } from '../control/types.js';
import type { EventRecord } from '../../domain/events.js';
import type { PackedEvents, PackedSeriesEvents } from '../../domain/packed-events.js';
import type { JoinedEventJson } from '../../domain/event-json.js';
import type { SearchExpr } from '../../domain/search.js';

/** A read of one series over `[startMicros, endMicros)`, newest first. */
export interface ReadQuery {
  timeSeriesId: string;
  startMicros: number;
  endMicros: number;
  /** Keep events having every listed item (key and exact bytes). */
  eventFilters: { key: string; value: Uint8Array }[];
  pageSize: number;
  /** Bound on events over the whole walk across pages (0 = none). */
  totalRecordLimit: number;
  /** Opaque token from a previous page. */
  pageToken?: string;
  /** Absolute deadline (epoch micros on the engine clock's wall time); undefined = none. */
  deadlineMicros?: number;
  /** On deadline, return what was found flagged partial instead of DEADLINE_EXCEEDED. */
  allowPartial: boolean;
}

/** One page of results, newest first. */
export interface EventPage {
  events: EventRecord[];
  /** Present when more results may follow. */
  nextPageToken?: string;
  /** True when a deadline cut the page short (allowPartial). */
  partial: boolean;
}

/**
 * A page of ReadEventRecords in packed form (domain/packed-events.ts; issue 9), or its
 * events' wire JSON texts joined (domain/event-json.ts) from a store with `scanTimeBucketJson`.
 */
export interface PackedPage {
  events: PackedEvents | JoinedEventJson;
  /** Present when more results may follow. */
  nextPageToken?: string;
  /** True when a deadline cut the page short (allowPartial). */
  partial: boolean;
}

/**
 * A page of SearchEventRecords in packed form (domain/packed-events.ts; issue 9), or its
 * events' wire JSON texts joined (domain/event-json.ts) from an index store with `searchJson`.
 */
export interface PackedSearchPage {
  events: PackedSeriesEvents | JoinedEventJson;
  /** Present when more results may follow. */
  nextPageToken?: string;
  /** Always false: a search page is never cut short. */
  partial: boolean;
}

/** A search over the index, `[startMicros, endMicros)`, newest first. */
export interface SearchQuery {
  startMicros: number;
  endMicros: number;
  query: SearchExpr;
  pageSize: number;
  totalRecordLimit: number;
  pageToken?: string;
}

/** An aggregation over the index. */
export type AggregateQuery =
  | { kind: 'distinct'; startMicros: number; endMicros: number; query: SearchExpr; key: string; pageSize: number; pageToken?: string }
  | { kind: 'count'; startMicros: number; endMicros: number; query: SearchExpr };

/** Result of an aggregation. */
export type AggregateResult =
  | { kind: 'distinct'; key: string; values: { text: string; count: number }[]; nextPageToken?: string }
  | { kind: 'count'; count: number };

/** The TimeSeries abstraction. */
export interface TimeSeriesService {
  /**
   * Validates then writes the batch durably (group commit). Events outside the accept
   * window are refused with FAILED_PRECONDITION unless already stored (a retry).
   * Resolves once durable. The whole batch is rejected if any event is invalid.
   */
  writeSync(config: TimeSeriesConfig, events: EventRecord[]): Promise<void>;
  /** Validates, then enqueues in the namespace's bounded buffer; RESOURCE_EXHAUSTED when full. */
  writeBuffered(config: TimeSeriesConfig, events: EventRecord[]): Promise<void>;
  read(config: TimeSeriesConfig, query: ReadQuery): Promise<EventPage>;
  /**
   * Optional (issue 9): the page {@link read} returns, in packed form (no object per event);
   * undefined when this store or query has no packed read (then call {@link read}).
   */
  readPacked?(config: TimeSeriesConfig, query: ReadQuery): Promise<PackedPage | undefined>;
  /** Every event of a series in `[startMicros, endMicros)`, newest first (used by counter rollups). */
  scanSeries(config: TimeSeriesConfig, timeSeriesId: string, startMicros: number, endMicros: number): AsyncIterable<EventRecord>;
  search(config: TimeSeriesConfig, query: SearchQuery): Promise<EventPage>;
  /**
   * Optional (issue 9): the page {@link search} returns, in packed form (no object per
   * event); undefined when the index store has no packed search (then call {@link search}).
   */
  searchPacked?(config: TimeSeriesConfig, query: SearchQuery): Promise<PackedSearchPage | undefined>;
  aggregate(config: TimeSeriesConfig, query: AggregateQuery): Promise<AggregateResult>;
  /** Drops every stored event and slice of the namespace. */
  dropNamespace(config: TimeSeriesConfig): Promise<void>;
}
