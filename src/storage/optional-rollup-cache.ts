/**
 * The rollup cache is an optimisation, never a dependency (issue 4): when its store is
 * down, a get is a miss and a put is skipped, so eventual and accurate counters keep
 * working from the rollup store. Failures are counted so the outage is visible.
 */
import type { RollupCache, RollupCheckpoint } from './contracts.js';

/** Counts of cache calls that failed and were degraded. */
export interface CacheFailureCounter {
  inc(labels: { op: 'get' | 'put' | 'drop' }): void;
}

/** Wraps a rollup cache so that its failures degrade to misses. */
export function optionalRollupCache(cache: RollupCache, failures?: CacheFailureCounter): RollupCache {
  const peek = cache.peek?.bind(cache);
  return {
    ...(peek
      ? {
          peek(namespace: string, counter: string): Readonly<RollupCheckpoint> | undefined {
            try {
              return peek(namespace, counter);
            } catch {
              // A miss: the caller then asks get, which counts the failure if it fails too.
              return undefined;
            }
          },
        }
      : {}),
    async get(namespace: string, counter: string): Promise<RollupCheckpoint | undefined> {
      try {
        return await cache.get(namespace, counter);
      } catch {
        failures?.inc({ op: 'get' });
        return undefined;
      }
    },
    async put(namespace: string, counter: string, value: RollupCheckpoint): Promise<void> {
      try {
        await cache.put(namespace, counter, value);
      } catch {
        failures?.inc({ op: 'put' });
      }
    },
    async dropNamespace(namespace: string): Promise<void> {
      try {
        await cache.dropNamespace(namespace);
      } catch {
        failures?.inc({ op: 'drop' });
      }
    },
  };
}
