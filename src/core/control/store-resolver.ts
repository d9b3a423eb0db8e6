/**
 * How the control plane resolves a document's `physical_storage` to a server store
 * (DESIGN 3.1). The parser only needs this small view; the server builds one from its
 * configured stores (src/server/store-resolvers.ts), so no adapter name appears in core. Types the server does not have (the article's CASSANDRA,
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
  /**
   * True when the resolution acted on the `dataset` it was given (placed the storage in
   * the dataset's keyspace, or said in `notice` why not); otherwise a given dataset has
   * no effect and the parser says so.
   */
  datasetHandled?: boolean;
}

/** The server's stores, as the control plane sees them. */
export interface StoreResolver {
  /** The store type assumed when a document has no `physical_storage.type`. */
  readonly defaultType: StoreType;
  /**
   * Resolves a requested type and cluster ("" when absent) for a role, and the document's
   * `dataset` when it gives one. Never throws for a recognised type: what the server lacks
   * maps to its default store, with a notice.
   */
  resolve(type: StoreType, cluster: string, role: StoreRole, dataset?: string): StoreResolution;
}
