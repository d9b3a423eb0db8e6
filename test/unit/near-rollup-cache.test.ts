import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RollupCache, RollupCheckpoint } from '../../src/storage/contracts.js';
import { LruRollupCache } from '../../src/storage/in-process/lru-rollup-cache.js';
import { nearRollupCache } from '../../src/storage/near-rollup-cache.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';
import { StoreCatalog } from '../../src/storage/catalog.js';

const at = (ts: number, count = ts) => ({ count: BigInt(count), rollupTsMicros: ts });

/** A shared cache stand-in (the in-process LRU) that counts the reads reaching it. */
function counted(): { inner: RollupCache; gets: () => number } {
  const lru = new LruRollupCache();
  let gets = 0;
  return {
    inner: {
      get: (ns, c) => {
        gets++;
        return lru.get(ns, c);
      },
      put: (ns, c, v) => lru.put(ns, c, v),
      dropNamespace: (ns) => lru.dropNamespace(ns),
    },
    gets: () => gets,
  };
}

/** Lets the promise jobs queued so far (a background renewal) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A shared cache whose reads wait until the test resolves them, oldest first. */
function gated(): { inner: RollupCache; pending: () => number; resolve: (value: RollupCheckpoint | undefined) => void } {
  const waiting: ((value: RollupCheckpoint | undefined) => void)[] = [];
  return {
    inner: {
      get: () => new Promise((resolve) => waiting.push(resolve)),
      put: () => Promise.resolve(),
      dropNamespace: () => Promise.resolve(),
    },
    pending: () => waiting.length,
    resolve: (value) => waiting.shift()!(value),
  };
}

describe('nearRollupCache', () => {
  it('reuses a checkpoint for ttlMs, then reads the shared cache again', async () => {
    let now = 1000;
    const { inner, gets } = counted();
    // No renewal ahead of expiry here (refreshAfterMs = ttlMs): the test below has it.
    const near = nearRollupCache(inner, { ttlMs: 100, refreshAfterMs: 100, nowMs: () => now });
    await inner.put('n', 'c', at(10));
    assert.equal(near.peek!('n', 'c'), undefined, 'nothing read yet');
    assert.deepEqual(await near.get('n', 'c'), at(10));
    assert.equal(gets(), 1);
    // Another instance's rollup moves the shared value on.
    await inner.put('n', 'c', at(20));
    now += 99;
    assert.deepEqual(near.peek!('n', 'c'), at(10), 'within ttl: the near copy');
    assert.deepEqual(await near.get('n', 'c'), at(10));
    assert.equal(gets(), 1, 'no shared read within ttl');
    now += 1;
    assert.equal(near.peek!('n', 'c'), undefined, 'expired');
    assert.deepEqual(await near.get('n', 'c'), at(20));
    assert.equal(gets(), 2);
    assert.deepEqual(near.peek!('n', 'c'), at(20));
  });

  it('a put (this instance\'s rollup) is seen at once, unless a newer checkpoint is kept', async () => {
    let now = 0;
    const { inner } = counted();
    const near = nearRollupCache(inner, { ttlMs: 100, nowMs: () => now });
    await near.put('n', 'c', at(10));
    assert.deepEqual(near.peek!('n', 'c'), at(10));
    await near.put('n', 'c', at(30, 7));
    assert.deepEqual(near.peek!('n', 'c'), at(30, 7));
    await near.put('n', 'c', at(20, 99));
    assert.deepEqual(near.peek!('n', 'c'), at(30, 7), 'an older checkpoint never replaces a fresh newer one');
    assert.deepEqual(await inner.get('n', 'c'), at(30, 7), 'the shared cache keeps its own rule too');
    now = 200;
    await near.put('n', 'c', at(25, 5));
    assert.deepEqual(near.peek!('n', 'c'), at(25, 5), 'an expired entry is replaced by what this instance wrote');
  });

  it('a miss is not remembered; a value handed out cannot change the cached one', async () => {
    const { inner, gets } = counted();
    const near = nearRollupCache(inner, { ttlMs: 100, nowMs: () => 0 });
    assert.equal(await near.get('n', 'never'), undefined);
    assert.equal(await near.get('n', 'never'), undefined);
    assert.equal(gets(), 2, 'a counter never rolled up is asked each time');
    await near.put('n', 'c', at(10));
    const got = (await near.get('n', 'c')) as RollupCheckpoint;
    got.count = 999n;
    assert.deepEqual(near.peek!('n', 'c'), at(10));
  });

  it('dropNamespace forgets that namespace here and in the shared cache; the entry count stays bounded', async () => {
    const { inner } = counted();
    const near = nearRollupCache(inner, { ttlMs: 100, nowMs: () => 0, maxEntries: 3 });
    await near.put('a', 'x', at(1));
    await near.put('b', 'x', at(2));
    await near.dropNamespace('a');
    assert.equal(near.peek!('a', 'x'), undefined);
    assert.equal(await inner.get('a', 'x'), undefined);
    assert.deepEqual(near.peek!('b', 'x'), at(2));
    await near.put('b', 'y', at(3));
    await near.put('b', 'z', at(4));
    assert.deepEqual(near.peek!('b', 'z'), at(4));
    await near.put('c', 'w', at(5));
    // Full (3 entries): it started over with the new one.
    assert.equal(near.peek!('b', 'x'), undefined);
    assert.deepEqual(near.peek!('c', 'w'), at(5));
    assert.deepEqual(await near.get('b', 'x'), at(2), 'still in the shared cache');
  });

  it('a peek past refreshAfterMs answers from the entry and renews it once, in the background', async () => {
    let now = 1000;
    const { inner, gets } = counted();
    const near = nearRollupCache(inner, { ttlMs: 100, nowMs: () => now });
    await inner.put('n', 'c', at(10));
    assert.deepEqual(await near.get('n', 'c'), at(10));
    await inner.put('n', 'c', at(20));
    now += 79;
    assert.deepEqual(near.peek!('n', 'c'), at(10));
    assert.equal(gets(), 1, 'younger than 0.8 × ttl: no renewal');
    now += 1;
    assert.deepEqual(near.peek!('n', 'c'), at(10), 'the caller is answered from the entry');
    assert.deepEqual(near.peek!('n', 'c'), at(10));
    assert.equal(gets(), 2, 'one renewal, however many peeks');
    await flush();
    assert.deepEqual(near.peek!('n', 'c'), at(20), 'renewed');
    now += 99;
    assert.deepEqual(near.peek!('n', 'c'), at(20), 'fresh for ttl from the renewal\'s start');
    assert.equal(gets(), 3, 'and renewed again past 0.8 × ttl');
  });

  it('one read of a counter at a time: misses wait for the read in flight', async () => {
    let now = 0;
    const gate = gated();
    const near = nearRollupCache(gate.inner, { ttlMs: 100, nowMs: () => now });
    const first = near.get('n', 'c');
    const second = near.get('n', 'c');
    assert.equal(gate.pending(), 1, 'one shared read for both');
    gate.resolve(at(7));
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(a, at(7));
    assert.deepEqual(b, at(7));
    assert.notEqual(a, b, 'each caller gets its own copy');
    a!.count = 99n;
    assert.deepEqual(near.peek!('n', 'c'), at(7));
    // Expired while its renewal is still in flight: not used, and a get joins the renewal.
    now = 90;
    assert.deepEqual(near.peek!('n', 'c'), at(7));
    assert.equal(gate.pending(), 1, 'renewal started');
    now = 100;
    assert.equal(near.peek!('n', 'c'), undefined, 'never used past ttl');
    const third = near.get('n', 'c');
    assert.equal(gate.pending(), 1, 'the get joined the renewal');
    gate.resolve(at(8));
    assert.deepEqual(await third, at(8));
    assert.deepEqual(near.peek!('n', 'c'), at(8), 'fresh until 190 (the renewal started at 90)');
    now = 190;
    assert.equal(near.peek!('n', 'c'), undefined);
  });

  it('a read in flight when its namespace is dropped is not remembered', async () => {
    const gate = gated();
    const near = nearRollupCache(gate.inner, { ttlMs: 100, nowMs: () => 0 });
    const pending = near.get('n', 'c');
    await near.dropNamespace('n');
    const again = near.get('n', 'c');
    assert.equal(gate.pending(), 2, 'a get after the drop does not join the read from before it');
    gate.resolve(at(5));
    assert.deepEqual(await pending, at(5), 'the caller still gets what it asked for');
    assert.equal(near.peek!('n', 'c'), undefined, 'but the dropped namespace keeps nothing');
    gate.resolve(at(6));
    assert.deepEqual(await again, at(6));
    assert.deepEqual(near.peek!('n', 'c'), at(6), 'the read after the drop is remembered');
  });

  it('a read in flight is joined only within ttl of its start', async () => {
    let now = 0;
    const gate = gated();
    const near = nearRollupCache(gate.inner, { ttlMs: 100, nowMs: () => now });
    const first = near.get('n', 'c');
    gate.resolve(at(1));
    await first;
    now = 80;
    assert.deepEqual(near.peek!('n', 'c'), at(1));
    assert.equal(gate.pending(), 1, 'renewal sent at 80, and the shared cache is slow');
    now = 179;
    const joined = near.get('n', 'c');
    assert.equal(gate.pending(), 1, 'within ttl of the renewal\'s start: joined');
    now = 180;
    const late = near.get('n', 'c');
    assert.equal(gate.pending(), 2, 'ttl after its start: a read of its own');
    gate.resolve(at(2));
    assert.deepEqual(await joined, at(2));
    assert.equal(near.peek!('n', 'c'), undefined, 'the replaced read is not remembered (it began at 80)');
    gate.resolve(at(3));
    assert.deepEqual(await late, at(3));
    assert.deepEqual(near.peek!('n', 'c'), at(3));
  });

  it('a renewal that finds nothing is not sent again; the entry expires', async () => {
    let now = 0;
    const { inner, gets } = counted();
    const near = nearRollupCache(inner, { ttlMs: 100, nowMs: () => now });
    await near.put('n', 'c', at(10));
    await inner.dropNamespace('n');
    now = 80;
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(near.peek!('n', 'c'), at(10));
      await flush();
      now++;
    }
    assert.equal(gets(), 1, 'one renewal for the entry');
    now = 100;
    assert.equal(near.peek!('n', 'c'), undefined);
    assert.equal(await near.get('n', 'c'), undefined);
    assert.equal(gets(), 2);
  });

  it('a read that fails fails its callers, leaves nothing behind, and a renewal\'s failure is swallowed', async () => {
    let now = 0;
    let fail = true;
    let gets = 0;
    const lru = new LruRollupCache();
    const inner: RollupCache = {
      get: (ns, c) => {
        gets++;
        return fail ? Promise.reject(new Error('down')) : lru.get(ns, c);
      },
      put: (ns, c, v) => lru.put(ns, c, v),
      dropNamespace: (ns) => lru.dropNamespace(ns),
    };
    const near = nearRollupCache(inner, { ttlMs: 100, nowMs: () => now });
    const both = await Promise.allSettled([near.get('n', 'c'), near.get('n', 'c')]);
    assert.deepEqual(
      both.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(gets, 1, 'one read for both');
    fail = false;
    await lru.put('n', 'c', at(4));
    assert.deepEqual(await near.get('n', 'c'), at(4), 'the failed read is not joined again');
    assert.equal(gets, 2);
    fail = true;
    now = 80;
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      assert.deepEqual(near.peek!('n', 'c'), at(4));
      await flush();
      await flush();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(gets, 3, 'the renewal was sent');
    assert.deepEqual(unhandled, []);
    assert.deepEqual(near.peek!('n', 'c'), at(4), 'the entry is used until it expires');
  });

  it('the catalog puts it in front of shared rollup caches only, and not with nearCacheMs 0', async () => {
    const shared = createMemoryStores();
    const sharedSet = { ...shared, capabilities: { ...shared.capabilities, shared: true } };
    const local = createMemoryStores();
    // A minute, so that no pause of a loaded box expires the entry between the calls.
    const catalog = new StoreCatalog(
      'local',
      [
        ['local', local],
        ['shared', sharedSet],
      ],
      {},
      { nearCacheMs: 60_000 },
    );
    await catalog.rollupCache('shared').put('n', 'c', at(5));
    await sharedSet.rollupCache!.put('n', 'c', at(9));
    assert.deepEqual(await catalog.rollupCache('shared').get('n', 'c'), at(5), 'read near');
    await local.rollupCache!.put('n', 'c', at(5));
    await catalog.rollupCache('local').put('n', 'c', at(6));
    await local.rollupCache!.put('n', 'c', at(9));
    assert.deepEqual(await catalog.rollupCache('local').get('n', 'c'), at(9), 'an unshared cache is read directly');
    const off = new StoreCatalog('shared', [['shared', sharedSet]], {}, { nearCacheMs: 0 });
    assert.deepEqual(await off.rollupCache('shared').get('n', 'c'), at(9), 'nearCacheMs 0: always the shared cache');
    await shared.close();
    await local.close();
  });
});
