/**
 * The control plane's front door: create, replace, read, list and delete namespaces of
 * both kinds over a shared {@link NamespaceRegistry}, with an in-memory cache of the
 * canonical configurations.
 *
 * Multi-instance visibility: each instance re-reads a cached configuration from the
 * registry once it is older than `cacheTtlMicros` (default 2 s). A change made through
 * one instance is therefore seen by every other instance sharing the registry within that
 * delay; the instance that made it sees it at once.
 */
import type { Clock } from '../../kernel/clock.js';
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { DgwError, invalidArgument, notFound } from '../../kernel/errors.js';
import type { NamespaceKind, NamespaceRecord } from '../../domain/namespaces.js';
import type { NamespaceRegistry } from '../../storage/contracts.js';
import { findTooDeep } from '../nesting.js';
import { parseCounterNamespace } from './counter-doc.js';
import { parseNamespaceBody } from './lenient-json.js';
import { validateNamespaceName } from './namespace-name.js';
import type { StoreResolver } from './store-resolver.js';
import { parseStoredConfig } from './stored-config.js';
import { parseTimeSeriesNamespace } from './timeseries-doc.js';
import type { CounterConfig, NamespaceConfig, ParsedNamespace, TimeSeriesConfig } from './types.js';

/** Called before a namespace is removed from the registry, to drop its data. */
export type NamespaceDeleteHook = (config: NamespaceConfig) => Promise<void>;

/** Options of {@link NamespaceManager}. */
export interface NamespaceManagerOptions {
  registry: NamespaceRegistry;
  catalog: StoreResolver;
  clock: Clock;
  /** How long a cached configuration is served before re-reading the registry; default 2 s. */
  cacheTtlMicros?: number;
  /** Drops a namespace's data on delete (may also be set later with `setOnDelete`). */
  onDelete?: NamespaceDeleteHook;
}

/** Result of creating or replacing a namespace. */
export interface PutNamespaceResult<C extends NamespaceConfig> {
  record: NamespaceRecord;
  config: C;
  /** Mappings and ignored settings, for the response's `notices`. */
  notices: string[];
  /** True when the namespace did not exist before. */
  created: boolean;
}

/** Default refresh delay of cached configurations (2 s). */
export const DEFAULT_NAMESPACE_CACHE_TTL_MICROS = 2 * MICROS_PER_SECOND;

interface CacheEntry {
  config: NamespaceConfig;
  fetchedAtMicros: number;
}

type ConfigOf<K extends NamespaceKind> = K extends 'timeseries' ? TimeSeriesConfig : CounterConfig;

/**
 * Namespaces of both kinds. A name belongs to at most one kind: creating a counter
 * namespace named like an existing TimeSeries namespace (or the reverse) is
 * FAILED_PRECONDITION. The cache holds only namespaces found in the registry, so it is
 * bounded by the registry's size.
 */
export class NamespaceManager {
  private readonly registry: NamespaceRegistry;
  private readonly catalog: StoreResolver;
  private readonly clock: Clock;
  private readonly ttl: number;
  private onDelete: NamespaceDeleteHook | undefined;
  /** By kind, then name: the hot path looks a name up without building a key string (issue 9). */
  private readonly cache: Readonly<Record<NamespaceKind, Map<string, CacheEntry>>> = { timeseries: new Map(), counter: new Map() };
  private readonly inflight = new Map<string, Promise<NamespaceConfig | undefined>>();

  constructor(options: NamespaceManagerOptions) {
    this.registry = options.registry;
    this.catalog = options.catalog;
    this.clock = options.clock;
    this.ttl = options.cacheTtlMicros ?? DEFAULT_NAMESPACE_CACHE_TTL_MICROS;
    this.onDelete = options.onDelete;
  }

  /** Sets the hook that drops a namespace's data on delete. */
  setOnDelete(hook: NamespaceDeleteHook | undefined): void {
    this.onDelete = hook;
  }

  /**
   * Creates or replaces a TimeSeries namespace. `body` is the request body text (read
   * leniently, see `parseNamespaceBody`) or an already parsed document.
   */
  async putTimeSeries(name: string, body: unknown): Promise<PutNamespaceResult<TimeSeriesConfig>> {
    validateNamespaceName(name);
    const parsed = parseTimeSeriesNamespace(name, readBody(body), this.catalog);
    return this.store('timeseries', name, parsed);
  }

  /** Creates or replaces a Counter namespace; `body` as for {@link putTimeSeries}. */
  async putCounter(name: string, body: unknown): Promise<PutNamespaceResult<CounterConfig>> {
    validateNamespaceName(name);
    const parsed = parseCounterNamespace(name, readBody(body), this.catalog);
    return this.store('counter', name, parsed);
  }

  /** The canonical configuration of a TimeSeries namespace; NOT_FOUND or FAILED_PRECONDITION (other kind). */
  getTimeSeries(name: string): Promise<TimeSeriesConfig> {
    return this.getKind('timeseries', name);
  }

  /** The canonical configuration of a Counter namespace; NOT_FOUND or FAILED_PRECONDITION (other kind). */
  getCounter(name: string): Promise<CounterConfig> {
    return this.getKind('counter', name);
  }

  /**
   * The Counter namespace's configuration if a fresh one is cached (what {@link getCounter}
   * would resolve with, without a promise), else `undefined`: then call getCounter.
   */
  cachedCounter(name: string): CounterConfig | undefined {
    return this.fresh('counter', name) as CounterConfig | undefined;
  }

  /** Every namespace of a kind, by name ascending, read from the registry (not cached). */
  async list(kind: NamespaceKind): Promise<NamespaceRecord[]> {
    return this.registry.list(kind);
  }

  /**
   * Deletes a namespace: runs the `onDelete` hook (dropping its data) first, then removes
   * it from the registry, so a failed drop leaves the namespace in place to retry.
   */
  async delete(kind: NamespaceKind, name: string): Promise<void> {
    validateNamespaceName(name);
    const record = await this.registry.get(kind, name);
    if (record === undefined) throw await this.missing(kind, name);
    const config = decode(kind, record);
    if (this.onDelete !== undefined) await this.onDelete(config);
    await this.registry.delete(kind, name);
    this.cache[kind].delete(name);
  }

  /** Forgets cached configurations (all, or one namespace), forcing a registry read. */
  invalidate(kind?: NamespaceKind, name?: string): void {
    if (kind !== undefined && name !== undefined) this.cache[kind].delete(name);
    else for (const byName of Object.values(this.cache)) byName.clear();
  }

  private async store<K extends NamespaceKind>(kind: K, name: string, parsed: ParsedNamespace<ConfigOf<K>>): Promise<PutNamespaceResult<ConfigOf<K>>> {
    const other = otherKind(kind);
    if ((await this.registry.get(other, name)) !== undefined) throw wrongKind(name, other, kind);
    const existing = await this.registry.get(kind, name);
    const record = await this.registry.put(kind, name, toRecordConfig(parsed.config), this.clock.nowMicros());
    const config = withIncarnation(parsed.config, record) as ConfigOf<K>;
    this.cache[kind].set(name, { config, fetchedAtMicros: this.clock.nowMicros() });
    return { record, config, notices: parsed.notices, created: existing === undefined };
  }

  private getKind<K extends NamespaceKind>(kind: K, name: string): Promise<ConfigOf<K>> {
    // The hot path (every data call): a fresh cached entry. Only valid names are cached
    // (put and the registry read below validate first), so it needs no name check.
    const hit = this.fresh(kind, name);
    return hit !== undefined ? Promise.resolve(hit as ConfigOf<K>) : this.readKind(kind, name);
  }

  private async readKind<K extends NamespaceKind>(kind: K, name: string): Promise<ConfigOf<K>> {
    validateNamespaceName(name);
    const config = await this.load(kind, name);
    if (config === undefined) throw await this.missing(kind, name);
    return config as ConfigOf<K>;
  }

  /** The cached configuration of a namespace while younger than the TTL. */
  private fresh(kind: NamespaceKind, name: string): NamespaceConfig | undefined {
    const hit = this.cache[kind].get(name);
    return hit !== undefined && this.clock.nowMicros() - hit.fetchedAtMicros < this.ttl ? hit.config : undefined;
  }

  /** Cached configuration, re-read from the registry once older than the TTL. */
  private load(kind: NamespaceKind, name: string): Promise<NamespaceConfig | undefined> {
    const key = cacheKey(kind, name);
    const fresh = this.fresh(kind, name);
    if (fresh !== undefined) return Promise.resolve(fresh);
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    // One registry read per namespace at a time, however many requests are waiting.
    const read = this.refresh(kind, name, this.cache[kind].get(name)).finally(() => this.inflight.delete(key));
    this.inflight.set(key, read);
    return read;
  }

  private async refresh(kind: NamespaceKind, name: string, stale: CacheEntry | undefined): Promise<NamespaceConfig | undefined> {
    const byName = this.cache[kind];
    const startedAt = this.clock.nowMicros();
    let record: NamespaceRecord | undefined;
    try {
      record = await this.registry.get(kind, name);
    } catch (err) {
      // The registry is unreachable: keep serving what we had rather than failing traffic.
      if (stale !== undefined) return stale.config;
      throw err;
    }
    const current = byName.get(name);
    // A put on this instance landed while we were reading: its entry is newer than our read.
    if (current !== undefined && current !== stale) return current.config;
    if (record === undefined) {
      byName.delete(name);
      return undefined;
    }
    const config = decode(kind, record);
    byName.set(name, { config, fetchedAtMicros: startedAt });
    return config;
  }

  private async missing(kind: NamespaceKind, name: string): Promise<DgwError> {
    const other = otherKind(kind);
    if ((await this.registry.get(other, name)) !== undefined) return wrongKind(name, other, kind);
    return notFound(`namespace ${JSON.stringify(name)} not found`);
  }
}

/** Deepest nesting of a namespace document (the article's documents nest 6 levels). */
export const MAX_DOCUMENT_DEPTH = 32;

function readBody(body: unknown): unknown {
  const doc = typeof body === 'string' ? parseNamespaceBody(body) : body;
  // The document readers recurse; a hostile document must not reach them (stack overflow).
  const tooDeep = findTooDeep(doc, MAX_DOCUMENT_DEPTH);
  if (tooDeep !== undefined) throw invalidArgument(tooDeep || 'body', `nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  return doc;
}

function cacheKey(kind: NamespaceKind, name: string): string {
  return `${kind}/${name}`;
}

function otherKind(kind: NamespaceKind): NamespaceKind {
  return kind === 'timeseries' ? 'counter' : 'timeseries';
}

function wrongKind(name: string, actual: NamespaceKind, wanted: NamespaceKind): DgwError {
  return new DgwError('FAILED_PRECONDITION', `namespace ${JSON.stringify(name)} is a ${actual} namespace, not a ${wanted} namespace`, {
    details: [{ field: 'namespace', reason: `exists as a ${actual} namespace` }],
  });
}

function toRecordConfig(config: NamespaceConfig): Record<string, unknown> {
  return config as unknown as Record<string, unknown>;
}

/** The stored canonical config, parsed with its schema (stored-config.ts). */
function decode(kind: NamespaceKind, record: NamespaceRecord): NamespaceConfig {
  return withIncarnation(parseStoredConfig(kind, record), record);
}

/**
 * A counter configuration stamped with the stored version it came from (see
 * `CounterConfig.incarnation`): a re-created namespace starts again at version 1 but with a
 * new update time, so the pair differs from every earlier incarnation's.
 */
function withIncarnation(config: NamespaceConfig, record: NamespaceRecord): NamespaceConfig {
  if (config.kind !== 'counter') return config;
  return { ...config, incarnation: `${record.version}@${record.updatedAtMicros}` };
}
