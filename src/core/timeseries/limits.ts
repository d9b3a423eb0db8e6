/**
 * Documented request limits of the TimeSeries API (README "Limits"). They bound what one
 * client request can make the server hold in memory or do.
 */
export interface TimeSeriesLimits {
  /** Largest accepted HTTP body in bytes (413 above). */
  maxBodyBytes: number;
  /** Events in one write batch. */
  maxEventsPerBatch: number;
  /** Items in one event. */
  maxItemsPerEvent: number;
  /** Bytes of one item value (decoded). */
  maxValueBytes: number;
  /** Characters of timeSeriesId, eventId and eventItemKey. */
  maxIdLength: number;
  /** Largest pageSize of a read, search or distinct aggregation. */
  maxPageSize: number;
  /** Most event filters of a read; most leaves of a search query. */
  maxFilters: number;
  /** Deepest nesting of booleanQuery. */
  maxQueryDepth: number;
  /** Events in one group commit (bounds one transaction). */
  maxCommitEvents: number;
}

/** The defaults (documented in README and docs/timeseries.md). */
export const DEFAULT_LIMITS: Readonly<TimeSeriesLimits> = {
  maxBodyBytes: 8 * 1024 * 1024,
  maxEventsPerBatch: 1000,
  maxItemsPerEvent: 64,
  maxValueBytes: 64 * 1024,
  maxIdLength: 256,
  maxPageSize: 1000,
  maxFilters: 32,
  maxQueryDepth: 8,
  maxCommitEvents: 5000,
};
