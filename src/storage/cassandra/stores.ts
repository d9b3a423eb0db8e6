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
import { ensureBaseSchema, type Replication } from './schema.js';

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
   * Connect (and create the keyspace) before resolving; default true. False: the set is
   * returned unconnected and connects on its first call or ping, retrying on each later
   * one while the cluster is unreachable (the server then starts, not ready; stores.ts).
   */
  connectAtStart?: boolean;
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
export async function createCassandraStores(options: CassandraStoresOptions): Promise<StoreSet> {
  const keyspace = options.keyspace ?? 'dgw';
  checkKeyspace(keyspace);
  if (options.contactPoints.length === 0) throw new DgwError('INVALID_ARGUMENT', 'cassandra contactPoints: at least one is needed');
  const consistency = consistencyCode(options.consistency ?? 'LOCAL_QUORUM', 'cassandra consistency');
  const serial = consistencyCode(options.serialConsistency === 'SERIAL' ? 'SERIAL' : 'LOCAL_SERIAL', 'cassandra serialConsistency');
  const clock = options.clock ?? new SystemClock();
  const client = cassandraClient(options);
  const db = new CassandraDb(client, keyspace, consistency, serial);
  const lease = new DdlLease(db);
  const where = `cassandra ${options.contactPoints.join(',')} (dc ${options.localDataCenter}, keyspace ${keyspace})`;

  const set = wrapStoreSet({
    name: 'cassandra',
    capabilities: { durable: true, shared: true, ttl: false },
    translate: translateCassandraError,
    parts: {
      events: new CassandraEventStore(db, lease, () => clock.nowMicros()),
      rollups: new CassandraRollupStore(db, lease, options.holdClock),
      namespaces: new CassandraNamespaceRegistry(db),
      clock: new CassandraStoreClock(db, options.holdClock),
    },
    init: async () => {
      try {
        await client.connect();
      } catch (err) {
        // The driver's words stay in the cause (logged, never sent to a client).
        throw new DgwError('UNAVAILABLE', `${where}: not reachable`, { cause: err });
      }
      await ensureBaseSchema(db, options.replication ?? { class: 'SimpleStrategy', replication_factor: 1 });
    },
    ping: async () => {
      await client.execute('SELECT release_version FROM system.local', [], { isIdempotent: true });
    },
    close: async () => {
      await client.shutdown();
    },
  });
  if (options.connectAtStart === false) return set;
  try {
    await set.ping();
  } catch (err) {
    await set.close().catch(() => undefined);
    throw err;
  }
  return set;
}

export { CassandraDb } from './database.js';
