/**
 * Rules on slices and events every event-store adapter enforces the same way (DESIGN 3.2):
 * slice validation, overlap detection, event placement checks and newest-first ordering.
 */
import { DgwError, invalidArgument } from '../kernel/errors.js';
import type { AppendOptions, EventPosition, EventWrite, SliceInfo, SliceStatus } from './contracts.js';
import { compareCodePoints } from '../kernel/code-points.js';

/**
 * The key of a slice table in the SQL stores (`slices.layout` in SQLite from schema 7 and
 * PostgreSQL from schema 5; each adapter's schema.ts writes the DDL):
 * - {@link BUCKETED_LAYOUT}: the partition key then the clustering order, event bucket
 *   included, as in Cassandra (DESIGN 3.2); the tables created before those versions. A
 *   time bucket of a series is one range per event bucket, which a read merges.
 * - {@link TIME_ORDERED_LAYOUT}: the same key without the event bucket (issue 9): a time
 *   bucket of a series is one range, newest first, read without a merge. The event bucket
 *   spreads a series over Cassandra partitions; in one B-tree it only split the range. It
 *   is still stored (a function of the event id, so the key stays as unique and the
 *   appends' dedupe keeps its meaning) and a partition scan filters on it.
 */
export type SliceLayout = typeof BUCKETED_LAYOUT | typeof TIME_ORDERED_LAYOUT;
export const BUCKETED_LAYOUT = 0;
export const TIME_ORDERED_LAYOUT = 1;

const STATUSES: ReadonlySet<string> = new Set<SliceStatus>(['ACTIVE', 'CLOSED', 'DROPPED']);

/** Throws INVALID_ARGUMENT unless the slice row is well formed. */
export function validateSlice(slice: SliceInfo): void {
  if (!Number.isSafeInteger(slice.sliceId)) throw invalidArgument('slice.sliceId', 'must be an integer');
  if (!Number.isSafeInteger(slice.startMicros) || !Number.isSafeInteger(slice.endMicros)) {
    throw invalidArgument('slice.startMicros', 'start and end must be integer microseconds');
  }
  if (slice.endMicros <= slice.startMicros) throw invalidArgument('slice.endMicros', 'must be after startMicros');
  if (!Number.isSafeInteger(slice.secondsPerTimeBucket) || slice.secondsPerTimeBucket < 1) {
    throw invalidArgument('slice.secondsPerTimeBucket', 'must be a positive integer');
  }
  if (!Number.isSafeInteger(slice.eventBuckets) || slice.eventBuckets < 1) {
    throw invalidArgument('slice.eventBuckets', 'must be a positive integer');
  }
  validateStatus(slice.status);
}

/** Throws INVALID_ARGUMENT unless `status` is a known slice status. */
export function validateStatus(status: string): asserts status is SliceStatus {
  if (!STATUSES.has(status)) throw invalidArgument('status', `unknown slice status ${JSON.stringify(status)}`);
}

/** Whether two slices' intervals intersect. */
export function slicesOverlap(a: SliceInfo, b: SliceInfo): boolean {
  return a.startMicros < b.endMicros && b.startMicros < a.endMicros;
}

/** The FAILED_PRECONDITION raised when a new slice overlaps an existing one. */
export function overlapError(namespace: string, slice: SliceInfo, existing: SliceInfo): DgwError {
  return new DgwError(
    'FAILED_PRECONDITION',
    `namespace ${namespace}: slice ${slice.sliceId} [${slice.startMicros}, ${slice.endMicros}) overlaps slice ` +
      `${existing.sliceId} [${existing.startMicros}, ${existing.endMicros})`,
  );
}

/**
 * Checks that a write targets a live slice and sits inside it, with a well-formed event.
 * `slice` is the stored row or undefined when the slice does not exist.
 */
export function checkWrite(write: EventWrite, index: number, slice: SliceInfo | undefined): void {
  const where = `writes[${index}]`;
  if (!slice) {
    throw new DgwError('FAILED_PRECONDITION', `${where}: namespace ${write.namespace} has no slice ${write.sliceId}`);
  }
  if (slice.status === 'DROPPED') {
    throw new DgwError('FAILED_PRECONDITION', `${where}: slice ${write.sliceId} of ${write.namespace} is DROPPED`);
  }
  const { event, partition } = write;
  if (!Number.isSafeInteger(event.eventTimeMicros)) {
    throw invalidArgument(`${where}.event.eventTimeMicros`, 'must be integer microseconds');
  }
  if (event.eventTimeMicros < slice.startMicros || event.eventTimeMicros >= slice.endMicros) {
    throw invalidArgument(`${where}.event.eventTimeMicros`, `outside slice ${slice.sliceId}`);
  }
  if (partition.timeSeriesId !== event.timeSeriesId) {
    throw invalidArgument(`${where}.partition.timeSeriesId`, 'differs from the event timeSeriesId');
  }
  if (event.items.length === 0) throw invalidArgument(`${where}.event.items`, 'an event needs at least one item');
}

/** Newest-first order: eventTime descending, then eventId ascending by code point (the stores' byte order). */
export function compareNewestFirst(a: EventPosition, b: EventPosition): number {
  if (a.eventTimeMicros !== b.eventTimeMicros) return b.eventTimeMicros - a.eventTimeMicros;
  return compareCodePoints(a.eventId, b.eventId);
}

/**
 * The DEADLINE_EXCEEDED of an append whose commit time bound (AppendOptions.timeoutMicros)
 * ran out: nothing of the batch was written, and nothing will be.
 */
export function appendTimeoutError(timeoutMicros: number, cause?: unknown): DgwError {
  return new DgwError(
    'DEADLINE_EXCEEDED',
    `the store could not commit within the accept window (${Math.max(0, Math.round(timeoutMicros / 1000))} ms left); ` +
      'the write was rolled back: nothing of it is stored',
    cause === undefined ? {} : { cause },
  );
}

/** Throws {@link appendTimeoutError} when an append's time bound is already spent. */
export function checkAppendTime(options: AppendOptions | undefined): void {
  const t = options?.timeoutMicros;
  if (t !== undefined && t <= 0) throw appendTimeoutError(t);
}
