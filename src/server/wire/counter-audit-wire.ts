/**
 * The audit, recount and comparison messages of the Counter API (proto/dgw/counter.proto:
 * ReadCounterLog, RecountCount, CompareCounts) in their JSON form, shared by HTTP and
 * gRPC. As for the other counter messages (counter-wire.ts), the snake_case names and
 * their proto3 JSON camelCase twins are both accepted, and a bad field is named in
 * snake_case. int64 values are encoded as decimal strings, times as RFC 3339.
 */
import { z } from 'zod';
import type { CounterLogPage, CounterLogQuery, RecountResult } from '../../core/counter/audit.js';
import type { CompareCountsQuery, CompareCountsResult } from '../../core/counter/compare-counts.js';
import { formatInt64 } from '../../core/counter/int64.js';
import { invalidArgument } from '../../kernel/errors.js';
import { formatTimestampMicros } from '../../kernel/time.js';
import { decode, idField, int32Field, timestampField, unknownKey } from './decode.js';

/** Default page size of ReadCounterLog. */
export const DEFAULT_LOG_PAGE_SIZE = 100;
/** Largest page of ReadCounterLog (the TimeSeries read's limit). */
export const MAX_LOG_PAGE_SIZE = 1000;

type JsonObject = Record<string, unknown>;

/** camelCase twin → snake_case name, for every key of these messages that has one. */
const SNAKE: Readonly<Record<string, string>> = {
  counterName: 'counter_name',
  timeInterval: 'time_interval',
  pageSize: 'page_size',
  pageToken: 'page_token',
  counterNames: 'counter_names',
  assignmentProbabilities: 'assignment_probabilities',
};

/**
 * The body with every camelCase key renamed to its snake_case name (the snake_case one
 * wins when both are sent, as in counter-wire.ts). A key the message does not have is
 * refused, named.
 */
function snakeKeys(body: unknown, allowed: ReadonlySet<string>): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('body', 'must be a JSON object');
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(body as JsonObject)) {
    const snake = SNAKE[key];
    if (snake === undefined) out[key] = value;
    else if (!Object.hasOwn(body, snake)) out[snake] = value;
  }
  const extra = unknownKey(out, allowed);
  if (extra !== undefined) throw invalidArgument(extra, 'unknown field');
  return out;
}

const LOG_KEYS: ReadonlySet<string> = new Set(['namespace', 'counter_name', 'time_interval', 'page_size', 'page_token']);
const RECOUNT_KEYS: ReadonlySet<string> = new Set(['namespace', 'counter_name', 'repair']);
const COMPARE_KEYS: ReadonlySet<string> = new Set(['namespace', 'counter_names', 'assignment_probabilities', 'concentration', 'time_interval', 'alpha']);

const namespaceField = z.string().min(1, 'is required (a non-empty string)');
const intervalSchema = z.strictObject({ start: timestampField, end: timestampField });
/** proto3 `string page_token`: "" (the gRPC default) is no token. */
const pageTokenField = z.string().optional();

// The schemas are built once (building one per request costs more than the parse).
const logSchema = z.strictObject({
  namespace: namespaceField,
  counter_name: idField,
  time_interval: intervalSchema.optional(),
  page_size: int32Field(1, MAX_LOG_PAGE_SIZE).optional(),
  page_token: pageTokenField,
});
const recountSchema = z.strictObject({ namespace: namespaceField, counter_name: idField, repair: z.boolean().optional() });
const compareSchema = z.strictObject({
  namespace: namespaceField,
  counter_names: z.array(z.string()),
  assignment_probabilities: z.array(z.number()),
  concentration: z.number().optional(),
  time_interval: intervalSchema.optional(),
  alpha: z.number().optional(),
});

/** A decoded ReadCounterLog request. */
export type ReadCounterLogRequest = CounterLogQuery & { namespace: string };

/** Decodes ReadCounterLog. */
export function decodeReadCounterLog(body: unknown): ReadCounterLogRequest {
  const r = decode(logSchema, snakeKeys(body, LOG_KEYS));
  if (r.time_interval && r.time_interval.start >= r.time_interval.end) {
    throw invalidArgument('time_interval', 'start must be before end (the interval is start-inclusive, end-exclusive)');
  }
  return {
    namespace: r.namespace,
    counterName: r.counter_name,
    pageSize: r.page_size ?? DEFAULT_LOG_PAGE_SIZE,
    ...(r.time_interval ? { startMicros: r.time_interval.start, endMicros: r.time_interval.end } : {}),
    ...(r.page_token ? { pageToken: r.page_token } : {}),
  };
}

/** Encodes a page of a counter's log (proto3 JSON of ReadCounterLogResponse). */
export function encodeCounterLog(page: CounterLogPage): JsonObject {
  return {
    entries: page.entries.map((e) => ({
      kind: e.kind === 'add' ? 'ADD' : 'CLEAR',
      time: formatTimestampMicros(e.timeMicros),
      token: e.token,
      ...(e.delta !== undefined ? { delta: formatInt64(e.delta) } : {}),
    })),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

/** A decoded RecountCount request. */
export interface RecountCountRequest {
  namespace: string;
  counterName: string;
  repair: boolean;
}

/** Decodes RecountCount. */
export function decodeRecountCount(body: unknown): RecountCountRequest {
  const r = decode(recountSchema, snakeKeys(body, RECOUNT_KEYS));
  return { namespace: r.namespace, counterName: r.counter_name, repair: r.repair ?? false };
}

/** Encodes a recount (proto3 JSON of RecountCountResponse; a checkpoint at 0 is "never rolled up", left out). */
export function encodeRecount(r: RecountResult): JsonObject {
  return {
    rollupCount: formatInt64(r.rollup.count),
    ...(r.rollup.rollupTsMicros > 0 ? { rollupTime: formatTimestampMicros(r.rollup.rollupTsMicros) } : {}),
    recount: formatInt64(r.recount),
    difference: formatInt64(r.difference),
    eventsScanned: String(r.eventsScanned),
    complete: r.complete,
    repaired: r.repaired !== undefined,
    ...(r.repaired ? { repairedCount: formatInt64(r.repaired.count), repairedTime: formatTimestampMicros(r.repaired.rollupTsMicros) } : {}),
  };
}

/** A decoded CompareCounts request. */
export type CompareCountsRequest = CompareCountsQuery & { namespace: string };

/** Decodes CompareCounts; the arms' names and probabilities are checked by core (validateCompareCounts). */
export function decodeCompareCounts(body: unknown): CompareCountsRequest {
  const r = decode(compareSchema, snakeKeys(body, COMPARE_KEYS));
  if (r.time_interval && r.time_interval.start >= r.time_interval.end) {
    throw invalidArgument('time_interval', 'start must be before end (the interval is start-inclusive, end-exclusive)');
  }
  return {
    namespace: r.namespace,
    counterNames: r.counter_names,
    assignmentProbabilities: r.assignment_probabilities,
    ...(r.concentration !== undefined ? { concentration: r.concentration } : {}),
    ...(r.alpha !== undefined ? { alpha: r.alpha } : {}),
    ...(r.time_interval ? { startMicros: r.time_interval.start, endMicros: r.time_interval.end } : {}),
  };
}

/** Encodes a comparison (proto3 JSON of CompareCountsResponse). */
export function encodeCompare(r: CompareCountsResult): JsonObject {
  return {
    counts: r.counts.map((n) => formatInt64(n)),
    pValue: r.pValue,
    logBayesFactor: r.logBayesFactor,
    ...(r.firstBelowAlphaMicros !== undefined ? { firstBelowAlpha: formatTimestampMicros(r.firstBelowAlphaMicros) } : {}),
  };
}
