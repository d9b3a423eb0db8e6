/**
 * Server deployment configuration (issues 4 and 8): the physical clusters a dgw instance
 * knows, from a config file and/or the `--postgres-url` / `--redis-url` /
 * `--cassandra-contact-points` flags. They are opened by the one store assembly
 * (stores.ts) and resolved to by store-resolvers.ts.
 */
import { z } from 'zod';
import { CONSISTENCY_NAMES } from '../storage/cassandra/database.js';
import { readConfigJson } from './config-json.js';
import { decode } from './wire/decode.js';

const clusterName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" only');

const urlClusterSchema = z.strictObject({
  name: clusterName,
  type: z.enum(['POSTGRES', 'REDIS']),
  url: z.string().min(1),
  /** PostgreSQL: schema holding dgw's tables (default "dgw"). Redis: key prefix (default "dgw:"). */
  schema: z.string().optional(),
  keyPrefix: z.string().optional(),
  maxConnections: z.number().int().min(1).max(200).optional(),
  statementTimeoutMs: z.number().int().min(1).optional(),
  /** PostgreSQL: event group commits run at once (default min(4, maxConnections − 2), at least 1; at most maxConnections). */
  parallelCommits: z.number().int().min(1).max(200).optional(),
});

const replicationSchema = z.union([
  z.strictObject({ class: z.literal('SimpleStrategy'), replication_factor: z.number().int().min(1).max(20) }),
  z
    .object({ class: z.literal('NetworkTopologyStrategy') })
    .catchall(z.number().int().min(0).max(20))
    .refine((r) => Object.keys(r).length > 1, 'NetworkTopologyStrategy needs at least one data centre with its factor'),
]);

const keyspaceName = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case letters, digits and "_", at most 48, starting with a letter');

/** A dataset name as a namespace's `physical_storage.dataset` gives it. */
const datasetName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" only, at most 64');

/** One dataset of a Cassandra cluster: its keyspace and that keyspace's replication. */
const datasetSchema = z.strictObject({
  /** Default: the dataset's name, when it is a keyspace name. */
  keyspace: keyspaceName.optional(),
  /** Replication used when dgw creates the keyspace; default the cluster's. */
  replication: replicationSchema.optional(),
});

/**
 * A Cassandra cluster: its own keyspace on some contact points, plus a keyspace per
 * `dataset` it lists (namespaces naming that dataset in `physical_storage` live there).
 * Two entries may also name the same nodes with different keyspaces and replication.
 */
const cassandraClusterSchema = z.strictObject({
  name: clusterName,
  type: z.literal('CASSANDRA'),
  /** `host` or `host:port` of some nodes; the driver discovers the rest. */
  contactPoints: z.array(z.string().regex(/^[A-Za-z0-9_.:[\]-]+$/, 'host or host:port')).min(1),
  /** Data centre whose nodes serve this instance. */
  localDataCenter: z.string().min(1).default('datacenter1'),
  /** Keyspace of this dataset (created when missing); default "dgw". */
  keyspace: keyspaceName.optional(),
  /** Replication used when dgw creates the keyspace (an existing keyspace is left alone). */
  replication: replicationSchema.optional(),
  /**
   * Datasets with a keyspace of their own, by the name namespaces give in
   * `physical_storage.dataset`; each keyspace is created on first use (docs/cassandra.md).
   */
  datasets: z.record(datasetName, datasetSchema).optional(),
  /** Consistency of reads and writes (default LOCAL_QUORUM). */
  consistency: z.enum(CONSISTENCY_NAMES as [string, ...string[]]).optional(),
  /** Serial consistency of lightweight transactions (default LOCAL_SERIAL). */
  serialConsistency: z.enum(['SERIAL', 'LOCAL_SERIAL']).optional(),
  /** Per-request client timeout (default 5000 ms). */
  requestTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  /** Delay before an idempotent read is also sent to a second replica (default 200 ms; 0 = off). */
  speculativeDelayMs: z.number().int().min(0).max(60_000).optional(),
});

/** The keyspace of each dataset of a Cassandra cluster entry (its own, or its name). */
export function datasetKeyspaces(c: Pick<CassandraClusterConfig, 'datasets'>): Map<string, string> {
  return new Map(Object.entries(c.datasets ?? {}).map(([name, d]) => [name, d.keyspace ?? name]));
}

const cassandraClusterChecked = cassandraClusterSchema.superRefine((c, ctx) => {
  const used = new Map<string, string>([[c.keyspace ?? 'dgw', 'the cluster']]);
  for (const [name, d] of Object.entries(c.datasets ?? {})) {
    const keyspace = d.keyspace ?? name;
    if (!keyspaceName.safeParse(keyspace).success) {
      ctx.addIssue({ code: 'custom', path: ['datasets', name, 'keyspace'], message: `required: the dataset name "${name}" is not a keyspace name (lower-case letters, digits and "_", at most 48, starting with a letter)` });
      continue;
    }
    const other = used.get(keyspace);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['datasets', name, 'keyspace'], message: `keyspace ${keyspace} is already ${other}'s` });
    used.set(keyspace, `dataset "${name}"`);
  }
});

const clusterSchema = z.discriminatedUnion('type', [urlClusterSchema, cassandraClusterChecked]);

/**
 * The durable rollup queue (docs/counters.md "Durable rollup queue"): NATS JetStream.
 * Every instance of a deployment names the same stream and consumer.
 */
const natsSchema = z.strictObject({
  url: z.string().min(1),
  /** Stream name (default DGW_ROLLUP). */
  stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only').optional(),
  /** Subject prefix (default dgw.rollup). */
  subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens of letters, digits, "_" and "-"').optional(),
  /** Durable consumer shared by the instances (default dgw-rollup). */
  consumer: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only').optional(),
  shards: z.number().int().min(1).max(1024).optional(),
  /** How long a delivered event may stay unacknowledged before another instance gets it (default 30000). */
  ackWaitMs: z.number().int().min(1000).max(3_600_000).optional(),
  /** Rollups run at once for bus events on this instance (default 64). */
  concurrency: z.number().int().min(1).max(10_000).optional(),
});

/** The `nats` section of the config file. */
export type NatsConfig = z.output<typeof natsSchema>;

/**
 * A server config file: `clusters` is read here; the other sections belong to their
 * owners (auth/config-file.ts validates them). Any other top-level key is refused, named.
 */
export const serverConfigSchema = z.strictObject({
  clusters: z.array(clusterSchema).default([]),
  nats: natsSchema.optional(),
  auth: z.unknown().optional(),
  allowedOrigins: z.unknown().optional(),
  shedding: z.unknown().optional(),
});

/** One configured physical cluster. */
export type ClusterConfig = z.output<typeof clusterSchema>;
/** A PostgreSQL or Redis cluster (reached by URL). */
export type UrlClusterConfig = z.output<typeof urlClusterSchema>;
/** A Cassandra cluster (contact points, data centre, keyspace). */
export type CassandraClusterConfig = z.output<typeof cassandraClusterSchema>;

/** Reads a server config file (JSON) and validates it, naming the bad field. */
export function readServerConfig(path: string): ClusterConfig[] {
  return readDeployment(path).clusters;
}

/** The clusters and the durable rollup queue of a server config file. */
export function readDeployment(path: string): { clusters: ClusterConfig[]; nats?: NatsConfig } {
  const parsed = decode(serverConfigSchema, readConfigJson(path));
  return { clusters: parsed.clusters, ...(parsed.nats ? { nats: parsed.nats } : {}) };
}

/** Validates one cluster entry (e.g. built from flags), naming the bad field. */
export function parseCluster(input: unknown): ClusterConfig {
  return decode(clusterSchema, input);
}

/** Catalog key of a cluster. */
export function clusterKey(c: Pick<ClusterConfig, 'type' | 'name'>): string {
  return `${c.type.toLowerCase()}:${c.name}`;
}

/** Catalog key of a Cassandra cluster's dataset: `cassandra:<cluster>/<dataset>`. */
export function datasetKey(c: Pick<ClusterConfig, 'type' | 'name'>, dataset: string): string {
  return `${clusterKey(c)}/${dataset}`;
}

/** Where a cluster is, for logs: its URL, or its contact points and data centre. */
export function clusterAddress(c: ClusterConfig): string {
  return c.type === 'CASSANDRA' ? `${c.contactPoints.join(',')} (dc ${c.localDataCenter})` : c.url;
}
