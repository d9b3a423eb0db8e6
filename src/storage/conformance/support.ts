/** Helpers shared by the conformance suite's parts (not part of any adapter). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ManualClock } from '../../kernel/clock.js';
import { isDgwError, type ErrorCode } from '../../kernel/errors.js';
import type { EventRecord, EventWrite, SliceInfo, StoreSet } from '../contracts.js';

/** What each part of the suite gets: the store under test and the optional manual clock. */
export interface ConformanceContext {
  stores(): StoreSet;
  makeStores: () => Promise<StoreSet>;
  clock: ManualClock | undefined;
}

/** The node:test context methods the suite uses. */
export interface SkipContext {
  skip(message?: string): void;
}

/** The part when present; otherwise marks the test skipped and returns undefined. */
export function need<T>(t: SkipContext, part: T | undefined, what: string, storeName: string): T | undefined {
  if (part === undefined) t.skip(`store "${storeName}" has no ${what}`);
  return part;
}

/** A fresh namespace name, unique per test. */
export function freshNamespace(prefix = 'conf'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** One-second microseconds. */
export const SEC = 1_000_000;
/** Start of the standard test slice: 2024-10-03T00:00:00Z. */
export const T0 = Date.UTC(2024, 9, 3) * 1000;

/** A slice `[T0 + offsetSec, T0 + offsetSec + widthSec)`, ACTIVE, 60s buckets, 4 event buckets. */
export function slice(offsetSec = 0, widthSec = 3600, overrides: Partial<SliceInfo> = {}): SliceInfo {
  const startMicros = T0 + offsetSec * SEC;
  return {
    sliceId: startMicros / SEC,
    startMicros,
    endMicros: startMicros + widthSec * SEC,
    status: 'ACTIVE',
    secondsPerTimeBucket: 60,
    eventBuckets: 4,
    ...overrides,
  };
}

/** UTF-8 bytes of a string. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** An event with string items (sorted by key). */
export function event(timeSeriesId: string, eventTimeMicros: number, eventId: string, items: Record<string, string>): EventRecord {
  return {
    timeSeriesId,
    eventTimeMicros,
    eventId,
    items: Object.keys(items)
      .sort()
      .map((key) => ({ key, value: bytes(items[key]!) })),
  };
}

/** A write of `e` into `sliceInfo`, partition (timeSeriesId, bucket 0, event bucket 0) unless told. */
export function write(namespace: string, sliceInfo: SliceInfo, e: EventRecord, timeBucket = 0, eventBucket = 0): EventWrite {
  return { namespace, sliceId: sliceInfo.sliceId, partition: { timeSeriesId: e.timeSeriesId, timeBucket, eventBucket }, event: e };
}

/** Comparable plain form of events: items as `key=text`. */
export function plain(events: readonly EventRecord[]): string[] {
  return events.map(
    (e) =>
      `${e.timeSeriesId}@${e.eventTimeMicros}/${e.eventId}{${e.items
        .map((i) => `${i.key}=${Buffer.from(i.value).toString('hex')}`)
        .join(',')}}`,
  );
}

/** Asserts that `promise` rejects with a DgwError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isDgwError(err), `expected a DgwError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}
