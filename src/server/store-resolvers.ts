/**
 * The two ways a namespace's `physical_storage.{type, cluster}` resolves to a store key of
 * the server's catalog (DESIGN 3.1): embedded mode (SQLite and memory, no external
 * service) and server mode (the configured PostgreSQL, Redis and Cassandra clusters). Every mapping
 * to something else than asked is reported as a notice, so the article's documents work
 * as printed. Adapter names live here, in the server, not in core.
 */
import type { StoreResolution, StoreResolver, StoreRole } from '../core/control/store-resolver.js';
import type { StoreType } from '../core/control/types.js';
import { clusterKey, datasetKey, datasetKeyspaces, type ClusterConfig } from './clusters.js';

/** Options of {@link createEmbeddedStoreResolver}. */
export interface EmbeddedStoreResolverOptions {
  /**
   * Store keys the embedded server has (default: the default store and "memory").
   * SQLITE resolves to "sqlite" and MEMORY to "memory" only when listed here.
   */
  stores?: readonly string[];
}

const KEY_FOR_TYPE: Partial<Record<StoreType, string>> = { SQLITE: 'sqlite', MEMORY: 'memory' };

/**
 * The catalog view of embedded mode (no external service): SQLITE → "sqlite",
 * MEMORY → "memory"; CASSANDRA, ELASTICSEARCH, EVCACHE, POSTGRES and REDIS → the default
 * store, with a notice; any cluster name is unknown (embedded mode has no clusters) and is
 * reported as mapped to the default store.
 */
export function createEmbeddedStoreResolver(
  defaultStore = 'sqlite',
  options: EmbeddedStoreResolverOptions = {},
): StoreResolver {
  const available = new Set(options.stores ?? [defaultStore, 'memory']);
  available.add(defaultStore);
  const defaultType: StoreType = defaultStore === 'memory' ? 'MEMORY' : 'SQLITE';
  const defaultLabel = `${defaultStore === 'memory' ? 'MEMORY' : defaultStore === 'sqlite' ? 'SQLITE' : defaultStore} (embedded store)`;
  return {
    defaultType,
    resolve(type: StoreType, cluster: string): StoreResolution {
      const parts: string[] = [];
      let store = defaultStore;
      const own = KEY_FOR_TYPE[type];
      if (own !== undefined && available.has(own)) {
        store = own;
      } else if (type === 'POSTGRES' || type === 'REDIS' || own !== undefined) {
        parts.push(`type ${type} is not configured in embedded mode; mapped to ${defaultLabel}`);
      } else {
        parts.push(`type ${type} mapped to ${defaultLabel}`);
      }
      if (cluster !== '') parts.push(`cluster ${JSON.stringify(cluster)} is not configured, using the default store`);
      return parts.length === 0 ? { store } : { store, notice: parts.join('; ') };
    },
  };
}

/**
 * Cluster types that serve a role when a namespace names them. A CASSANDRA cluster serves
 * every role: its events and rollups are its own; its index (the default PostgreSQL) and
 * caches (Redis or in process) come from the catalog's providers (stores.ts), as a
 * POSTGRES cluster's caches do.
 */
const ROLE_TYPES: Record<StoreRole, readonly ClusterConfig['type'][]> = {
  events: ['POSTGRES', 'CASSANDRA'],
  index: ['POSTGRES', 'CASSANDRA'],
  rollups: ['POSTGRES', 'CASSANDRA'],
  cache: ['REDIS', 'POSTGRES', 'CASSANDRA'],
};

/** Whether asking for `type` and getting a `got` cluster is what was asked (no notice). */
function sameKind(type: StoreType, got: ClusterConfig['type'], role: StoreRole): boolean {
  if (type === got) return true;
  if (type === 'EVCACHE' && got === 'REDIS') return true;
  // The article's ELASTICSEARCH index on a named PostgreSQL cluster: PostgreSQL is dgw's index.
  return type === 'ELASTICSEARCH' && got === 'POSTGRES' && role === 'index';
}

/**
 * Resolution in server mode: a configured cluster whose type can serve the role is used
 * as named; CASSANDRA goes to the first CASSANDRA cluster when one is configured (and is
 * then the default type), else to the default PostgreSQL cluster with a notice (DESIGN
 * 3.1: the article's documents work as printed); ELASTICSEARCH maps to the default
 * PostgreSQL cluster, EVCACHE to the first Redis cluster (or the default store's in-process
 * cache); anything else maps to the default store with a notice saying so.
 */
export function createServerStoreResolver(clusters: readonly ClusterConfig[], defaultKey: string): StoreResolver {
  const firstRedis = clusters.find((c) => c.type === 'REDIS');
  const firstCassandra = clusters.find((c) => c.type === 'CASSANDRA');
  return {
    defaultType: firstCassandra ? 'CASSANDRA' : 'POSTGRES',
    resolve(type: StoreType, cluster: string, role: StoreRole, dataset?: string): StoreResolution {
      const notices: string[] = [];
      const named = cluster ? clusters.find((c) => c.name === cluster) : undefined;
      if (named && ROLE_TYPES[role].includes(named.type)) {
        if (!sameKind(type, named.type, role)) notices.push(`type ${type} differs from cluster "${cluster}" (${named.type}); using the cluster`);
        return placed(named, role, dataset, notices);
      }
      if (type === 'CASSANDRA' && firstCassandra) {
        if (cluster) notices.push(`cluster ${JSON.stringify(cluster)} is not configured for ${role}; using CASSANDRA cluster "${firstCassandra.name}"`);
        return placed(firstCassandra, role, dataset, notices);
      }
      if (cluster) notices.push(`cluster ${JSON.stringify(cluster)} is not configured for ${role}; using the default store`);
      let store = defaultKey;
      if (role === 'cache' && (type === 'REDIS' || type === 'EVCACHE') && firstRedis) {
        store = clusterKey(firstRedis);
        if (type === 'EVCACHE') notices.push(`type EVCACHE mapped to REDIS cluster "${firstRedis.name}"`);
      } else if (type === 'CASSANDRA') {
        notices.push(`type CASSANDRA is not configured on this server (--cassandra-contact-points); mapped to POSTGRES (${defaultKey})${role === 'cache' ? ' with in-process caches' : ''}`);
      } else if (type === 'ELASTICSEARCH' || type === 'EVCACHE') {
        notices.push(`type ${type} mapped to POSTGRES (${defaultKey})${role === 'cache' ? ' with in-process caches' : ''}`);
      } else if (type === 'REDIS' && role === 'cache') {
        notices.push('no REDIS cluster is configured; using in-process caches (per instance)');
      } else if (type !== 'POSTGRES') {
        notices.push(`type ${type} is not available in server mode for ${role}; mapped to POSTGRES (${defaultKey})`);
      }
      return notices.length ? { store, notice: notices.join('; ') } : { store };
    },
  };
}

/**
 * The resolution to cluster `c`: on a CASSANDRA cluster, events and rollups of a document
 * naming a `dataset` go to that dataset's keyspace (store `cassandra:<cluster>/<dataset>`)
 * when the cluster lists it, else to the cluster's keyspace with a notice saying so.
 */
function placed(c: ClusterConfig, role: StoreRole, dataset: string | undefined, notices: string[]): StoreResolution {
  let store = clusterKey(c);
  let datasetHandled = false;
  if (c.type === 'CASSANDRA' && dataset !== undefined && (role === 'events' || role === 'rollups')) {
    datasetHandled = true;
    const keyspaces = datasetKeyspaces(c);
    if (keyspaces.has(dataset)) store = datasetKey(c, dataset);
    else {
      const listed = [...keyspaces.keys()].map((d) => JSON.stringify(d)).join(', ') || 'none';
      notices.push(`dataset ${JSON.stringify(dataset)} is not configured on CASSANDRA cluster "${c.name}" (its datasets: ${listed}); stored in the cluster's keyspace ${c.keyspace ?? 'dgw'}`);
    }
  }
  return { store, ...(notices.length ? { notice: notices.join('; ') } : {}), ...(datasetHandled ? { datasetHandled } : {}) };
}
