/**
 * The server's store catalog: the physical stores it has, by key ("sqlite", "memory",
 * "postgres:main", "redis:main" ...). A namespace's `physical_storage` resolves to one key
 * (control plane); core asks the catalog for the contract it needs from that key. A part a
 * store lacks (e.g. Redis has no event store) comes from the store the assembly named as
 * that part's provider (src/server/stores.ts), else from the default store: the one
 * fallback rule.
 */
import { DgwError } from '../kernel/errors.js';
import type {
  CounterCache,
  EventStore,
  IndexStore,
  NamespaceRegistry,
  RollupCache,
  RollupStore,
  StoreCapabilities,
  StoreClock,
  StorePart,
  StoreSet,
  StoresByKey,
} from './contracts.js';
import { nearRollupCache, NEAR_CACHE_MS } from './near-rollup-cache.js';
import { optionalRollupCache, type CacheFailureCounter } from './optional-rollup-cache.js';

/** Options of a {@link StoreCatalog}. */
export interface StoreCatalogOptions {
  /**
   * How long an instance reuses a checkpoint of a shared rollup cache (near-rollup-cache.ts);
   * 0: every read asks the shared cache. Default {@link NEAR_CACHE_MS}.
   */
  nearCacheMs?: number;
}

/** Stores by key, with per-part fallback to the part's provider (default: the default store). */
export class StoreCatalog implements StoresByKey {
  private readonly stores = new Map<string, StoreSet>();
  private readonly optionalCaches = new Map<RollupCache, RollupCache>();
  private cacheFailures: CacheFailureCounter | undefined;

  /**
   * @param defaultKey key of the store that provides every part another store lacks.
   * @param providers per part, the key of the store providing it to stores that lack it
   *   (e.g. the caches from Redis when PostgreSQL is the default store).
   */
  constructor(
    readonly defaultKey: string,
    entries: Iterable<[string, StoreSet]>,
    private readonly providers: Partial<Record<StorePart, string>> = {},
    private readonly options: StoreCatalogOptions = {},
  ) {
    for (const [key, set] of entries) this.stores.set(key, set);
    for (const key of [defaultKey, ...Object.values(providers)]) {
      if (!this.stores.has(key)) throw new DgwError('INTERNAL', `store "${key}" is not in the catalog`);
    }
  }

  /** Every store key, default first. */
  keys(): string[] {
    return [this.defaultKey, ...[...this.stores.keys()].filter((k) => k !== this.defaultKey)];
  }

  /** Whether a key names a store of this catalog. */
  has(key: string): boolean {
    return this.stores.has(key);
  }

  /** The store set of a key (INTERNAL when unknown). */
  get(key: string): StoreSet {
    const set = this.stores.get(key);
    if (!set) throw new DgwError('INTERNAL', `store "${key}" is not configured on this server`);
    return set;
  }

  events(key: string): EventStore {
    return this.part(key, 'events');
  }
  index(key: string): IndexStore {
    return this.part(key, 'index');
  }
  rollups(key: string): RollupStore {
    return this.part(key, 'rollups');
  }
  /**
   * The rollup cache for a key; its failures degrade to cache misses (see
   * optional-rollup-cache.ts). A shared one (Redis) has a near cache in front of it
   * (near-rollup-cache.ts), made with the wrapper (again after setCacheFailureCounter).
   */
  rollupCache(key: string): RollupCache {
    const raw = this.part(key, 'rollupCache');
    let wrapped = this.optionalCaches.get(raw);
    if (!wrapped) {
      wrapped = optionalRollupCache(raw, this.cacheFailures);
      const nearMs = this.options.nearCacheMs ?? NEAR_CACHE_MS;
      if (nearMs > 0 && this.capabilities(key, 'rollupCache').shared) wrapped = nearRollupCache(wrapped, { ttlMs: nearMs });
      this.optionalCaches.set(raw, wrapped);
    }
    return wrapped;
  }

  /** Counts rollup-cache calls that failed and were degraded (set by the server for metrics). */
  setCacheFailureCounter(counter: CacheFailureCounter): void {
    this.cacheFailures = counter;
    this.optionalCaches.clear();
  }
  counterCache(key: string): CounterCache {
    return this.part(key, 'counterCache');
  }
  /**
   * Whether events stored under `eventKey` and index documents under `indexKey` can commit
   * together (AppendOptions.indexDocs): one store set holds both and says it can.
   */
  indexesAtomically(eventKey: string, indexKey: string): boolean {
    if (eventKey !== indexKey) return false;
    const set = this.stores.get(eventKey);
    return set?.capabilities.atomicIndex === true && set.events !== undefined && set.index !== undefined;
  }

  /** The namespace registry: always the default store's (or its provider's). */
  namespaces(): NamespaceRegistry {
    return this.part(this.defaultKey, 'namespaces');
  }

  /** Capability flags of the store that answers `part` for `key`. */
  capabilities(key: string, part: StorePart): StoreCapabilities {
    return this.provider(key, part).capabilities;
  }

  /** Pings every store; rejects with the first failure. */
  async ping(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.ping()));
  }

  /** Closes every store once. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.stores.values()].map((s) => s.close()));
  }

  /** Stores with a clock of their own (shared stores), by key: what the clock-offset monitor measures. */
  clocks(): [string, StoreClock][] {
    return [...this.stores.entries()].flatMap(([key, set]): [string, StoreClock][] => (set.clock ? [[key, set.clock]] : []));
  }

  /** The key of the store that answers `part` for `key` (its own, or its provider's). */
  providerKey(key: string, part: StorePart): string {
    if (this.stores.get(key)?.[part]) return key;
    return this.providers[part] ?? this.defaultKey;
  }

  private provider(key: string, part: StorePart): StoreSet {
    const own = this.stores.get(key);
    if (own?.[part]) return own;
    const fallback = this.stores.get(this.providers[part] ?? this.defaultKey);
    if (fallback?.[part]) return fallback;
    throw new DgwError('INTERNAL', `no store provides ${part} (asked for "${key}")`);
  }

  private part<K extends StorePart>(key: string, part: K): NonNullable<StoreSet[K]> {
    return this.provider(key, part)[part] as NonNullable<StoreSet[K]>;
  }
}
