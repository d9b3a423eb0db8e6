/**
 * The schema of a canonical namespace configuration as the registry stores it
 * ({@link TimeSeriesConfig}, {@link CounterConfig}). A configuration read back from the
 * registry is parsed with it, not cast: a corrupt or foreign row (hand-edited, written by
 * another program, truncated) is refused with FAILED_PRECONDITION naming the namespace and the
 * field, instead of crashing a request deep in core on a missing property. Not INTERNAL:
 * the caller can act on it (put the namespace again), so the message reaches the client.
 *
 * The schemas are checked against the interfaces at compile time (`Same` below), so a
 * field added to the config types without its schema fails the typecheck.
 */
import { z } from 'zod';
import { DgwError } from '../../kernel/errors.js';
import type { NamespaceKind, NamespaceRecord } from '../../domain/namespaces.js';
import type { CounterConfig, NamespaceConfig, TimeSeriesConfig } from './types.js';

const micros = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

const physicalStorage = z.object({
  requestedType: z.enum(['SQLITE', 'POSTGRES', 'REDIS', 'MEMORY', 'CASSANDRA', 'ELASTICSEARCH', 'EVCACHE']),
  requestedCluster: z.string(),
  dataset: z.string(),
  store: z.string().min(1),
});

const slo = z.object({ targetMicros: micros, maxMicros: micros });

/** Schema of a stored {@link TimeSeriesConfig}. */
export const storedTimeSeriesConfig = z.object({
  kind: z.literal('timeseries'),
  name: z.string().min(1),
  primary: z.object({
    storage: physicalStorage,
    secondsPerTimeSlice: positiveInt,
    secondsPerTimeBucket: positiveInt,
    eventBuckets: positiveInt,
    coalesceMicros: micros,
    bufferCapacityBytes: micros,
    consistencyScope: z.string(),
    consistencyTarget: z.string(),
    acceptLimitMicros: micros,
    futureLimitMicros: micros,
    closeAfterMicros: micros,
    deleteAfterMicros: micros,
  }),
  slos: z.object({ read: slo.optional(), write: slo.optional() }).optional(),
  index: z
    .object({
      storage: physicalStorage,
      fieldMapping: z.record(z.string(), z.enum(['KEYWORD', 'TEXT', 'INTEGER', 'LONG', 'DOUBLE', 'BOOLEAN', 'DATE'])),
      secondsPerSlice: positiveInt,
      refreshIntervalMicros: micros,
      closeAfterMicros: micros,
      deleteAfterMicros: micros,
    })
    .optional(),
});

/** Schema of a stored {@link CounterConfig}. */
export const storedCounterConfig = z.object({
  kind: z.literal('counter'),
  name: z.string().min(1),
  counterType: z.enum(['BEST_EFFORT', 'EVENTUAL', 'ACCURATE']),
  counterCardinality: z.string(),
  cache: z.object({ storage: physicalStorage }),
  rollup: z.object({
    storage: physicalStorage,
    numQueues: positiveInt,
    coalesceMicros: micros,
    capacityBytes: micros,
    rollupBatchCount: positiveInt,
  }),
  ttlMicros: micros,
  skewMarginMicros: micros,
  events: storedTimeSeriesConfig,
});

// Compile-time check that each schema and its interface describe the same shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const timeSeriesSchemaMatches: Same<z.infer<typeof storedTimeSeriesConfig>, TimeSeriesConfig> = true;
const counterSchemaMatches: Same<z.infer<typeof storedCounterConfig>, CounterConfig> = true;
void timeSeriesSchemaMatches;
void counterSchemaMatches;

/**
 * The configuration stored in `record`, parsed as a configuration of `kind` named like the
 * record. FAILED_PRECONDITION (naming the namespace and the first bad field) when it is not one.
 */
export function parseStoredConfig(kind: NamespaceKind, record: NamespaceRecord): NamespaceConfig {
  const schema = kind === 'timeseries' ? storedTimeSeriesConfig : storedCounterConfig;
  const result = schema.safeParse(record.config);
  const where = `namespace ${JSON.stringify(record.name)}: the stored ${kind} configuration (registry version ${record.version})`;
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'config';
    throw new DgwError('FAILED_PRECONDITION', `${where} is corrupt at "${field}": ${issue?.message ?? 'invalid'}; put the namespace again to replace it`, {
      details: [{ field, reason: 'stored configuration is corrupt' }],
    });
  }
  if (result.data.name !== record.name) {
    throw new DgwError('FAILED_PRECONDITION', `${where} names another namespace (${JSON.stringify(result.data.name)}); put the namespace again to replace it`, {
      details: [{ field: 'name', reason: 'stored configuration is corrupt' }],
    });
  }
  return result.data;
}
