/**
 * The one wrapper holding behaviour every adapter shares (STYLE: thin adapters): lazy
 * init run once, close run once and idempotent, calls after close refused with
 * UNAVAILABLE, and native errors mapped to DgwError in one place (native-errors.ts).
 */
import { DgwError } from '../core/errors.js';
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

  const wrap = <T extends object>(part: T | undefined, partName: string): T | undefined => {
    if (part === undefined) return undefined;
    const wrapped: Record<string, AsyncMethod> = {};
    for (const name of methodNames(part)) {
      const fn = (part as Record<string, AsyncMethod>)[name];
      if (!fn) continue;
      const where = `${options.name}.${partName}.${name}`;
      wrapped[name] = async (...args: never[]) => {
        if (!ready || closed) await gate(where);
        try {
          return await fn.apply(part, args);
        } catch (err) {
          throw toDgwError(err, where);
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
