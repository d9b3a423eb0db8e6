/**
 * Partitioning (DESIGN 3.2): time slices tile time; within a slice an event lands in
 * time bucket `floor((eventTime − sliceStart) / secondsPerTimeBucket)` and event bucket
 * `xxhash(eventId) mod eventBuckets`.
 */
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { bucketOf } from '../../kernel/hash.js';
import type { PartitionKey, SliceInfo } from '../../domain/events.js';

/** The slice id for a slice starting at `startMicros` (its start in whole seconds). */
export function sliceIdOf(startMicros: number): number {
  return Math.floor(startMicros / MICROS_PER_SECOND);
}

/** The epoch-aligned slice start containing `micros` for slices of `secondsPerSlice`. */
export function alignedSliceStart(micros: number, secondsPerSlice: number): number {
  const width = secondsPerSlice * MICROS_PER_SECOND;
  return Math.floor(micros / width) * width;
}

/** The time bucket of an event within its slice. */
export function timeBucketOf(slice: SliceInfo, eventTimeMicros: number): number {
  return Math.floor((eventTimeMicros - slice.startMicros) / (slice.secondsPerTimeBucket * MICROS_PER_SECOND));
}

/** The partition of an event in a slice. */
export function partitionOf(slice: SliceInfo, timeSeriesId: string, eventTimeMicros: number, eventId: string): PartitionKey {
  return {
    timeSeriesId,
    timeBucket: timeBucketOf(slice, eventTimeMicros),
    eventBucket: bucketOf(eventId, slice.eventBuckets),
  };
}

/** The slice of a sorted, gap-free list containing `micros`, if any. */
export function findSlice(slices: readonly SliceInfo[], micros: number): SliceInfo | undefined {
  let lo = 0;
  let hi = slices.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = slices[mid]!;
    if (micros < s.startMicros) hi = mid - 1;
    else if (micros >= s.endMicros) lo = mid + 1;
    else return s;
  }
  return undefined;
}

/**
 * The time buckets of `slice` that overlap `[fromMicros, toMicros)`, newest first.
 * Returns [] when the interval misses the slice.
 */
export function overlappingTimeBuckets(slice: SliceInfo, fromMicros: number, toMicros: number): number[] {
  const from = Math.max(fromMicros, slice.startMicros);
  const to = Math.min(toMicros, slice.endMicros);
  if (from >= to) return [];
  const first = timeBucketOf(slice, from);
  const last = timeBucketOf(slice, to - 1);
  const out: number[] = [];
  for (let b = last; b >= first; b--) out.push(b);
  return out;
}
