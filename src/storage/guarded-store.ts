/**
 * The one wrapper holding behaviour every adapter shares (STYLE: thin adapters): lazy
 * init run once, close run once and idempotent, calls after close refused with
 * UNAVAILABLE, and native errors mapped to DgwError in one place (native-errors.ts).
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
} from './contracts.js';
import { toDgwError } from './native-errors.js';

/** The parts of a StoreSet an adapter provides. */
export interface StoreParts {
  events?: EventStore;
  index?: IndexStore;
  rollups?: RollupStore;
  rollupCache?: RollupCache;
  counterCache?: CounterCache;
  namespaces?: NamespaceRegistry;
}

/** What an adapter hands to {@link guardStoreSet}. */
export interface GuardedStoreOptions {
  /** Store name, also the prefix of error messages (`sqlite.events.appendEvents: ...`). */
  name: string;
  capabilities: StoreCapabilities;
  parts: StoreParts;
  /** Runs once, before the first call of any part (and before ping). */
  init?: () => Promise<void>;
  /** Liveness probe; defaults to resolving. */
  ping?: () => Promise<void>;
  /** Releases resources; run at most once however often close() is called. */
  close?: () => Promise<void>;
}

type AsyncMethod = (...args: never[]) => Promise<unknown>;

/** Parts holding durable data (caches are optional and degrade on their own). */
const DURABLE_PARTS = new Set(['events', 'index', 'rollups', 'namespaces']);
/** Contract methods that write (storage/contracts.ts). */
const WRITE_METHODS = new Set([
  'createSlice',
  'setSliceStatus',
  'appendEvents',
  'indexEvents',
  'dropBefore',
  'dropNamespace',
  'recordWrites',
  'advance',
  'advanceMany',
  'put',
  'delete',
]);
/** How long a failed write keeps a store "not ready" when no write follows. */
export const WRITE_FAILURE_MEMORY_MS = 30_000;

function methodNames(part: object): string[] {
  const names = new Set<string>();
  let proto: object | null = part;
  while (proto && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key !== 'constructor' && typeof (part as Record<string, unknown>)[key] === 'function') names.add(key);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return [...names];
}

/**
 * Wraps an adapter's parts into a StoreSet with the shared behaviour. Every method of every
 * part is wrapped: it waits for init, fails with UNAVAILABLE after close, and rejects only
 * with DgwError.
 */
export function guardStoreSet(options: GuardedStoreOptions): StoreSet {
  let initPromise: Promise<void> | undefined;
  let ready = options.init === undefined;
  let closed = false;
  let closePromise: Promise<void> | undefined;

  const gate = async (where: string): Promise<void> => {
    if (closed) throw new DgwError('UNAVAILABLE', `${where}: store "${options.name}" is closed`);
    if (ready) return;
    initPromise ??= (async () => {
      try {
        await options.init?.();
        ready = true;
      } catch (err) {
        initPromise = undefined; // a failed init may be retried by the next call
        throw toDgwError(err, `${options.name}.init`);
      }
    })();
    await initPromise;
  };

  // Readiness sees what writes see (issue 14): a store whose last durable write failed for
  // want of the store (disk full, read-only, refused) is not ready until a write succeeds
  // or WRITE_FAILURE_MEMORY_MS pass without another failure (the probe alone can succeed
  // in space a real batch cannot get).
  let writeFailure: { err: DgwError; at: number } | undefined;
  const clock = Date.now;

  const wrap = <T extends object>(part: T | undefined, partName: string): T | undefined => {
    if (part === undefined) return undefined;
    const wrapped: Record<string, AsyncMethod> = {};
    const durable = DURABLE_PARTS.has(partName);
    for (const name of methodNames(part)) {
      const fn = (part as Record<string, AsyncMethod>)[name];
      if (!fn) continue;
      const where = `${options.name}.${partName}.${name}`;
      const write = durable && WRITE_METHODS.has(name);
      wrapped[name] = async (...args: never[]) => {
        if (!ready || closed) await gate(where);
        try {
          const result = await fn.apply(part, args);
          if (write) writeFailure = undefined;
          return result;
        } catch (err) {
          const mapped = toDgwError(err, where);
          if (write && (mapped.code === 'UNAVAILABLE' || mapped.code === 'RESOURCE_EXHAUSTED')) writeFailure = { err: mapped, at: clock() };
          throw mapped;
        }
      };
    }
    return wrapped as unknown as T;
  };

  const parts = options.parts;
  return {
    name: options.name,
    capabilities: options.capabilities,
    events: wrap(parts.events, 'events'),
    index: wrap(parts.index, 'index'),
    rollups: wrap(parts.rollups, 'rollups'),
    rollupCache: wrap(parts.rollupCache, 'rollupCache'),
    counterCache: wrap(parts.counterCache, 'counterCache'),
    namespaces: wrap(parts.namespaces, 'namespaces'),
    async ping() {
      await gate(`${options.name}.ping`);
      try {
        await options.ping?.();
      } catch (err) {
        throw toDgwError(err, `${options.name}.ping`);
      }
      if (writeFailure && clock() - writeFailure.at < WRITE_FAILURE_MEMORY_MS) {
        throw new DgwError('UNAVAILABLE', `${options.name}: the last write failed (${writeFailure.err.message}) and none succeeded since`, {
          cause: writeFailure.err,
        });
      }
    },
    close() {
      if (!closePromise) {
        closed = true;
        closePromise = (async () => {
          try {
            await options.close?.();
          } catch (err) {
            throw toDgwError(err, `${options.name}.close`);
          }
        })();
      }
      return closePromise;
    },
  };
}
