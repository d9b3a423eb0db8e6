/**
 * Counter namespace documents (DESIGN 4.1): the article's `persistence_configuration` with
 * CACHE, COUNTER_ROLLUP and EVENT_STORAGE entries, to one canonical {@link CounterConfig}.
 * EVENT_STORAGE is parsed by the TimeSeries primary-entry parser: it configures the
 * counter's own TimeSeries namespace, `counter:<name>`.
 */
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { invalidArgument } from '../../kernel/errors.js';
import { COUNTER_DEFAULTS, COUNTER_EVENTS_DEFAULTS, MAX_DURATION_MICROS } from './defaults.js';
import { readDuration } from './doc-reader.js';
import type { Found } from './doc-reader.js';
import { validateNamespaceName } from './namespace-name.js';
import { noEffect, resolveStorage, splitEntries } from './persistence-entries.js';
import type { ParseContext } from './persistence-entries.js';
import type { StoreResolver } from './store-resolver.js';
import { parsePrimaryEntry } from './timeseries-doc.js';
import type { CounterConfig, CounterType, ParsedNamespace, TimeSeriesConfig } from './types.js';

/** Counter flavours accepted in `counter_type`. */
export const COUNTER_TYPES: readonly CounterType[] = ['BEST_EFFORT', 'EVENTUAL', 'ACCURATE'];
/** Accepted `counter_cardinality` values. */
export const COUNTER_CARDINALITIES = ['LOW', 'MEDIUM', 'HIGH'] as const;

/** Every accepted spelling of each counter setting; the first is the article's. */
export const COUNTER_KEYS = {
  counterType: ['counter_type', 'counterType'],
  counterCardinality: ['counter_cardinality', 'counterCardinality'],
  counterConfig: ['eventual_counter_config', 'eventualCounterConfig', 'accurate_counter_config', 'accurateCounterConfig'],
  internalConfig: ['internal_config', 'internalConfig'],
  queueConfig: ['queue_config', 'queueConfig'],
  numQueues: ['num_queues', 'numQueues'],
  coalesceMs: ['coalesce_ms', 'coalesceMs', 'coalesce'],
  capacityBytes: ['capacity_bytes', 'capacityBytes'],
  rollupBatchCount: ['rollup_batch_count', 'rollupBatchCount'],
  ttl: ['ttl', 'ttl_seconds'],
  skewMargin: ['skew_margin', 'skewMargin'],
} as const;

const COUNTER_IDS = ['CACHE', 'COUNTER_ROLLUP', 'EVENT_STORAGE'] as const;
const DURATION = { min: 0, max: MAX_DURATION_MICROS };

/** The name of the TimeSeries namespace holding a counter namespace's events. */
export function counterEventsNamespace(name: string): string {
  return `counter:${name}`;
}

/**
 * Parses a Counter namespace document (already read by `parseNamespaceBody`, or any JSON
 * value). Throws INVALID_ARGUMENT naming the field path on any invalid setting.
 */
export function parseCounterNamespace(name: string, doc: unknown, catalog: StoreResolver): ParsedNamespace<CounterConfig> {
  validateNamespaceName(name);
  const notices: string[] = [];
  const ctx: ParseContext = { name, catalog, notices };
  const entries = splitEntries(doc, COUNTER_IDS, 'counter', notices);

  const cacheEntry = entries.get('CACHE');
  const cacheStorage = resolveStorage(cacheEntry, ctx, 'cache');
  const cacheCfg = cacheEntry?.section(['config']);
  const cacheTtl = cacheCfg?.find(COUNTER_KEYS.ttl);
  cacheCfg?.finish();
  cacheEntry?.finish();

  const rollupEntry = entries.get('COUNTER_ROLLUP');
  const rollupStorage = resolveStorage(rollupEntry, ctx, 'rollups');
  const rc = rollupEntry?.section(['config']);
  const counterType = rc?.enumeration(COUNTER_KEYS.counterType, COUNTER_TYPES, 'counter type') ?? COUNTER_DEFAULTS.counterType;
  noEffect(
    ctx,
    rollupEntry?.find(COUNTER_KEYS.counterCardinality) ?? rc?.find(COUNTER_KEYS.counterCardinality),
    'one rollup row is kept per counter whatever the cardinality; the value is stored and returned only',
  );
  const counterCardinality =
    rollupEntry?.enumeration(COUNTER_KEYS.counterCardinality, COUNTER_CARDINALITIES, 'counter cardinality') ??
    rc?.enumeration(COUNTER_KEYS.counterCardinality, COUNTER_CARDINALITIES, 'counter cardinality') ??
    COUNTER_DEFAULTS.counterCardinality;
  const typed = rc?.section(COUNTER_KEYS.counterConfig);
  const internal = typed?.section(COUNTER_KEYS.internalConfig);
  typed?.finish();
  const qc = internal?.section(COUNTER_KEYS.queueConfig);
  const numQueues = qc?.integer(COUNTER_KEYS.numQueues, { min: 1, max: 1024 }) ?? COUNTER_DEFAULTS.numQueues;
  const coalesceMicros = qc?.duration(COUNTER_KEYS.coalesceMs, { min: 0, max: 600 * MICROS_PER_SECOND }, 'ms') ?? COUNTER_DEFAULTS.coalesceMicros;
  const capacityBytes = qc?.bytes(COUNTER_KEYS.capacityBytes, { min: 1024, max: 1024 ** 3 }) ?? COUNTER_DEFAULTS.capacityBytes;
  qc?.finish();
  const rollupBatchCount = internal?.integer(COUNTER_KEYS.rollupBatchCount, { min: 1, max: 4096 }) ?? COUNTER_DEFAULTS.rollupBatchCount;
  internal?.finish();
  const rollupTtl = rc?.find(COUNTER_KEYS.ttl);
  const skewMarginMicros = rc?.duration(COUNTER_KEYS.skewMargin, { min: 0, max: 3600 * MICROS_PER_SECOND }) ?? COUNTER_DEFAULTS.skewMarginMicros;
  rc?.finish();
  rollupEntry?.finish();

  const ttlMicros = readTtl(cacheTtl, rollupTtl);
  if (counterType !== 'BEST_EFFORT') {
    noEffect(
      ctx,
      cacheTtl ?? rollupTtl,
      `ttl expires BEST_EFFORT counts only; ${counterType} counts are durable and their events are kept for EVENT_STORAGE's retention`,
    );
  }
  const eventsPrimary = parsePrimaryEntry(entries.get('EVENT_STORAGE'), ctx, COUNTER_EVENTS_DEFAULTS);
  const events: TimeSeriesConfig = { kind: 'timeseries', name: counterEventsNamespace(name), primary: eventsPrimary };

  const config: CounterConfig = {
    kind: 'counter',
    name,
    counterType,
    counterCardinality,
    cache: { storage: cacheStorage },
    rollup: { storage: rollupStorage, numQueues, coalesceMicros, capacityBytes, rollupBatchCount },
    ttlMicros,
    skewMarginMicros,
    events,
  };
  return { config, notices };
}

/** `ttl` may sit in CACHE's or COUNTER_ROLLUP's config; both given must agree. */
function readTtl(cache: Found | undefined, rollup: Found | undefined): number {
  const a = cache === undefined ? undefined : readDuration(cache, DURATION, 's');
  const b = rollup === undefined ? undefined : readDuration(rollup, DURATION, 's');
  if (a !== undefined && b !== undefined && a !== b && rollup !== undefined && cache !== undefined) {
    throw invalidArgument(rollup.path, `conflicts with ${cache.path}`);
  }
  return a ?? b ?? COUNTER_DEFAULTS.ttlMicros;
}
