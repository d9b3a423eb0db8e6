/**
 * Domain types of the TimeSeries abstraction (DESIGN 3.2): events, their partitions and
 * the time slices that hold them. Core and storage both speak them; neither owns them.
 */
/** One item of an event: a key and opaque bytes. */
export interface EventItem {
  key: string;
  value: Uint8Array;
}

/** An immutable event. Identity is `(timeSeriesId, eventTimeMicros, eventId)`. */
export interface EventRecord {
  timeSeriesId: string;
  eventTimeMicros: number;
  eventId: string;
  /** Items sorted by key (the clustering order); keys are unique within an event. */
  items: EventItem[];
}

/** A partition of a slice table: `(time_series_id, time_bucket, event_bucket)`. */
export interface PartitionKey {
  timeSeriesId: string;
  timeBucket: number;
  eventBucket: number;
}

/** Status of a time slice (DESIGN 3.2 lifecycle). */
export type SliceStatus = 'ACTIVE' | 'CLOSED' | 'DROPPED';

/**
 * One row of a namespace's slice metadata table. A slice covers
 * `[startMicros, endMicros)`; slices of a namespace never overlap. Core creates only the
 * slices writes need, so there may be gaps between them (time with no events).
 * The partition settings are the ones the slice was created with.
 */
export interface SliceInfo {
  /** Stable id of the slice within its namespace: its start in whole seconds. */
  sliceId: number;
  startMicros: number;
  endMicros: number;
  status: SliceStatus;
  secondsPerTimeBucket: number;
  eventBuckets: number;
}

/** One event to append, already placed in its slice and partition by core. */
export interface EventWrite {
  namespace: string;
  sliceId: number;
  partition: PartitionKey;
  event: EventRecord;
}
