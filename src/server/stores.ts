/**
 * The one place where the stores are assembled (issue 12, item 1): from the server's
 * configuration to the catalog core reads through (`StoresByKey`) and the resolver the
 * control plane maps `physical_storage` with. Which adapters exist, which store is the
 * default, and which store provides a part another lacks (the caches of a PostgreSQL
 * deployment) is decided here and nowhere else.
 *
 * - Embedded (no cluster): SQLite in the data directory is the default store of every
 *   part; "memory" serves namespaces that ask for MEMORY.
 * - Server (clusters): the first PostgreSQL cluster is the default store (events, index,
 *   rollups, registry); the caches come from the first Redis cluster, else from one
 *   in-process cache store (per instance; docs/backends.md). "memory" as above.
 * - Cassandra clusters (issue 8) add stores with events and rollups only: their index
 *   comes from the default PostgreSQL, their caches as above (docs/cassandra.md). One
 *   that does not answer at start-up does not stop the server: it is reported through
 *   `onWarning`, fails /readyz, and connects on a later call. Each of its `datasets` is a
 *   store of its own, `cassandra:<cluster>/<dataset>` (its keyspace, made on first use).
 */
import type { Clock } from '../kernel/clock.js';
import { DgwError } from '../kernel/errors.js';
import type { StoreResolver } from '../core/control/store-resolver.js';
import { StoreCatalog } from '../storage/catalog.js';
import type { StoreSet } from '../storage/contracts.js';
import { createInProcessCacheStores } from '../storage/in-process/stores.js';
import { createMemoryStores } from '../storage/memory/stores.js';
import { createPostgresStores } from '../storage/postgres/stores.js';
import { createRedisStores } from '../storage/redis/stores.js';
import { createSqliteStores } from '../storage/sqlite/stores.js';
import { createCassandraCluster } from '../storage/cassandra/stores.js';
import { clusterAddress, clusterKey, datasetKey, datasetKeyspaces, type CassandraClusterConfig, type ClusterConfig, type UrlClusterConfig } from './clusters.js';
import { createEmbeddedStoreResolver, createServerStoreResolver } from './store-resolvers.js';

/** What the assembly needs from the server configuration. */
export interface StoreConfig {
  /** Directory of the embedded SQLite database (embedded mode). */
  dataDir: string;
  /** Embedded SQLite: commit event appends in a writer thread (docs/storage.md). */
  sqliteWriterThread?: boolean;
  /** Embedded SQLite: reader threads of the packed read and search scans (docs/storage.md); 0 or absent: inline. */
  sqliteReaderThreads?: number;
  /** How long a checkpoint read from a shared rollup cache is reused (StoreCatalogOptions.nearCacheMs). */
  nearCacheMs?: number;
  /** Configured clusters; none means embedded mode. */
  clusters?: readonly ClusterConfig[];
  clock: Clock;
  /** Told what the server starts without (a Cassandra cluster not reachable yet). */
  onWarning?: (message: string, cause: unknown) => void;
}

/** The assembled stores. */
export interface AssembledStores {
  /** Every store by key, with the per-part providers; close() closes each once. */
  catalog: StoreCatalog;
  /** Resolves a namespace's `physical_storage` to a key of `catalog`. */
  resolver: StoreResolver;
  /** One line for the startup message, e.g. "stores postgres:main, redis:main, memory". */
  description: string;
}

/** Opens the stores the configuration names; closes what it opened when one fails. */
export async function assembleStores(config: StoreConfig): Promise<AssembledStores> {
  const clusters = config.clusters ?? [];
  const memory = createMemoryStores({ clock: config.clock });
  if (clusters.length === 0) {
    const sqlite = createSqliteStores({ dataDir: config.dataDir, clock: config.clock, writerThread: config.sqliteWriterThread === true, readerThreads: config.sqliteReaderThreads ?? 0 });
    return {
      catalog: new StoreCatalog('sqlite', [
        ['sqlite', sqlite],
        ['memory', memory],
      ]),
      resolver: createEmbeddedStoreResolver('sqlite', { stores: ['sqlite', 'memory'] }),
      description: `embedded SQLite in ${config.dataDir}`,
    };
  }

  const names = new Set<string>();
  for (const c of clusters) {
    if (names.has(c.name)) throw new DgwError('INVALID_ARGUMENT', `clusters: duplicate cluster name "${c.name}"`);
    names.add(c.name);
  }
  const pgs = clusters.filter((c): c is UrlClusterConfig => c.type === 'POSTGRES');
  const redises = clusters.filter((c): c is UrlClusterConfig => c.type === 'REDIS');
  const cassandras = clusters.filter((c): c is CassandraClusterConfig => c.type === 'CASSANDRA');
  if (pgs.length === 0) {
    throw new DgwError(
      'INVALID_ARGUMENT',
      cassandras.length > 0
        ? 'clusters: a Cassandra deployment needs a POSTGRES cluster too (--postgres-url): it holds the search index and the namespace registry (docs/cassandra.md)'
        : 'clusters: a server deployment needs a POSTGRES cluster (--postgres-url)',
    );
  }
  const entries: [string, StoreSet][] = [];
  try {
    for (const c of redises) {
      entries.push([clusterKey(c), await createRedisStores({ url: c.url, ...(c.keyPrefix ? { keyPrefix: c.keyPrefix } : {}) })]);
    }
    for (const c of pgs) {
      const set = await createPostgresStores({
        url: c.url,
        clock: config.clock,
        ...(c.schema ? { schema: c.schema } : {}),
        ...(c.maxConnections ? { maxConnections: c.maxConnections } : {}),
        ...(c.statementTimeoutMs ? { statementTimeoutMs: c.statementTimeoutMs } : {}),
        ...(c.parallelCommits ? { parallelCommits: c.parallelCommits } : {}),
      });
      entries.push([clusterKey(c), set]);
    }
    for (const c of cassandras) {
      const { main: set, datasets } = await createCassandraCluster({
        contactPoints: c.contactPoints,
        localDataCenter: c.localDataCenter,
        clock: config.clock,
        connectAtStart: false,
        ...(c.keyspace ? { keyspace: c.keyspace } : {}),
        ...(c.replication ? { replication: c.replication } : {}),
        ...(c.consistency ? { consistency: c.consistency } : {}),
        ...(c.serialConsistency ? { serialConsistency: c.serialConsistency } : {}),
        ...(c.requestTimeoutMs !== undefined ? { requestTimeoutMs: c.requestTimeoutMs } : {}),
        ...(c.speculativeDelayMs !== undefined ? { speculativeDelayMs: c.speculativeDelayMs } : {}),
        datasets: Object.fromEntries(
          [...datasetKeyspaces(c)].map(([name, keyspace]) => {
            const replication = c.datasets?.[name]?.replication;
            return [name, { keyspace, ...(replication ? { replication } : {}) }];
          }),
        ),
      });
      entries.push([clusterKey(c), set]);
      // A dataset's keyspace is made on its first call (not here, not by /readyz).
      for (const [name, ds] of datasets) entries.push([datasetKey(c, name), ds]);
      try {
        await set.ping();
      } catch (err) {
        // Only "not reachable" is survivable; a refused keyspace or credentials are config errors.
        if (!(err instanceof DgwError) || err.code !== 'UNAVAILABLE') throw err;
        config.onWarning?.(
          `cassandra cluster "${c.name}" (${clusterAddress(c)}) is not reachable at start-up; /readyz answers 503 until it is, and its namespaces answer UNAVAILABLE`,
          err,
        );
      }
    }
  } catch (err) {
    await Promise.allSettled(entries.map(([, s]) => s.close()));
    throw err;
  }
  const description = `stores ${entries.map(([k]) => k).join(', ')}`;
  const defaultKey = clusterKey(pgs[0]!);
  // The caches of the default store: Redis when configured, else in process.
  const cacheKey = redises[0] ? clusterKey(redises[0]) : 'in-process';
  if (!redises[0]) entries.push(['in-process', createInProcessCacheStores({ clock: config.clock })]);
  entries.push(['memory', memory]);
  return {
    catalog: new StoreCatalog(
      defaultKey,
      entries,
      { rollupCache: cacheKey, counterCache: cacheKey },
      config.nearCacheMs !== undefined ? { nearCacheMs: config.nearCacheMs } : {},
    ),
    resolver: createServerStoreResolver(clusters, defaultKey),
    description,
  };
}
