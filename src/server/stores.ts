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
import { clusterKey, type ClusterConfig } from './clusters.js';
import { createEmbeddedStoreResolver, createServerStoreResolver } from './store-resolvers.js';

/** What the assembly needs from the server configuration. */
export interface StoreConfig {
  /** Directory of the embedded SQLite database (embedded mode). */
  dataDir: string;
  /** Configured clusters; none means embedded mode. */
  clusters?: readonly ClusterConfig[];
  clock: Clock;
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
    const sqlite = createSqliteStores({ dataDir: config.dataDir, clock: config.clock });
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
  const pgs = clusters.filter((c) => c.type === 'POSTGRES');
  const redises = clusters.filter((c) => c.type === 'REDIS');
  if (pgs.length === 0) throw new DgwError('INVALID_ARGUMENT', 'clusters: a server deployment needs a POSTGRES cluster (--postgres-url)');
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
      });
      entries.push([clusterKey(c), set]);
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
    catalog: new StoreCatalog(defaultKey, entries, { rollupCache: cacheKey, counterCache: cacheKey }),
    resolver: createServerStoreResolver(clusters, defaultKey),
    description,
  };
}
