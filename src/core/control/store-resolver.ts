/**
 * How the control plane resolves a document's `physical_storage` to a server store
 * (DESIGN 3.1). The parser only needs this small view; the server builds one from its
 * configured stores. Types the server does not have (the article's CASSANDRA,
 * ELASTICSEARCH, EVCACHE; POSTGRES or REDIS when not configured) map to the store it has,
 * and every such mapping is reported as a notice so the article's documents work as printed.
 */
import type { StoreType } from './types.js';

/** Every store type a document may name. */
export const STORE_TYPES: readonly StoreType[] = [
  'SQLITE',
  'POSTGRES',
  'REDIS',
  'MEMORY',
  'CASSANDRA',
  'ELASTICSEARCH',
  'EVCACHE',
];

/** What a physical storage is used for. */
export type StoreRole = 'events' | 'index' | 'rollups' | 'cache';

/** Result of resolving one `physical_storage`. */
export interface StoreResolution {
  /** Catalog key of the server store, e.g. "sqlite" or "postgres:main". */
  store: string;
  /** Set when the request was mapped to something else than asked (human text). */
  notice?: string;
}

/** The server's stores, as the control plane sees them. */
export interface StoreResolver {
  /** The store type assumed when a document has no `physical_storage.type`. */
  readonly defaultType: StoreType;
  /**
   * Resolves a requested type and cluster ("" when absent) for a role. Never throws for a
   * recognised type: what the server lacks maps to its default store, with a notice.
   */
  resolve(type: StoreType, cluster: string, role: StoreRole): StoreResolution;
}

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
