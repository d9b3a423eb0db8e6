/**
 * Every default of a namespace document, in one place (documented in docs/namespaces.md).
 * Times are microseconds unless the name says seconds.
 */
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import type { CounterType, TimeSeriesConfig } from './types.js';

const S = MICROS_PER_SECOND;
const MIB = 1024 * 1024;

/** Settings of a primary (event) storage entry, with retention: every setting but the storage. */
export type PrimaryDefaults = Omit<TimeSeriesConfig['primary'], 'storage'>;

/** Defaults of a TimeSeries namespace's PRIMARY_STORAGE (retention: keep forever). */
export const TIMESERIES_DEFAULTS: Readonly<PrimaryDefaults> = {
  secondsPerTimeSlice: 86_400,
  secondsPerTimeBucket: 3_600,
  eventBuckets: 4,
  coalesceMicros: 1 * S,
  bufferCapacityBytes: 4 * MIB,
  consistencyScope: 'LOCAL',
  consistencyTarget: 'EVENTUAL',
  acceptLimitMicros: 5 * S,
  futureLimitMicros: 60 * S,
  closeAfterMicros: 0,
  deleteAfterMicros: 0,
};

/** Default index refresh interval (how soon a write becomes searchable). */
export const INDEX_REFRESH_DEFAULT_MICROS = 1 * S;

/** Defaults of a counter's EVENT_STORAGE (DESIGN 4.1): 7-day retention. */
export const COUNTER_EVENTS_DEFAULTS: Readonly<PrimaryDefaults> = {
  ...TIMESERIES_DEFAULTS,
  secondsPerTimeBucket: 600,
  closeAfterMicros: 518_400 * S,
  deleteAfterMicros: 604_800 * S,
};

/** Counter-level defaults (DESIGN 4.1, 4.3). */
export const COUNTER_DEFAULTS: Readonly<{
  counterType: CounterType;
  counterCardinality: string;
  numQueues: number;
  coalesceMicros: number;
  capacityBytes: number;
  rollupBatchCount: number;
  ttlMicros: number;
  skewMarginMicros: number;
}> = {
  counterType: 'EVENTUAL',
  counterCardinality: 'LOW',
  numQueues: 8,
  coalesceMicros: 1 * S,
  capacityBytes: 16 * MIB,
  rollupBatchCount: 32,
  ttlMicros: 0,
  skewMarginMicros: 1 * S,
};

/** Upper bound of any duration setting: ten years. */
export const MAX_DURATION_MICROS = 3650 * 86_400 * S;
