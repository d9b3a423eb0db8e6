/**
 * The Cassandra adapter: a durable, shared, horizontally scaled store for events, slice
 * metadata, rollups and the namespace registry (the index and the caches come from other
 * stores, see docs/cassandra.md). Built on the `cassandra-driver` package with prepared
 * statements, token-aware routing (the driver's default policy), speculative execution
 * for idempotent reads, and a request timeout so a lost quorum or a stalled
 * node answers within the deadline instead of hanging.
 */
import cassandra from 'cassandra-driver';
import { SystemClock, type Clock } from '../../kernel/clock.js';
import { DgwError } from '../../kernel/errors.js';
import type { StoreSet } from '../contracts.js';
import { wrapStoreSet } from '../store-wrapper.js';
import { CassandraStoreClock } from './clock.js';
import { CassandraDb, consistencyCode } from './database.js';
import { DdlLease } from './ddl-lease.js';
import { translateCassandraError } from './errors.js';
import { CassandraEventStore } from './event-store.js';
import { checkKeyspace } from './names.js';
import { CassandraNamespaceRegistry } from './namespace-registry.js';
import { CassandraRollupStore } from './rollup-store.js';
import { baseSchemaPresent, ensureBaseSchema, type Replication } from './schema.js';

/** Options of {@link createCassandraStores}. */
export interface CassandraStoresOptions {
  /** `host` or `host:port` of some nodes (the driver discovers the rest). */
  contactPoints: readonly string[];
  /** Data centre whose nodes serve this instance (`datacenter1` for a default node). */
  localDataCenter: string;
  /** Keyspace of this dataset (created when missing); default `dgw`. */
  keyspace?: string;
  /** Replication used when creating the keyspace; default SimpleStrategy, factor 1. */
  replication?: Replication;
  /** Consistency of reads and writes; default LOCAL_QUORUM. */
  consistency?: string;
  /** Serial consistency of checkpoint and registry transactions; default LOCAL_SERIAL. */
  serialConsistency?: 'SERIAL' | 'LOCAL_SERIAL';
  /** Per-request client timeout; a node that does not answer in time is given up (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Delay before an idempotent request is sent to a second replica too (default 200 ms; 0 turns hedging off). */
  speculativeDelayMs?: number;
  /** Time of the first-write-wins timestamps (default the system clock). */
  clock?: Clock;
  /**
   * The clock rollup holds run on (issue 15). Unset in production: the coordinator's
   * clock (`currentTimestamp()`). Tests on a ManualClock pass it.
   */
  holdClock?: Clock;
  /**
   * Datasets (`physical_storage.dataset`) with a keyspace of their own on this cluster:
   * their store sets share this cluster's driver client and schema lease; the keyspace
   * (with its replication) is made on first use, under the lease. See
   * {@link createCassandraCluster}.
   */
  datasets?: Readonly<Record<string, CassandraDatasetOptions>>;
  /**
   * Connect (and create the keyspace) before resolving; default true. False: the set is
   * returned unconnected and connects on its first call or ping, retrying on each later
   * one while the cluster is unreachable (the server then starts, not ready; stores.ts).
   */
  connectAtStart?: boolean;
}

/** One dataset's keyspace on a cluster. */
export interface CassandraDatasetOptions {
  keyspace: string;
  /** Replication of its keyspace when dgw creates it; default the cluster's. */
  replication?: Replication;
}

/** A cluster's store sets: its own keyspace's, and one per dataset. */
export interface CassandraCluster {
  main: StoreSet;
  /** By dataset name. */
  datasets: Map<string, StoreSet>;
}

/**
 * Hedging for reads only: an idempotent SELECT not answered after `delay` ms goes to the
 * next replica too (at most two extra). Writes are idempotent as well (retries are safe)
 * but not hedged: a duplicate write costs a replica's work for nothing.
 */
export class ReadHedgingPolicy extends cassandra.policies.speculativeExecution.ConstantSpeculativeExecutionPolicy {
  override newPlan(keyspace: string, queryInfo: string | object[]): { nextExecution: () => number } {
    if (typeof queryInfo === 'string' && /^\s*SELECT\b/i.test(queryInfo)) {
      return super.newPlan(keyspace, queryInfo) as { nextExecution: () => number };
    }
    return { nextExecution: () => -1 };
  }
}

/** The driver client for `options` (not connected yet). */
export function cassandraClient(options: CassandraStoresOptions): cassandra.Client {
  const timeout = options.requestTimeoutMs ?? 5000;
  const delay = options.speculativeDelayMs ?? 200;
  return new cassandra.Client({
    contactPoints: [...options.contactPoints],
    localDataCenter: options.localDataCenter,
    encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
    maxPrepared: 20_000,
    socketOptions: { connectTimeout: Math.min(timeout, 5000), readTimeout: timeout },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 20 },
    pooling: { heartBeatInterval: 5000 },
    policies: {
      // Token-aware over DC-aware round robin (the driver's default, stated for readers).
      loadBalancing: new cassandra.policies.loadBalancing.TokenAwarePolicy(
        new cassandra.policies.loadBalancing.DCAwareRoundRobinPolicy(options.localDataCenter),
      ),
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(200, 5000, false),
      ...(delay > 0 ? { speculativeExecution: new ReadHedgingPolicy(delay, 2) } : {}),
    },
  });
}

/**
 * Connects, creates the keyspace and start-up tables when missing and returns the store
 * set. Cassandra unreachable: UNAVAILABLE naming the contact points. Capabilities: durable,
 * shared, no native TTL used.
 */
export async function createCassandraStores(options: Omit<CassandraStoresOptions, 'datasets'>): Promise<StoreSet> {
  return (await createCassandraCluster(options)).main;
}

/**
 * The cluster's own store set (as {@link createCassandraStores}) and one per dataset of
 * `options.datasets`. A dataset's set keeps its events, slices and rollups in the
 * dataset's keyspace; it shares the cluster's driver client, its clock reading and its
 * schema lease (in the cluster's keyspace: schema is cluster-wide, so one writer per
 * cluster). Its keyspace and start-up tables are made on its first call (not by ping):
 * when missing, under the lease, with the dataset's replication (default the cluster's);
 * an existing keyspace's replication is left alone, as for the cluster's.
 */
export async function createCassandraCluster(options: CassandraStoresOptions): Promise<CassandraCluster> {
  const keyspace = options.keyspace ?? 'dgw';
  checkKeyspace(keyspace);
  if (options.contactPoints.length === 0) throw new DgwError('INVALID_ARGUMENT', 'cassandra contactPoints: at least one is needed');
  const seen = new Map<string, string>([[keyspace, 'the cluster']]);
  for (const [dataset, d] of Object.entries(options.datasets ?? {})) {
    checkKeyspace(d.keyspace);
    const other = seen.get(d.keyspace);
    if (other !== undefined) throw new DgwError('INVALID_ARGUMENT', `cassandra dataset "${dataset}": keyspace ${d.keyspace} is already ${other}'s`);
    seen.set(d.keyspace, `dataset "${dataset}"`);
  }
  const consistency = consistencyCode(options.consistency ?? 'LOCAL_QUORUM', 'cassandra consistency');
  const serial = consistencyCode(options.serialConsistency === 'SERIAL' ? 'SERIAL' : 'LOCAL_SERIAL', 'cassandra serialConsistency');
  const clock = options.clock ?? new SystemClock();
  const replication = options.replication ?? { class: 'SimpleStrategy', replication_factor: 1 };
  const client = cassandraClient(options);
  const db = new CassandraDb(client, keyspace, consistency, serial);
  const lease = new DdlLease(db);
  const where = `cassandra ${options.contactPoints.join(',')} (dc ${options.localDataCenter}, keyspace ${keyspace})`;
  // Connect and make the cluster's keyspace: once, for the cluster's set and its datasets'.
  let opened: Promise<void> | undefined;
  const openCluster = (): Promise<void> =>
    (opened ??= (async () => {
      try {
        await client.connect();
      } catch (err) {
        // The driver's words stay in the cause (logged, never sent to a client).
        throw new DgwError('UNAVAILABLE', `${where}: not reachable`, { cause: err });
      }
      await ensureBaseSchema(db, replication);
    })().catch((err: unknown) => {
      opened = undefined; // a failed open may be retried by the next call
      throw err;
    }));
  const ping = async (): Promise<void> => {
    await client.execute('SELECT release_version FROM system.local', [], { isIdempotent: true });
  };

  const main = wrapStoreSet({
    name: 'cassandra',
    capabilities: { durable: true, shared: true, ttl: false },
    translate: translateCassandraError,
    parts: {
      events: new CassandraEventStore(db, lease, () => clock.nowMicros()),
      rollups: new CassandraRollupStore(db, lease, options.holdClock),
      namespaces: new CassandraNamespaceRegistry(db),
      clock: new CassandraStoreClock(db, options.holdClock),
    },
    init: openCluster,
    ping,
    close: async () => {
      await client.shutdown();
    },
  });

  const datasets = new Map<string, StoreSet>();
  for (const [dataset, d] of Object.entries(options.datasets ?? {})) {
    const dsDb = new CassandraDb(client, d.keyspace, consistency, serial);
    const set = wrapStoreSet({
      name: 'cassandra',
      capabilities: { durable: true, shared: true, ttl: false },
      translate: translateCassandraError,
      parts: {
        events: new CassandraEventStore(dsDb, lease, () => clock.nowMicros()),
        rollups: new CassandraRollupStore(dsDb, lease, options.holdClock),
      },
      initOnPing: false,
      init: async () => {
        await openCluster(); // connected, and the cluster's keyspace (with the lease table) made
        if (await baseSchemaPresent(dsDb)) return;
        await lease.run(`keyspace ${d.keyspace} of dataset ${dataset}`, () => ensureBaseSchema(dsDb, d.replication ?? replication));
      },
      ping: async () => {
        await openCluster();
        await ping();
      },
    });
    // The cluster's clock, read once for all its keyspaces (and without making this one).
    datasets.set(dataset, main.clock ? { ...set, clock: main.clock } : set);
  }

  const cluster = { main, datasets };
  if (options.connectAtStart === false) return cluster;
  try {
    await main.ping();
  } catch (err) {
    await main.close().catch(() => undefined);
    throw err;
  }
  return cluster;
}

export { CassandraDb } from './database.js';
