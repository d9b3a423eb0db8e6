/** Redis adapter tests: fail-fast UNAVAILABLE, reconnection, bigint exactness, TTL, rollup cache. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isDgwError, type ErrorCode } from '../../src/kernel/errors.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { createRedisStores, redisClientOptions } from '../../src/storage/redis/stores.js';
import { backendTest, deleteRedisPrefix, uniqueName } from '../support/backends.js';

const gate = await backendTest('redis');

const isCode = (code: ErrorCode) => (err: unknown) => isDgwError(err) && err.code === code;

describe('redis store', { skip: gate.skip }, () => {
  const prefix = `${uniqueName('dgwtest')}:`;
  const opened: StoreSet[] = [];
  const open = async (): Promise<StoreSet> => {
    const s = await createRedisStores({ url: gate.url, keyPrefix: prefix });
    opened.push(s);
    return s;
  };
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await deleteRedisPrefix(prefix, gate.url);
  });

  it('declares shared, non-durable, ttl; has only the caches', async () => {
    const s = await open();
    assert.deepEqual(s.capabilities, { durable: false, shared: true, ttl: true });
    assert.ok(s.counterCache && s.rollupCache);
    assert.equal(s.events, undefined);
    await s.ping();
  });

  it('keeps int64 counts exact beyond 2^53 and refuses overflow with OUT_OF_RANGE', async () => {
    const c = (await open()).counterCache!;
    const key = uniqueName('big');
    assert.equal(await c.add(key, 2n ** 53n), 2n ** 53n);
    assert.equal(await c.add(key, 1n), 2n ** 53n + 1n);
    assert.equal(await c.get(key), 9007199254740993n);
    assert.equal(await c.add(key, 2n ** 63n - 1n - (2n ** 53n + 1n)), 2n ** 63n - 1n);
    await assert.rejects(c.add(key, 1n), isCode('OUT_OF_RANGE'));
    assert.equal(await c.get(key), 2n ** 63n - 1n, 'a refused add changes nothing');
    await assert.rejects(c.add(key, 2n ** 63n), isCode('OUT_OF_RANGE'));
    await c.delete(key);
    assert.equal(await c.get(key), 0n);
    assert.equal(await c.add(key, -(2n ** 63n)), -(2n ** 63n));
  });

  it('sets the TTL with the increment; an expired counter reads 0', async () => {
    const c = (await open()).counterCache!;
    const key = uniqueName('ttl');
    // TTL 3 s (was 150 ms): the next two calls must come before it expires, and at load
    // average 15-30 a round trip took longer than 150 ms. Expiry is then awaited, not slept.
    const ttlMs = 3000;
    assert.equal(await c.add(key, 3n, ttlMs * 1000), 3n);
    const probe = new Redis(gate.url);
    try {
      const pttl = await probe.pttl(`${prefix}counter:${key}`);
      assert.ok(pttl > 0 && pttl <= ttlMs, `PTTL ${pttl}`);
      assert.equal(await c.add(key, 2n, ttlMs * 1000), 5n);
      // Redis expiry runs on the server clock: no clock to advance here.
      const deadline = Date.now() + ttlMs + 10_000;
      while ((await probe.exists(`${prefix}counter:${key}`)) === 1 && Date.now() < deadline) await sleep(100);
      assert.equal(await c.get(key), 0n);
      assert.equal(await c.add(key, 1n), 1n);
      assert.equal(await probe.pttl(`${prefix}counter:${key}`), -1, 'no TTL given: none set');
    } finally {
      probe.disconnect();
    }
  });

  it('rollup cache: count and checkpoint as one value, put only if newer', async () => {
    const r = (await open()).rollupCache!;
    const ns = uniqueName('ns');
    assert.equal(await r.get(ns, 'c'), undefined);
    await r.put(ns, 'c', { count: 2n ** 64n + 7n, rollupTsMicros: 1_727_990_000_000_002 });
    await r.put(ns, 'c', { count: 1n, rollupTsMicros: 1_727_990_000_000_001 });
    await r.put(ns, 'c', { count: 2n, rollupTsMicros: 1_727_990_000_000_002 });
    assert.deepEqual(await r.get(ns, 'c'), { count: 2n ** 64n + 7n, rollupTsMicros: 1_727_990_000_000_002 });
    // Concurrent puts in random order converge to the latest checkpoint.
    const puts = Array.from({ length: 50 }, (_, i) => ({ count: BigInt(i * 10), rollupTsMicros: 1_800_000_000_000_000 + i }));
    puts.sort(() => Math.random() - 0.5);
    await Promise.all(puts.map((p) => r.put(ns, 'd', p)));
    assert.deepEqual(await r.get(ns, 'd'), { count: 490n, rollupTsMicros: 1_800_000_000_000_049 });
    await r.dropNamespace(ns);
    assert.equal(await r.get(ns, 'c'), undefined);
    assert.equal(await r.get(ns, 'd'), undefined);
  });

  it('fails fast with UNAVAILABLE when Redis is unreachable (closed port)', async () => {
    const started = Date.now();
    const s = await createRedisStores({ url: 'redis://127.0.0.1:1', keyPrefix: prefix });
    try {
      await assert.rejects(s.counterCache!.add('x', 1n), (err: unknown) => {
        assert.ok(isDgwError(err) && err.code === 'UNAVAILABLE');
        assert.match(err.message, /Redis at 127\.0\.0\.1:1 is unavailable/);
        return true;
      });
      await assert.rejects(s.rollupCache!.get('ns', 'c'), isCode('UNAVAILABLE'));
      await assert.rejects(s.ping(), isCode('UNAVAILABLE'));
      // Refused at once; a client that queued commands until it connects would hang.
      // 10 s (was 3 s, exceeded at load average 15-30) still tells the two apart.
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await s.close();
    }
  });

  it('a dropped connection fails calls with UNAVAILABLE, then reconnects by itself', async () => {
    const client = new Redis(gate.url, redisClientOptions(1000));
    const s = await createRedisStores({ client, keyPrefix: prefix });
    const killer = new Redis(gate.url);
    try {
      await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
      const c = s.counterCache!;
      const key = uniqueName('re');
      assert.equal(await c.add(key, 1n), 1n);
      const id = await client.client('ID');
      await killer.client('KILL', 'ID', String(id));
      await sleep(20);
      await assert.rejects(c.add(key, 1n), isCode('UNAVAILABLE'));
      // Reconnects after a backoff; 20 s (was 5 s) for a loaded box. Never reconnecting still fails.
      const deadline = Date.now() + 20_000;
      let value: bigint | undefined;
      while (value === undefined && Date.now() < deadline) {
        value = await c.get(key).catch(() => undefined);
        if (value === undefined) await sleep(50);
      }
      assert.equal(value, 1n, 'recovered without intervention');
    } finally {
      await s.close();
      client.disconnect();
      killer.disconnect();
    }
  });
});
