/**
 * The SDK's namespace info cache: the first call of a namespace waits for one fetch
 * (shared by concurrent callers), later ones use the cache and refresh it in the
 * background once stale; a failed fetch means "unknown" (no SLOs, no counter type) and is
 * retried sooner; options win over fetched values. Injected clock, no sleeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceInfoCache } from '../../src/client/namespace-info.js';
import type { NamespaceView } from '../../src/client/types.js';

function setup(overrides = {}) {
  let now = 0;
  const fetches: string[] = [];
  let answer: () => Promise<NamespaceView> = async () => ({
    namespace: 'n',
    kind: 'timeseries',
    version: 1,
    updatedAt: '',
    config: { slos: { read: { targetMicros: 500_000, maxMicros: 1_000_000 } } },
  });
  const cache = new NamespaceInfoCache({
    enabled: true,
    ttlMs: 1000,
    overrides,
    now: () => now,
    fetch: (kind, name) => {
      fetches.push(`${kind}/${name}`);
      return answer();
    },
  });
  return {
    cache,
    fetches,
    advance: (ms: number) => (now += ms),
    answerWith: (f: () => Promise<NamespaceView>) => (answer = f),
  };
}

describe('client namespace info cache', () => {
  it('fetches once for concurrent first calls, converts SLOs to ms, refreshes in the background when stale', async () => {
    const { cache, fetches, advance, answerWith } = setup();
    const [a, b] = await Promise.all([cache.get('timeseries', 'n'), cache.get('timeseries', 'n')]);
    assert.deepEqual(a, { slos: { read: { targetMs: 500, maxMs: 1000 } } });
    assert.deepEqual(b, a);
    assert.equal(fetches.length, 1);
    await cache.get('timeseries', 'n');
    assert.equal(fetches.length, 1, 'fresh: no fetch');
    advance(1000);
    answerWith(async () => ({ namespace: 'n', kind: 'timeseries', version: 2, updatedAt: '', config: {} }));
    assert.deepEqual(await cache.get('timeseries', 'n'), a, 'stale: served while refreshing');
    assert.equal(fetches.length, 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await cache.get('timeseries', 'n'), { slos: {} }, 'the refreshed value');
  });

  it('treats a failed fetch as unknown and retries it after a tenth of the TTL', async () => {
    const { cache, fetches, advance, answerWith } = setup();
    answerWith(() => Promise.reject(new Error('403')));
    assert.deepEqual(await cache.get('counter', 'c'), { slos: {} });
    advance(50);
    await cache.get('counter', 'c');
    assert.equal(fetches.length, 1);
    advance(60);
    answerWith(async () => ({ namespace: 'c', kind: 'counter', version: 1, updatedAt: '', config: { counterType: 'ACCURATE' } }));
    await cache.get('counter', 'c');
    await new Promise((r) => setImmediate(r));
    assert.equal(fetches.length, 2);
    assert.deepEqual(await cache.get('counter', 'c'), { slos: {}, counterType: 'ACCURATE' });
  });

  it('lets options win over fetched values', async () => {
    const { cache } = setup({ n: { counterType: 'BEST_EFFORT', slos: { read: { maxMs: 50 } } } });
    assert.deepEqual(await cache.get('timeseries', 'n'), { slos: { read: { maxMs: 50 } }, counterType: 'BEST_EFFORT' });
  });
});
