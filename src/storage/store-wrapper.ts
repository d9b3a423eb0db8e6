/**
 * The one wrapper every adapter's parts go through (STYLE: thin adapters). It holds what
 * every adapter shares: init run once before the first call, close run once and
 * idempotent, calls after close refused with UNAVAILABLE, and every failure handed to the
 * adapter's own error translator (`<adapter>/errors.ts`), so a caller only ever sees a
 * DgwError. One explicit class per contract: a method added to a contract fails to compile
 * here until it is wrapped, each method forwards its contract's whole parameter list
 * (`Parameters<...>`, so a new optional parameter cannot be dropped), and a reader can
 * follow each call.
 *
 * Readiness sees what writes see (issue 14): a store whose last durable write failed for
 * want of the store (UNAVAILABLE, RESOURCE_EXHAUSTED: disk full, read-only, refused) fails
 * `ping` until a write succeeds or {@link WRITE_FAILURE_MEMORY_MS} pass without another
 * failure (the probe alone can succeed in space a real batch cannot get). Caches are
 * optional and degrade on their own, so only events, index, rollups and the registry count.
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
  StoreSet,
} from './contracts.js';
import type { ErrorTranslator } from './native-errors.js';

/** The parts of a StoreSet an adapter provides. */
export interface StoreParts {
  events?: EventStore;
  index?: IndexStore;
  rollups?: RollupStore;
  rollupCache?: RollupCache;
  counterCache?: CounterCache;
  namespaces?: NamespaceRegistry;
  clock?: StoreClock;
}

/** What an adapter hands to {@link wrapStoreSet}. */
export interface StoreWrapperOptions {
  /** Store name, also the prefix of error messages (`sqlite.events.appendEvents: ...`). */
  name: string;
  capabilities: StoreCapabilities;
  parts: StoreParts;
  /** The adapter's one translation of native errors (its `errors.ts`). */
  translate: ErrorTranslator;
  /** Runs once, before the first call of any part (and before ping, unless `initOnPing` is false). */
  init?: () => Promise<void>;
  /**
   * False: ping does not run init (a Cassandra dataset's keyspace is made on first use,
   * not by a readiness probe; its ping asks the cluster). Default true.
   */
  initOnPing?: boolean;
  /** Liveness probe; defaults to resolving. */
  ping?: () => Promise<void>;
  /** Releases resources; run at most once however often close() is called. */
  close?: () => Promise<void>;
}

/** How long a failed write keeps a store "not ready" when no write follows. */
export const WRITE_FAILURE_MEMORY_MS = 30_000;

/** Lifecycle, error translation and write-failure memory shared by the wrapped parts of one store. */
class StoreGate {
  private initPromise: Promise<void> | undefined;
  private ready: boolean;
  closed = false;
  /** The last durable write's failure, when no write succeeded since. */
  writeFailure: { err: DgwError; at: number } | undefined;

  constructor(private readonly options: StoreWrapperOptions) {
    this.ready = options.init === undefined;
  }

  /** Runs one call of a part: after init, before close, failures translated. */
  async call<T>(where: string, work: () => Promise<T>): Promise<T> {
    if (!this.ready || this.closed) await this.open(where);
    try {
      return await work();
    } catch (err) {
      throw this.options.translate(err, `${this.options.name}.${where}`);
    }
  }

  /** True once init ran and until close: a synchronous part may be called. */
  get isOpen(): boolean {
    return this.ready && !this.closed;
  }

  /** A failure of `where` as the adapter translates it ({@link call} does this for each call). */
  translate(err: unknown, where: string): DgwError {
    return this.options.translate(err, `${this.options.name}.${where}`);
  }

  /** {@link call} for a write of a durable part: its outcome is remembered for readiness. */
  async write<T>(where: string, work: () => Promise<T>): Promise<T> {
    try {
      const result = await this.call(where, work);
      this.writeFailure = undefined;
      return result;
    } catch (err) {
      if (err instanceof DgwError && (err.code === 'UNAVAILABLE' || err.code === 'RESOURCE_EXHAUSTED')) {
        this.writeFailure = { err, at: Date.now() };
      }
      throw err;
    }
  }

  async open(where: string): Promise<void> {
    const name = this.options.name;
    if (this.closed) throw new DgwError('UNAVAILABLE', `${name}.${where}: store "${name}" is closed`);
    if (this.ready) return;
    this.initPromise ??= (async () => {
      try {
        await this.options.init?.();
        this.ready = true;
      } catch (err) {
        this.initPromise = undefined; // a failed init may be retried by the next call
        throw this.options.translate(err, `${name}.init`);
      }
    })();
    await this.initPromise;
  }
}

class WrappedEventStore implements EventStore {
  /** Present exactly when the adapter has it: the read path falls back to partition scans otherwise. */
  readonly scanTimeBucket?: EventStore['scanTimeBucket'];
  readonly scanTimeBucketPacked?: EventStore['scanTimeBucketPacked'];
  readonly scanTimeBucketJson?: EventStore['scanTimeBucketJson'];

  constructor(private readonly inner: EventStore, private readonly gate: StoreGate) {
    const scan = inner.scanTimeBucket?.bind(inner);
    if (scan) this.scanTimeBucket = (...args) => this.gate.call('events.scanTimeBucket', () => scan(...args));
    // The same store call as scanTimeBucket in error messages and metrics: the same query,
    // whichever form the rows come back in (the fast path and Fastify answer alike).
    const packed = inner.scanTimeBucketPacked?.bind(inner);
    if (packed) this.scanTimeBucketPacked = (...args) => this.gate.call('events.scanTimeBucket', () => packed(...args));
    const json = inner.scanTimeBucketJson?.bind(inner);
    if (json) this.scanTimeBucketJson = (...args) => this.gate.call('events.scanTimeBucket', () => json(...args));
  }
  listSlices(...args: Parameters<EventStore['listSlices']>): ReturnType<EventStore['listSlices']> {
    return this.gate.call('events.listSlices', () => this.inner.listSlices(...args));
  }
  createSlice(...args: Parameters<EventStore['createSlice']>): ReturnType<EventStore['createSlice']> {
    return this.gate.write('events.createSlice', () => this.inner.createSlice(...args));
  }
  setSliceStatus(...args: Parameters<EventStore['setSliceStatus']>): ReturnType<EventStore['setSliceStatus']> {
    return this.gate.write('events.setSliceStatus', () => this.inner.setSliceStatus(...args));
  }
  appendEvents(...args: Parameters<EventStore['appendEvents']>): ReturnType<EventStore['appendEvents']> {
    return this.gate.write('events.appendEvents', () => this.inner.appendEvents(...args));
  }
  findEvents(...args: Parameters<EventStore['findEvents']>): ReturnType<EventStore['findEvents']> {
    return this.gate.call('events.findEvents', () => this.inner.findEvents(...args));
  }
  scanPartition(...args: Parameters<EventStore['scanPartition']>): ReturnType<EventStore['scanPartition']> {
    return this.gate.call('events.scanPartition', () => this.inner.scanPartition(...args));
  }
  dropNamespace(...args: Parameters<EventStore['dropNamespace']>): ReturnType<EventStore['dropNamespace']> {
    return this.gate.write('events.dropNamespace', () => this.inner.dropNamespace(...args));
  }
  readIndexOutbox(...args: Parameters<NonNullable<EventStore['readIndexOutbox']>>): ReturnType<NonNullable<EventStore['readIndexOutbox']>> {
    const read = this.inner.readIndexOutbox?.bind(this.inner);
    if (!read) return Promise.reject(new DgwError('FAILED_PRECONDITION', 'this event store keeps no index outbox'));
    return this.gate.call('events.readIndexOutbox', () => read(...args));
  }
  clearIndexOutbox(...args: Parameters<NonNullable<EventStore['clearIndexOutbox']>>): ReturnType<NonNullable<EventStore['clearIndexOutbox']>> {
    const clear = this.inner.clearIndexOutbox?.bind(this.inner);
    if (!clear) return Promise.reject(new DgwError('FAILED_PRECONDITION', 'this event store keeps no index outbox'));
    return this.gate.write('events.clearIndexOutbox', () => clear(...args));
  }
}

class WrappedIndexStore implements IndexStore {
  /** Present exactly when the adapter has it: the search path writes objects otherwise. */
  readonly searchPacked?: IndexStore['searchPacked'];
  readonly searchJson?: IndexStore['searchJson'];

  constructor(private readonly inner: IndexStore, private readonly gate: StoreGate) {
    const packed = inner.searchPacked?.bind(inner);
    // The same store call as search in error messages and metrics (the fast path and Fastify answer alike).
    if (packed) this.searchPacked = (...args) => this.gate.call('index.search', () => packed(...args));
    const json = inner.searchJson?.bind(inner);
    if (json) this.searchJson = (...args) => this.gate.call('index.search', () => json(...args));
  }
  indexEvents(...args: Parameters<IndexStore['indexEvents']>): ReturnType<IndexStore['indexEvents']> {
    return this.gate.write('index.indexEvents', () => this.inner.indexEvents(...args));
  }
  search(...args: Parameters<IndexStore['search']>): ReturnType<IndexStore['search']> {
    return this.gate.call('index.search', () => this.inner.search(...args));
  }
  distinct(...args: Parameters<IndexStore['distinct']>): ReturnType<IndexStore['distinct']> {
    return this.gate.call('index.distinct', () => this.inner.distinct(...args));
  }
  count(...args: Parameters<IndexStore['count']>): ReturnType<IndexStore['count']> {
    return this.gate.call('index.count', () => this.inner.count(...args));
  }
  dropBefore(...args: Parameters<IndexStore['dropBefore']>): ReturnType<IndexStore['dropBefore']> {
    return this.gate.write('index.dropBefore', () => this.inner.dropBefore(...args));
  }
  dropNamespace(...args: Parameters<IndexStore['dropNamespace']>): ReturnType<IndexStore['dropNamespace']> {
    return this.gate.write('index.dropNamespace', () => this.inner.dropNamespace(...args));
  }
}

class WrappedRollupStore implements RollupStore {
  constructor(private readonly inner: RollupStore, private readonly gate: StoreGate) {}
  recordWrites(...args: Parameters<RollupStore['recordWrites']>): ReturnType<RollupStore['recordWrites']> {
    return this.gate.write('rollups.recordWrites', () => this.inner.recordWrites(...args));
  }
  get(...args: Parameters<RollupStore['get']>): ReturnType<RollupStore['get']> {
    return this.gate.call('rollups.get', () => this.inner.get(...args));
  }
  getMany(...args: Parameters<RollupStore['getMany']>): ReturnType<RollupStore['getMany']> {
    return this.gate.call('rollups.getMany', () => this.inner.getMany(...args));
  }
  advance(...args: Parameters<RollupStore['advance']>): ReturnType<RollupStore['advance']> {
    return this.gate.write('rollups.advance', () => this.inner.advance(...args));
  }
  advanceMany(...args: Parameters<RollupStore['advanceMany']>): ReturnType<RollupStore['advanceMany']> {
    return this.gate.write('rollups.advanceMany', () => this.inner.advanceMany(...args));
  }
  claimWrites(...args: Parameters<RollupStore['claimWrites']>): ReturnType<RollupStore['claimWrites']> {
    return this.gate.write('rollups.claimWrites', () => this.inner.claimWrites(...args));
  }
  readForRollup(...args: Parameters<RollupStore['readForRollup']>): ReturnType<RollupStore['readForRollup']> {
    return this.gate.call('rollups.readForRollup', () => this.inner.readForRollup(...args));
  }
  laggingCounters(...args: Parameters<RollupStore['laggingCounters']>): ReturnType<RollupStore['laggingCounters']> {
    return this.gate.call('rollups.laggingCounters', () => this.inner.laggingCounters(...args));
  }
  dropNamespace(...args: Parameters<RollupStore['dropNamespace']>): ReturnType<RollupStore['dropNamespace']> {
    return this.gate.write('rollups.dropNamespace', () => this.inner.dropNamespace(...args));
  }
}

class WrappedRollupCache implements RollupCache {
  /** Present exactly when the adapter has it; a miss (undefined) until the store is open, or once closed. */
  readonly peek?: RollupCache['peek'];

  constructor(private readonly inner: RollupCache, private readonly gate: StoreGate) {
    const peek = inner.peek?.bind(inner);
    if (peek) {
      this.peek = (namespace, counter) => {
        if (!this.gate.isOpen) return undefined;
        try {
          return peek(namespace, counter);
        } catch (err) {
          throw this.gate.translate(err, 'rollupCache.peek');
        }
      };
    }
  }
  get(...args: Parameters<RollupCache['get']>): ReturnType<RollupCache['get']> {
    return this.gate.call('rollupCache.get', () => this.inner.get(...args));
  }
  put(...args: Parameters<RollupCache['put']>): ReturnType<RollupCache['put']> {
    return this.gate.call('rollupCache.put', () => this.inner.put(...args));
  }
  dropNamespace(...args: Parameters<RollupCache['dropNamespace']>): ReturnType<RollupCache['dropNamespace']> {
    return this.gate.call('rollupCache.dropNamespace', () => this.inner.dropNamespace(...args));
  }
}

class WrappedCounterCache implements CounterCache {
  constructor(private readonly inner: CounterCache, private readonly gate: StoreGate) {}
  add(...args: Parameters<CounterCache['add']>): ReturnType<CounterCache['add']> {
    return this.gate.call('counterCache.add', () => this.inner.add(...args));
  }
  get(...args: Parameters<CounterCache['get']>): ReturnType<CounterCache['get']> {
    return this.gate.call('counterCache.get', () => this.inner.get(...args));
  }
  delete(...args: Parameters<CounterCache['delete']>): ReturnType<CounterCache['delete']> {
    return this.gate.call('counterCache.delete', () => this.inner.delete(...args));
  }
  deletePrefix(...args: Parameters<CounterCache['deletePrefix']>): ReturnType<CounterCache['deletePrefix']> {
    return this.gate.call('counterCache.deletePrefix', () => this.inner.deletePrefix(...args));
  }
}

class WrappedNamespaceRegistry implements NamespaceRegistry {
  constructor(private readonly inner: NamespaceRegistry, private readonly gate: StoreGate) {}
  put(...args: Parameters<NamespaceRegistry['put']>): ReturnType<NamespaceRegistry['put']> {
    return this.gate.write('namespaces.put', () => this.inner.put(...args));
  }
  get(...args: Parameters<NamespaceRegistry['get']>): ReturnType<NamespaceRegistry['get']> {
    return this.gate.call('namespaces.get', () => this.inner.get(...args));
  }
  list(...args: Parameters<NamespaceRegistry['list']>): ReturnType<NamespaceRegistry['list']> {
    return this.gate.call('namespaces.list', () => this.inner.list(...args));
  }
  delete(...args: Parameters<NamespaceRegistry['delete']>): ReturnType<NamespaceRegistry['delete']> {
    return this.gate.write('namespaces.delete', () => this.inner.delete(...args));
  }
  claimSetting(name: string, candidate: string): Promise<string> {
    return this.gate.write('namespaces.claimSetting', () => this.inner.claimSetting(name, candidate));
  }
}

class WrappedStoreClock implements StoreClock {
  constructor(private readonly inner: StoreClock, private readonly gate: StoreGate) {}
  nowMicros(): Promise<number> {
    return this.gate.call('clock.nowMicros', () => this.inner.nowMicros());
  }
}

/**
 * Wraps an adapter's parts into a StoreSet with the shared behaviour: every call waits for
 * init, fails with UNAVAILABLE after close, and rejects only with a DgwError made by the
 * adapter's translator.
 */
export function wrapStoreSet(options: StoreWrapperOptions): StoreSet {
  const gate = new StoreGate(options);
  const { parts, name, translate } = options;
  let closePromise: Promise<void> | undefined;
  return {
    name,
    capabilities: options.capabilities,
    ...(parts.events ? { events: new WrappedEventStore(parts.events, gate) } : {}),
    ...(parts.index ? { index: new WrappedIndexStore(parts.index, gate) } : {}),
    ...(parts.rollups ? { rollups: new WrappedRollupStore(parts.rollups, gate) } : {}),
    ...(parts.rollupCache ? { rollupCache: new WrappedRollupCache(parts.rollupCache, gate) } : {}),
    ...(parts.counterCache ? { counterCache: new WrappedCounterCache(parts.counterCache, gate) } : {}),
    ...(parts.namespaces ? { namespaces: new WrappedNamespaceRegistry(parts.namespaces, gate) } : {}),
    ...(parts.clock ? { clock: new WrappedStoreClock(parts.clock, gate) } : {}),
    async ping() {
      if (options.initOnPing !== false) await gate.open('ping');
      else if (gate.closed) throw new DgwError('UNAVAILABLE', `${name}.ping: store "${name}" is closed`);
      try {
        await options.ping?.();
      } catch (err) {
        throw translate(err, `${name}.ping`);
      }
      const failure = gate.writeFailure;
      if (failure && Date.now() - failure.at < WRITE_FAILURE_MEMORY_MS) {
        throw new DgwError('UNAVAILABLE', `${name}: the last write failed (${failure.err.message}) and none succeeded since`, { cause: failure.err });
      }
    },
    close() {
      if (!closePromise) {
        gate.closed = true;
        closePromise = (async () => {
          try {
            await options.close?.();
          } catch (err) {
            throw translate(err, `${name}.close`);
          }
        })();
      }
      return closePromise;
    },
  };
}
