/**
 * TimeSeries namespace documents (DESIGN 3.1): the article's `persistence_configuration`
 * with PRIMARY_STORAGE and INDEX_STORAGE entries, in any of its spellings, plus the
 * top-level `slos` block (DESIGN 3.5), to one canonical {@link TimeSeriesConfig} with
 * every default filled in.
 */
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { invalidArgument } from '../../kernel/errors.js';
import { formatDurationMicros } from '../../kernel/time.js';
import type { FieldType } from '../../domain/search.js';
import { INDEX_REFRESH_DEFAULT_MICROS, MAX_DURATION_MICROS, TIMESERIES_DEFAULTS } from './defaults.js';
import type { PrimaryDefaults } from './defaults.js';
import { isPlainObject, joinPath, readSeconds } from './doc-reader.js';
import type { DocSection } from './doc-reader.js';
import { validateNamespaceName } from './namespace-name.js';
import { parseSlos, SLOS_KEYS } from './slos.js';
import { noEffect, parseRetention, resolveStorage, splitEntries } from './persistence-entries.js';
import type { ParseContext } from './persistence-entries.js';
import type { StoreResolver } from './store-resolver.js';
import type { NamespaceSlos, ParsedNamespace, TimeSeriesConfig } from './types.js';
import { checkStorableText } from '../text.js';

/** Every accepted spelling of each setting; the first is the canonical one. */
export const TS_KEYS = {
  timePartition: ['timePartition', 'time_partition'],
  secondsPerTimeSlice: ['secondsPerTimeSlice', 'seconds_per_slice', 'secondsPerSlice', 'seconds_per_time_slice'],
  secondsPerTimeBucket: [
    'secondsPerTimeBucket',
    'secondPerTimeBucket', // the article's spelling
    'seconds_per_bucket',
    'secondsPerBucket',
    'seconds_per_time_bucket',
  ],
  eventBuckets: ['eventBuckets', 'buckets_per_id', 'event_buckets', 'bucketsPerId'],
  queueBuffering: ['queueBuffering', 'queue_buffering'],
  coalesce: ['coalesce'],
  bufferCapacity: ['bufferCapacity', 'buffer_capacity'],
  consistencyScope: ['consistencyScope', 'consistency_scope'],
  consistencyTarget: ['consistencyTarget', 'consistency_target'],
  acceptLimit: ['acceptLimit', 'accept_limit'],
  futureLimit: ['futureLimit', 'future_limit'],
  indexConfig: ['indexConfig', 'index_config'],
  fieldMapping: ['fieldMapping', 'field_mapping'],
  refreshInterval: ['refreshInterval', 'refresh_interval'],
} as const;

/** Index field types (case-insensitive in documents). */
export const FIELD_TYPES: readonly FieldType[] = ['KEYWORD', 'TEXT', 'INTEGER', 'LONG', 'DOUBLE', 'BOOLEAN', 'DATE'];

const TS_IDS = ['PRIMARY_STORAGE', 'INDEX_STORAGE'] as const;
const DURATION = { min: 0, max: MAX_DURATION_MICROS };
const SLICE_SECONDS = { min: 1, max: 366 * 86_400 };

/** The canonical primary-storage settings. */
export type PrimaryConfig = TimeSeriesConfig['primary'];
/** The canonical index settings. */
export type IndexConfig = NonNullable<TimeSeriesConfig['index']>;

/**
 * Parses a TimeSeries namespace document (already read by `parseNamespaceBody`, or any
 * JSON value). Throws INVALID_ARGUMENT naming the field path on any invalid setting.
 */
export function parseTimeSeriesNamespace(
  name: string,
  doc: unknown,
  catalog: StoreResolver,
): ParsedNamespace<TimeSeriesConfig> {
  validateNamespaceName(name);
  const notices: string[] = [];
  const ctx: ParseContext = { name, catalog, notices };
  const { rest, slos } = takeSlos(doc, notices);
  const entries = splitEntries(rest, TS_IDS, 'timeseries', notices);
  const primary = parsePrimaryEntry(entries.get('PRIMARY_STORAGE'), ctx, TIMESERIES_DEFAULTS);
  const index = parseIndexEntry(entries.get('INDEX_STORAGE'), ctx, primary);
  const config: TimeSeriesConfig = { kind: 'timeseries', name, primary };
  if (slos !== undefined) config.slos = slos;
  if (index !== undefined) config.index = index;
  return { config, notices };
}

/**
 * Parses a primary (event) storage entry: `physical_storage`, `config.timePartition`,
 * `config.queueBuffering`, consistency, `acceptLimit`, `futureLimit` and retention.
 * Shared with the counter's EVENT_STORAGE. An absent entry yields `defaults`.
 */
export function parsePrimaryEntry(entry: DocSection | undefined, ctx: ParseContext, defaults: Readonly<PrimaryDefaults>): PrimaryConfig {
  const storage = resolveStorage(entry, ctx, 'events');
  const cfg = entry?.section(['config']);
  const tp = cfg?.section(TS_KEYS.timePartition);
  const slice = tp?.seconds(TS_KEYS.secondsPerTimeSlice, SLICE_SECONDS) ?? defaults.secondsPerTimeSlice;
  const bucketFound = tp?.find(TS_KEYS.secondsPerTimeBucket);
  let bucket = defaults.secondsPerTimeBucket;
  if (bucketFound !== undefined) {
    bucket = readSeconds(bucketFound, { min: 1, max: slice });
    if (slice % bucket !== 0) {
      throw invalidArgument(bucketFound.path, `must divide the time slice (${slice}s) evenly, got ${bucket}s`);
    }
  } else if (slice % bucket !== 0) {
    // The default bucket does not tile a custom slice: use the widest width that does.
    bucket = gcd(slice, bucket);
  }
  const eventBuckets = tp?.integer(TS_KEYS.eventBuckets, { min: 1, max: 1024 }) ?? defaults.eventBuckets;
  tp?.finish();

  const qb = cfg?.section(TS_KEYS.queueBuffering);
  const coalesceMicros = qb?.duration(TS_KEYS.coalesce, { min: 0, max: 60 * MICROS_PER_SECOND }) ?? defaults.coalesceMicros;
  const bufferCapacityBytes = qb?.bytes(TS_KEYS.bufferCapacity, { min: 1024, max: 1024 ** 3 }) ?? defaults.bufferCapacityBytes;
  qb?.finish();

  const consistency =
    'dgw runs in one region; a write is durable when acknowledged and visible at once to reads of the primary store';
  noEffect(ctx, cfg?.find(TS_KEYS.consistencyScope), consistency);
  noEffect(ctx, cfg?.find(TS_KEYS.consistencyTarget), consistency);
  const consistencyScope = upper(cfg?.string(TS_KEYS.consistencyScope)) ?? defaults.consistencyScope;
  const consistencyTarget = upper(cfg?.string(TS_KEYS.consistencyTarget)) ?? defaults.consistencyTarget;
  const acceptFound = cfg?.find(TS_KEYS.acceptLimit);
  const acceptLimitMicros = cfg?.duration(TS_KEYS.acceptLimit, DURATION) ?? defaults.acceptLimitMicros;
  const futureLimitMicros = cfg?.duration(TS_KEYS.futureLimit, DURATION) ?? defaults.futureLimitMicros;
  cfg?.finish();

  const retention = parseRetention(entry, defaults);
  if (retention.closeAfterMicros > 0 && retention.closeAfterMicros < acceptLimitMicros) {
    // Otherwise an event the accept limit lets in could land in an already closed slice.
    throw invalidArgument(
      acceptFound?.path ?? joinPath(entry?.path ?? '', 'lifecycleConfigs'),
      `acceptLimit (${formatDurationMicros(acceptLimitMicros)}) must not exceed the retention's close_after (${formatDurationMicros(retention.closeAfterMicros)})`,
    );
  }
  entry?.finish();
  return {
    storage,
    secondsPerTimeSlice: slice,
    secondsPerTimeBucket: bucket,
    eventBuckets,
    coalesceMicros,
    bufferCapacityBytes,
    consistencyScope,
    consistencyTarget,
    acceptLimitMicros,
    futureLimitMicros,
    closeAfterMicros: retention.closeAfterMicros,
    deleteAfterMicros: retention.deleteAfterMicros,
  };
}

/**
 * Parses INDEX_STORAGE. Slice width and retention default to the primary's. Returns
 * undefined (with a notice) when no field is mapped: there is nothing to index.
 */
function parseIndexEntry(entry: DocSection | undefined, ctx: ParseContext, primary: PrimaryConfig): IndexConfig | undefined {
  if (entry === undefined) return undefined;
  const storage = resolveStorage(entry, ctx, 'index');
  const cfg = entry.section(['config']);
  const tp = cfg?.section(TS_KEYS.timePartition);
  noEffect(
    ctx,
    tp?.find(TS_KEYS.secondsPerTimeSlice),
    "the index is not split into time slices: what Search shows follows the primary's slices, and its delete_after bounds how long documents are kept",
  );
  const secondsPerSlice = tp?.seconds(TS_KEYS.secondsPerTimeSlice, SLICE_SECONDS) ?? primary.secondsPerTimeSlice;
  tp?.finish();
  // Accepted for fidelity with the article; writes are governed by the primary's settings.
  const indexConsistency = 'index documents are committed with their events (same store) or right after them';
  noEffect(ctx, cfg?.find(TS_KEYS.consistencyScope), indexConsistency);
  noEffect(ctx, cfg?.find(TS_KEYS.consistencyTarget), indexConsistency);
  noEffect(ctx, cfg?.find(TS_KEYS.acceptLimit), "index documents are written with their events, which the primary's acceptLimit governs");
  cfg?.string(TS_KEYS.consistencyScope);
  cfg?.string(TS_KEYS.consistencyTarget);
  cfg?.duration(TS_KEYS.acceptLimit, DURATION);
  const ic = cfg?.section(TS_KEYS.indexConfig);
  const fieldMapping: Record<string, FieldType> = {};
  const fm = ic?.section(TS_KEYS.fieldMapping);
  for (const key of fm?.keys() ?? []) {
    if (fm === undefined) break;
    if (key.trim() === '') throw invalidArgument(joinPath(fm.path, key), 'field name must not be empty');
    checkStorableText(joinPath(fm.path, key), key);
    const type = fm.enumeration([key], FIELD_TYPES, 'field type');
    if (type !== undefined) fieldMapping[key] = type;
  }
  noEffect(ctx, ic?.find(TS_KEYS.refreshInterval), 'index documents are searchable as soon as their write is acknowledged (no refresh cycle)');
  const refreshIntervalMicros = ic?.duration(TS_KEYS.refreshInterval, { min: 0, max: 86_400 * MICROS_PER_SECOND }) ?? INDEX_REFRESH_DEFAULT_MICROS;
  ic?.finish();
  cfg?.finish();
  const retention = parseRetention(entry, primary);
  if (retention.closeAfterMicros !== primary.closeAfterMicros) {
    ctx.notices.push(
      `${entry.path}: the index's close_after (${formatDurationMicros(retention.closeAfterMicros)}) has no effect: Search and Aggregate ` +
        `show exactly what Read shows, by the primary's retention (close_after ${formatDurationMicros(primary.closeAfterMicros)}); ` +
        "the index's delete_after bounds how long its documents are kept",
    );
  }
  entry.finish();
  if (Object.keys(fieldMapping).length === 0) {
    ctx.notices.push(`${entry.path}: INDEX_STORAGE maps no field (indexConfig.fieldMapping); no index is kept`);
    return undefined;
  }
  return { storage, fieldMapping, secondsPerSlice, refreshIntervalMicros, ...retention };
}

/** Splits the top-level `slos` block (DESIGN 3.5) off the document, parsed. */
function takeSlos(doc: unknown, notices: string[]): { rest: unknown; slos?: NamespaceSlos } {
  if (!isPlainObject(doc)) return { rest: doc };
  const key = SLOS_KEYS.find((k) => Object.hasOwn(doc, k));
  if (key === undefined) return { rest: doc };
  const { [key]: value, ...rest } = doc;
  if (value === null || value === undefined) return { rest };
  return { rest, slos: parseSlos(value, key, notices) };
}

function upper(text: string | undefined): string | undefined {
  return text?.toUpperCase();
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
