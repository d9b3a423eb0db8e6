/**
 * The server's store catalog: the physical stores it has, by key ("sqlite", "memory",
 * "postgres:main", "redis:main" ...). A namespace's `physical_storage` resolves to one key
 * (control plane); core asks the catalog for the contract it needs from that key. A part a
 * store lacks (e.g. Redis has no event store) comes from the default store.
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
  StoreSet,
  StoresByKey,
} from './contracts.js';
import { optionalRollupCache, type CacheFailureCounter } from './optional-rollup-cache.js';

/** Stores by key, with per-part fallback to the default store. */
export class StoreCatalog implements StoresByKey {
  private readonly stores = new Map<string, StoreSet>();
  private readonly optionalCaches = new Map<RollupCache, RollupCache>();
  private cacheFailures: CacheFailureCounter | undefined;

  /** @param defaultKey key of the store that provides every part another store lacks. */
  constructor(
    readonly defaultKey: string,
    entries: Iterable<[string, StoreSet]>,
  ) {
    for (const [key, set] of entries) this.stores.set(key, set);
    if (!this.stores.has(defaultKey)) throw new DgwError('INTERNAL', `default store "${defaultKey}" is not in the catalog`);
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
  /** The rollup cache for a key; its failures degrade to cache misses (see optional-rollup-cache.ts). */
  rollupCache(key: string): RollupCache {
    const raw = this.part(key, 'rollupCache');
    let wrapped = this.optionalCaches.get(raw);
    if (!wrapped) {
      wrapped = optionalRollupCache(raw, this.cacheFailures);
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

  /** Capability flags of the store that answers `part` for `key`. */
  capabilities(key: string, part: 'events' | 'index' | 'rollups' | 'rollupCache' | 'counterCache' | 'namespaces'): StoreCapabilities {
    return (this.stores.get(key)?.[part] ? this.stores.get(key) : this.stores.get(this.defaultKey))!.capabilities;
  }

  /** The namespace registry: always the default store's. */
  namespaces(): NamespaceRegistry {
    return this.part(this.defaultKey, 'namespaces');
  }

  /** Pings every store; rejects with the first failure. */
  async ping(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.ping()));
  }

  /** Closes every store once. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.stores.values()].map((s) => s.close()));
  }

  private part<K extends 'events' | 'index' | 'rollups' | 'rollupCache' | 'counterCache' | 'namespaces'>(
    key: string,
    part: K,
  ): NonNullable<StoreSet[K]> {
    const own = this.stores.get(key)?.[part];
    if (own) return own as NonNullable<StoreSet[K]>;
    const fallback = this.stores.get(this.defaultKey)?.[part];
    if (fallback) return fallback as NonNullable<StoreSet[K]>;
    throw new DgwError('INTERNAL', `no store provides ${part} (asked for "${key}")`);
  }
}
