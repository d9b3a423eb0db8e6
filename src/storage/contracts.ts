/**
 * Storage contracts: what the abstractions need from a store, said in the domain's words.
 * Core depends on these interfaces only, never on an adapter. Every adapter is made by a
 * factory returning a {@link StoreSet} and must pass `runConformance` (conformance.ts).
 *
 * Conventions shared by every contract:
 * - Times are epoch microseconds (JS numbers). Intervals are start-inclusive, end-exclusive.
 * - Namespaces are plain strings (`^[A-Za-z0-9_.:-]{1,160}$`); adapters map them to safe
 *   physical names themselves.
 * - A resolved promise from a write means the write is durable for durable adapters
 *   (`capabilities.durable`).
 * - Adapters throw DgwError (UNAVAILABLE, DEADLINE_EXCEEDED, FAILED_PRECONDITION...) and
 *   translate native errors in exactly one place.
 */

// The domain's own types live in src/domain/ (shared by core and storage); they are
// re-exported here so an adapter finds its whole vocabulary in this one module.
import type { EventRecord, PartitionKey, SliceInfo, SliceStatus, EventWrite } from '../domain/events.js';
import type { PackedEvents, PackedSeriesEvents } from '../domain/packed-events.js';
import type { JoinedEventJson } from '../domain/event-json.js';
import type { IndexDoc, IndexedValue, SearchExpr } from '../domain/search.js';
import type { CounterWriteMark, RollupCheckpoint } from '../domain/counters.js';
import type { NamespaceKind, NamespaceRecord } from '../domain/namespaces.js';
export type { EventItem, EventRecord, PartitionKey, SliceStatus, SliceInfo, EventWrite } from '../domain/events.js';
export type { PackedEvents, PackedSeriesEvents } from '../domain/packed-events.js';
export type { JoinedEventJson } from '../domain/event-json.js';
export type { FieldType, IndexedValue, IndexField, IndexDoc, RangeBound, SearchExpr } from '../domain/search.js';
export type { RollupCheckpoint, CounterWriteMark } from '../domain/counters.js';
export type { NamespaceKind, NamespaceRecord } from '../domain/namespaces.js';
export type { RollupBus, RollupBusStats, RollupDelivery, RollupEvent, RollupOutcome } from './rollup-bus.js';

/** What an adapter can do; core checks these flags, never adapter names. */
export interface StoreCapabilities {
  /** Acknowledged writes survive a process crash. */
  readonly durable: boolean;
  /** Several dgw processes may share this store. */
  readonly shared: boolean;
  /** Native per-key expiry (used by the best-effort counter cache). */
  readonly ttl: boolean;
  /**
   * `appendEvents` can commit `indexDocs` into this set's own index store in the same
   * atomic commit as the events (issue 14 item 5: index and events always agree).
   */
  readonly atomicIndex?: boolean;
  /**
   * `appendEvents` can commit `outboxDocs` into this store's index outbox in the same
   * atomic commit as the events, and `readIndexOutbox` / `clearIndexOutbox` work
   * (storage/index-outbox.ts: an index in another store agrees with the events after a
   * crash, through a repair pass).
   */
  readonly indexOutbox?: boolean;
  /**
   * How many `appendEvents` group commits the server may run at once (default 1). A
   * single-writer store (SQLite) keeps 1: a second commit could only wait for the first.
   * A store that commits concurrent transactions in parallel and merges their log syncs
   * (PostgreSQL) takes more, so a batch does not wait for the previous commit's round trips.
   */
  readonly parallelCommits?: number;
}

// ---------------------------------------------------------------------------------------
// TimeSeries: events, partitions and slices (DESIGN 3.2)
// ---------------------------------------------------------------------------------------

/** Options of {@link EventStore.appendEvents}. */
export interface AppendOptions {
  /**
   * The index documents of (some of) the same events, committed in the same atomic commit
   * into this store set's own index store. Only for stores with `capabilities.atomicIndex`.
   */
  indexDocs?: readonly IndexDoc[];
  /**
   * Index documents for an index in another store, committed into this store's index
   * outbox in the same atomic commit as the events (an entry already there is kept). Only
   * for stores with `capabilities.indexOutbox`.
   */
  outboxDocs?: readonly IndexDoc[];
  /**
   * The commit must be done within this many microseconds or not at all: past it the store
   * cancels what runs, rolls back and rejects with DEADLINE_EXCEEDED, and never commits
   * later (a retry past the accept window would be refused as too old, issue 14 item 2).
   * Zero or less: nothing is attempted. Undefined: no bound.
   */
  timeoutMicros?: number;
}

/**
 * What {@link EventStore.appendEvents} may tell of the commit it made (issue 9). A store
 * that cannot tell returns nothing, which callers read as "unknown".
 */
export interface AppendResult {
  /**
   * True only when this call's commit stored every event item it was given, none of
   * them already there (no idempotent no-op among them). False or absent: unknown.
   */
  allNew?: boolean;
}

/** Where an event sits, to look it up or to resume a scan after it. */
export interface EventLocator {
  namespace: string;
  sliceId: number;
  partition: PartitionKey;
  eventTimeMicros: number;
  eventId: string;
}

/**
 * Position in newest-first order: events are ordered by eventTimeMicros descending, then
 * eventId ascending. "After" a position means strictly later in that order.
 */
export interface EventPosition {
  eventTimeMicros: number;
  eventId: string;
}

/** Scan one partition newest-first within `[fromMicros, toMicros)`. */
export interface PartitionScan {
  namespace: string;
  sliceId: number;
  partition: PartitionKey;
  fromMicros: number;
  toMicros: number;
  /** Resume strictly after this position (exclusive cursor). */
  after?: EventPosition;
  /** Maximum number of whole events to return (>= 1). */
  limit: number;
}

/**
 * Scan every event bucket `0 .. eventBuckets - 1` of one time bucket newest-first within
 * `[fromMicros, toMicros)`, merged into one stream ({@link EventStore.scanTimeBucket}).
 */
export interface TimeBucketScan {
  namespace: string;
  sliceId: number;
  timeSeriesId: string;
  timeBucket: number;
  /** The slice's event buckets (its `eventBuckets`). */
  eventBuckets: number;
  fromMicros: number;
  toMicros: number;
  /** Resume strictly after this position (exclusive cursor). */
  after?: EventPosition;
  /** Maximum number of whole events to return (>= 1). */
  limit: number;
}

/** The primary event store: a table per time slice plus a metadata table per namespace. */
export interface EventStore {
  /** Slice metadata rows of a namespace, ordered by start ascending (DROPPED ones included). */
  listSlices(namespace: string): Promise<SliceInfo[]>;
  /**
   * Creates the slice's table and metadata row. Idempotent: creating an existing slice is
   * a no-op that keeps the stored row. Creating a slice that overlaps a different existing
   * slice of the namespace is a FAILED_PRECONDITION.
   */
  createSlice(namespace: string, slice: SliceInfo): Promise<void>;
  /** Sets a slice's status. DROPPED drops the slice table (retention; no tombstones). */
  setSliceStatus(namespace: string, sliceId: number, status: SliceStatus): Promise<void>;
  /**
   * Appends events, possibly of several namespaces, atomically and durably (one commit:
   * this is what group commit batches into). Writing an item whose idempotency key
   * `(time_series_id, event_time, event_id, event_item_key)` exists is a no-op: first write
   * wins. Writing into a slice that does not exist or is DROPPED is FAILED_PRECONDITION.
   * See {@link AppendOptions} for index documents and the commit time bound.
   */
  appendEvents(writes: readonly EventWrite[], options?: AppendOptions): Promise<AppendResult | void>;
  /** For each locator, whether that event is stored (any of its items). */
  findEvents(locators: readonly EventLocator[]): Promise<boolean[]>;
  /** Whole events of one partition, newest first, at most `limit`. Missing or dropped slice: []. */
  scanPartition(scan: PartitionScan): Promise<EventRecord[]>;
  /**
   * Optional (issue 9): whole events of every event bucket of one time bucket, newest first,
   * at most `limit`: exactly the first `limit` events of the newest-first merge of
   * `scanPartition` over each event bucket with the same bounds and cursor. A store that
   * can merge in its own query implements it; the read path merges partitions itself
   * otherwise. Missing or dropped slice: [].
   */
  scanTimeBucket?(scan: TimeBucketScan): Promise<EventRecord[]>;
  /**
   * Optional (issue 9): exactly the events of {@link scanTimeBucket} in packed form
   * (domain/packed-events.ts), for a ReadEventRecords page written without per-event
   * objects. A store that has it has scanTimeBucket too.
   */
  scanTimeBucketPacked?(scan: TimeBucketScan): Promise<PackedEvents>;
  /**
   * Optional (issue 9): exactly the events of {@link scanTimeBucket}, each as its wire JSON
   * text (domain/event-json.ts `eventJson`), joined with commas, for a ReadEventRecords
   * page written with no work per event. A store that has it has scanTimeBucket too; the
   * read path prefers it to {@link scanTimeBucketPacked}.
   */
  scanTimeBucketJson?(scan: TimeBucketScan): Promise<JoinedEventJson>;
  /** Drops every slice table, the metadata and the index outbox entries of a namespace. */
  dropNamespace(namespace: string): Promise<void>;
  /** Up to `limit` index outbox entries of a namespace, oldest commit first where known (capability `indexOutbox`). */
  readIndexOutbox?(namespace: string, limit: number): Promise<IndexDoc[]>;
  /** Removes the outbox entries of these documents (delivered to the index); absent ones are ignored. */
  clearIndexOutbox?(docs: readonly IndexDoc[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// TimeSeries: index store (DESIGN 3.4)
// ---------------------------------------------------------------------------------------

/** Position in search order: eventTime descending, then timeSeriesId, then eventId ascending. */
export interface SearchPosition {
  eventTimeMicros: number;
  timeSeriesId: string;
  eventId: string;
}

/** A search over `[fromMicros, toMicros)` of one namespace. */
export interface IndexSearch {
  namespace: string;
  query: SearchExpr;
  fromMicros: number;
  toMicros: number;
  after?: SearchPosition;
  limit: number;
}

/** Distinct values of one field among the events matching a search. */
export interface IndexDistinct {
  namespace: string;
  key: string;
  query: SearchExpr;
  fromMicros: number;
  toMicros: number;
  /** Resume strictly after this canonical value text (values are ordered by their text). */
  afterValue?: string;
  limit: number;
}

/** One distinct value with the number of matching events having it. */
export interface DistinctValue {
  /** Canonical text of the typed value (see `canonicalIndexText` in core). */
  text: string;
  count: number;
}

/** The secondary index: eventually consistent search and aggregation. */
export interface IndexStore {
  /** Adds documents; re-indexing an already indexed event is a no-op (first write wins). */
  indexEvents(docs: readonly IndexDoc[]): Promise<void>;
  /** Matching events in search order, at most `limit`. */
  search(search: IndexSearch): Promise<EventRecord[]>;
  /**
   * Optional (issue 9): exactly the events of {@link search} in packed form
   * (domain/packed-events.ts), for a SearchEventRecords page written without per-event objects.
   */
  searchPacked?(search: IndexSearch): Promise<PackedSeriesEvents>;
  /**
   * Optional (issue 9), preferred over {@link searchPacked}: exactly the events of
   * {@link search}, each as its wire JSON text (domain/event-json.ts `eventJson`), joined
   * with commas, for a SearchEventRecords page that is that text (the SQLite index stores
   * the texts).
   */
  searchJson?(search: IndexSearch): Promise<JoinedEventJson>;
  /** Distinct values ordered by text ascending, at most `limit`. */
  distinct(distinct: IndexDistinct): Promise<DistinctValue[]>;
  /** Number of matching events. */
  count(search: Omit<IndexSearch, 'after' | 'limit'>): Promise<number>;
  /** Retention: removes documents whose event time is before `beforeMicros`. */
  dropBefore(namespace: string, beforeMicros: number): Promise<void>;
  /** Removes every document of a namespace. */
  dropNamespace(namespace: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Counter: rollup store, rollup cache, best-effort cache (DESIGN 4)
// ---------------------------------------------------------------------------------------

/** A counter's rollup row. */
export interface RollupRow {
  lastRollupCount: bigint;
  /** The checkpoint: events with eventTime <= this are included in lastRollupCount. */
  lastRollupTsMicros: number;
  /** Latest event time ever written for the counter (max, never decreases). */
  lastWriteTsMicros: number;
  /**
   * Earliest event time ever marked for the counter (min, never increases); 0 when
   * unknown (a row made by `advance`, or one older than schema v2). Core marks a write
   * before storing its event, so no stored event is older: the first rollup scans from
   * here, not from the epoch.
   */
  firstWriteTsMicros: number;
}

/**
 * A rollup row as a rollup reads it (issue 15): with the write hold left by
 * {@link RollupStore.claimWrites} and the store's own clock at the read.
 */
export interface RollupRead extends RollupRow {
  /** Earliest event time an active hold protects; meaningful while `holdUntilMicros > readAtMicros`. */
  holdTsMicros: number;
  /** Store time until which the hold protects `holdTsMicros` and later (0: never held). */
  holdUntilMicros: number;
  /** The store's clock when the row was read (a shared store's own clock, not the caller's). */
  readAtMicros: number;
}

/** One conditional checkpoint write of {@link RollupStore.advanceMany}. */
export interface RollupAdvance {
  namespace: string;
  counter: string;
  next: RollupCheckpoint;
  /**
   * `readAtMicros` of the {@link RollupRead} the rollup started from: the advance is then
   * also refused while a hold that was active at that read (or set since) protects an
   * event time at or before `next.rollupTsMicros`.
   */
  readAtMicros?: number;
  /**
   * `firstWriteTsMicros` of the {@link RollupRead} the rollup started from (issue 15): the
   * advance is refused when the row now has another one, i.e. it was dropped with its
   * namespace and made again since (another incarnation's row).
   */
  firstWriteTsMicros?: number;
}

/** Durable per-counter rollup state. */
export interface RollupStore {
  /**
   * `lastWriteTs = max(lastWriteTs, eventTime)` and `firstWriteTs = min(firstWriteTs,
   * eventTime)` (unless unknown) for each mark, in one durable commit.
   */
  recordWrites(marks: readonly CounterWriteMark[]): Promise<void>;
  /**
   * Conditional write marks (issue 15): each mark is recorded (as {@link recordWrites})
   * only if its event time is after the counter's checkpoint, and then holds the counter:
   * until the store's clock reaches `now + holdMicros`, no rollup that read the row
   * before then may advance the checkpoint to or past that time (`holdTs` is the earliest
   * held time while holds overlap). One flag per mark, in order: false when the
   * checkpoint was already at or past the mark's time (the write must not be stored).
   */
  claimWrites(marks: readonly CounterWriteMark[], holdMicros: number): Promise<boolean[]>;
  /** The row of a counter, or undefined when the counter was never written nor rolled up. */
  get(namespace: string, counter: string): Promise<RollupRow | undefined>;
  /**
   * {@link get} of many counters of one namespace, one entry per counter in order (a
   * counter listed twice gets its row twice); one read where the store can (issue 9: the
   * write-mark confirmations of a batch of adds on a shared store).
   */
  getMany(namespace: string, counters: readonly string[]): Promise<(RollupRow | undefined)[]>;
  /** The row with its hold and the store's clock, for a rollup (see {@link RollupAdvance.readAtMicros}). */
  readForRollup(namespace: string, counter: string): Promise<RollupRead | undefined>;
  /**
   * Conditional write: stores the checkpoint only if `next.rollupTsMicros` is greater than
   * the stored one (or no row exists), and, with `readAtMicros`, no hold active since that
   * read protects a time at or before it. Returns whether it was applied. Never moves back.
   * With `readAtMicros` (a rollup that read the row) a missing row is never made again
   * (its namespace was dropped meanwhile), and with `firstWriteTsMicros` the row must still
   * have that first write (see {@link RollupAdvance.firstWriteTsMicros}).
   */
  advance(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros?: number, firstWriteTsMicros?: number): Promise<boolean>;
  /**
   * {@link advance} for many counters in one durable commit (rollup batches share it);
   * one applied flag per item, in order. Items are applied in order, so a counter listed
   * twice sees its first item's effect.
   */
  advanceMany(items: readonly RollupAdvance[]): Promise<boolean[]>;
  /**
   * Counters of a namespace whose `lastWriteTs` is past their checkpoint (writes not yet
   * rolled up), at most `limit`, in an order fixed by the store (name ascending; Cassandra:
   * token order), resuming after `afterCounter` (the last name of the previous page; ""
   * starts). Paging until a short page visits every lagging counter once. The sweeper
   * pages through these (DESIGN 4.5).
   */
  laggingCounters(namespace: string, afterCounter: string, limit: number): Promise<string[]>;
  /** Removes every row of a namespace. */
  dropNamespace(namespace: string): Promise<void>;
}

/** Cache of rollup checkpoints; count and checkpoint are one value (never mismatched). */
export interface RollupCache {
  get(namespace: string, counter: string): Promise<RollupCheckpoint | undefined>;
  /**
   * Optional, for a cache in this process: what {@link get} would give, now, without a
   * promise (undefined on a miss). The value must not be changed. A cached GetCount then
   * answers without waiting a turn per layer (issue 9). Caches over a network leave it out;
   * the near cache the catalog puts in front of them has it (near-rollup-cache.ts).
   */
  peek?(namespace: string, counter: string): Readonly<RollupCheckpoint> | undefined;
  /** Stores the value unless the cached one has a later or equal checkpoint. */
  put(namespace: string, counter: string, value: RollupCheckpoint): Promise<void>;
  /** Forgets every cached value of a namespace (best effort). */
  dropNamespace(namespace: string): Promise<void>;
}

/** Best-effort counters (DESIGN 4.2): not idempotent, not durable. */
export interface CounterCache {
  /** Adds `delta` (may be negative) and sets the expiry when `ttlMicros` is given; returns the new value. */
  add(key: string, delta: bigint, ttlMicros?: number): Promise<bigint>;
  /** Current value, 0n when absent or expired. */
  get(key: string): Promise<bigint>;
  delete(key: string): Promise<void>;
  /** Deletes every key starting with `prefix` (a deleted namespace's counters). */
  deletePrefix(prefix: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Control plane: namespace registry
// ---------------------------------------------------------------------------------------

/** Durable registry of namespaces, shared by every instance using the store. */
export interface NamespaceRegistry {
  /** Creates or replaces; returns the stored record with its new version. */
  put(kind: NamespaceKind, name: string, config: Record<string, unknown>, nowMicros: number): Promise<NamespaceRecord>;
  get(kind: NamespaceKind, name: string): Promise<NamespaceRecord | undefined>;
  /** All namespaces of a kind, by name ascending. */
  list(kind: NamespaceKind): Promise<NamespaceRecord[]>;
  /** Returns whether something was deleted. */
  delete(kind: NamespaceKind, name: string): Promise<boolean>;
  /**
   * A server-wide setting every instance sharing this registry agrees on (e.g. the
   * page-token secret): stores `candidate` under `name` unless a value is already there,
   * and returns the stored value. Concurrent claims return the same value. Settings are
   * never listed as namespaces.
   */
  claimSetting(name: string, candidate: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------
// The store's own clock (issue 15)
// ---------------------------------------------------------------------------------------

/**
 * A shared store's own clock: the one clock every instance sharing the store can read, so
 * each instance measures its own clock against it (the offset, docs/counters.md "Clock
 * offset"). PostgreSQL: `clock_timestamp()`; Redis: `TIME`; Cassandra: the coordinator's
 * `now()`. A store only one process uses (embedded SQLite, memory) has none: the offset is 0.
 */
export interface StoreClock {
  /** The store's current time in epoch microseconds (its precision may be coarser: Cassandra's is 1 ms). */
  nowMicros(): Promise<number>;
}

// ---------------------------------------------------------------------------------------
// The bundle an adapter factory returns
// ---------------------------------------------------------------------------------------

/**
 * Everything one physical store provides. A factory (`createSqliteStores`,
 * `createMemoryStores`, ...) returns one; parts an adapter lacks are left undefined and
 * filled from another store by the server's store catalog.
 */
export interface StoreSet {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  readonly events?: EventStore;
  readonly index?: IndexStore;
  readonly rollups?: RollupStore;
  readonly rollupCache?: RollupCache;
  readonly counterCache?: CounterCache;
  readonly namespaces?: NamespaceRegistry;
  /** The store's own clock; present on stores several instances share (see {@link StoreClock}). */
  readonly clock?: StoreClock;
  /** Cheap liveness probe for /readyz; rejects when the store cannot serve. */
  ping(): Promise<void>;
  /** Releases connections and files; idempotent. */
  close(): Promise<void>;
}

/** The parts a store may provide (the optional members of {@link StoreSet}). */
export type StorePart = 'events' | 'index' | 'rollups' | 'rollupCache' | 'counterCache' | 'namespaces';

/**
 * The stores core may use, by catalog key (the key a namespace's `physical_storage`
 * resolved to). A part the keyed store lacks comes from the default store; the server
 * assembles the one implementation (`StoreCatalog`, storage/catalog.ts). Core sees this
 * contract and capability flags, never an adapter.
 */
export interface StoresByKey {
  /**
   * Whether events stored under `eventKey` and index documents under `indexKey` can commit
   * together (AppendOptions.indexDocs): one store set holds both and says it can.
   */
  indexesAtomically(eventKey: string, indexKey: string): boolean;
  /**
   * Capability flags of the store that answers `part` for `key` (its own, or the provider's
   * when it lacks that part). Core decides with these, never with adapter names.
   */
  capabilities(key: string, part: StorePart): StoreCapabilities;
  events(key: string): EventStore;
  index(key: string): IndexStore;
  rollups(key: string): RollupStore;
  /** The rollup cache of a key; its failures degrade to cache misses. */
  rollupCache(key: string): RollupCache;
  counterCache(key: string): CounterCache;
  /** The namespace registry: always the default store's. */
  namespaces(): NamespaceRegistry;
}
