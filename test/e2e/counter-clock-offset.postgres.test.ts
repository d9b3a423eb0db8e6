/**
 * Issue 15: instances measure their clocks against the shared store's, and what follows
 * from it. dgw servers in process (real HTTP) on one PostgreSQL + Redis; instance A on the
 * system clock, others on the system clock shifted (as a host whose clock is off would be).
 *
 * - A tokenless ClearCount served by an instance 1.5 s ahead is ordered by the store's
 *   clock: an add acknowledged by A after the clear is counted; an add acknowledged
 *   before it is cleared (EVENTUAL and ACCURATE). Before the fix the clear was stamped
 *   1.5 s in the future and wiped the later add.
 * - An instance 3 s ahead (beyond the 1 s margin): `dgw_clock_offset_seconds` shows the
 *   offset, `/readyz` answers 503 naming it, tokenless mutations are refused (UNAVAILABLE)
 *   and its rollups pause; A keeps rolling the counter up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock, type Clock } from '../../src/kernel/clock.js';
import { DgwError } from '../../src/kernel/errors.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/runtime.js';
import { backendTest, deleteRedisPrefix, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { call, errorCode, pollUntil } from '../support/dgw-load.js';

const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const skip = pgGate.skip || redisGate.skip;

const counterDoc = (type: 'EVENTUAL' | 'ACCURATE', skewMargin: string) => ({
  persistence_configuration: [
    {
      id: 'COUNTER_ROLLUP',
      config: {
        counter_type: type,
        skew_margin: skewMargin,
        [type === 'EVENTUAL' ? 'eventual_counter_config' : 'accurate_counter_config']: {
          internal_config: { queue_config: { num_queues: 2, coalesce_ms: 100 } },
        },
      },
    },
    { id: 'EVENT_STORAGE', config: { accept_limit: '2s' } },
  ],
});

/** The system clock shifted by `offsetMicros` (a host whose clock runs ahead or behind). */
function shifted(offsetMicros: number): Clock {
  const system = new SystemClock();
  return { nowMicros: () => system.nowMicros() + offsetMicros };
}

describe('clock offsets against the shared store (issue 15)', { skip }, () => {
  const schema = uniqueName('dgw_offset');
  const keyPrefix = `${schema}:`;
  let dir: string;
  const servers: RunningServer[] = [];
  const start = async (name: string, extra: Partial<ServerOptions>): Promise<string> => {
    const clusters = [
      { name: 'pg', type: 'POSTGRES' as const, url: pgGate.url, schema, maxConnections: 6 },
      { name: 'cache', type: 'REDIS' as const, url: redisGate.url, keyPrefix },
    ];
    const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, name), clusters, lifecycleIntervalSeconds: 3600, ...extra });
    servers.push(server);
    return `http://127.0.0.1:${server.port}`;
  };
  let a: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-offset-'));
    a = await start('a', {});
  });

  after(async () => {
    for (const s of servers) await s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
  });

  const read = async (url: string, ns: string, counter: string): Promise<bigint | undefined> => {
    const r = await call(url, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: counter });
    return r.status === 200 ? BigInt(String(r.json['count'])) : undefined;
  };
  const offsetSeconds = async (url: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^dgw_clock_offset_seconds\{store="postgres:pg"\} (\S+)$/m.exec(text);
    assert.ok(m, `no dgw_clock_offset_seconds for postgres:pg in /metrics of ${url}`);
    return Number(m[1]);
  };

  it('a tokenless clear on an instance 1.5 s ahead is ordered after earlier adds and before later ones', async () => {
    // Margins of 2 s (namespace) and 3 s (readiness): B is within them, so it serves and rolls up.
    const b = await start('b', { clock: shifted(1_500_000), clockOffsets: { marginMicros: 3_000_000 } });
    const offset = await offsetSeconds(b);
    assert.ok(offset < -1.4 && offset > -1.6, `B measured ${offset} s against PostgreSQL`);
    assert.equal((await call(b, 'GET', '/readyz', undefined)).status, 200);
    for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
      const ns = uniqueName(`off_${type.toLowerCase()}`);
      assert.equal((await call(a, 'PUT', `/v1/counter/namespaces/${ns}`, counterDoc(type, '2s'))).status, 201);
      await pollUntil(async () => (await read(b, ns, 'c')) !== undefined, 8000, () => 'B never saw the namespace', 50);
      const add = async (url: string, delta: number) => {
        const r = await call(url, 'POST', '/v1/counter/AddCount', { namespace: ns, counter_name: 'c', delta });
        assert.equal(r.status, 200, `${errorCode(r)} ${JSON.stringify(r.json)}`);
      };
      await add(a, 5); // before the clear: cleared
      const clear = await call(b, 'POST', '/v1/counter/ClearCount', { namespace: ns, counter_name: 'c' });
      assert.equal(clear.status, 200, JSON.stringify(clear.json));
      await add(a, 7); // acknowledged after the clear: counted
      if (type === 'ACCURATE') assert.equal(await read(a, ns, 'c'), 7n, 'ACCURATE on A right after');
      for (const url of [a, b]) {
        let last: bigint | undefined;
        await pollUntil(
          async () => (last = await read(url, ns, 'c')) === 7n,
          20_000,
          () => `${type} on ${url === a ? 'A' : 'B'} reads ${last}, not 7 (5 before the clear, 7 after it)`,
          250,
        );
      }
    }
  });

  it('an instance 3 s ahead: offset on /metrics, /readyz 503, tokenless mutations refused, rollups paused', async () => {
    const c = await start('c', { clock: shifted(3_000_000), clockOffsets: {} });
    const cServer = servers[servers.length - 1]!;
    const offset = await offsetSeconds(c);
    assert.ok(offset < -2.9 && offset > -3.1, `C measured ${offset} s against PostgreSQL`);
    const ready = await call(c, 'GET', '/readyz', undefined);
    assert.equal(ready.status, 503, JSON.stringify(ready.json));
    assert.match(JSON.stringify(ready.json), /clock offset of store \\"postgres:pg\\" is -(3\.0|2\.9)\d+ s .*beyond the skew margin of 1\.000 s/);
    assert.equal((await call(a, 'GET', '/readyz', undefined)).status, 200, 'A stays ready');

    const ns = uniqueName('off_paused');
    assert.equal((await call(a, 'PUT', `/v1/counter/namespaces/${ns}`, counterDoc('EVENTUAL', '1s'))).status, 201);
    await pollUntil(async () => (await read(c, ns, 'c')) !== undefined, 8000, () => 'C never saw the namespace', 50);
    const refused = await call(c, 'POST', '/v1/counter/AddCount', { namespace: ns, counter_name: 'c', delta: 1 });
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal(errorCode(refused), 'UNAVAILABLE');
    assert.match(String((refused.json['error'] as Record<string, unknown>)['message']), /without idempotency_token cannot be ordered here/);
    const added = await call(a, 'POST', '/v1/counter/AddCount', { namespace: ns, counter_name: 'c', delta: 3 });
    assert.equal(added.status, 200);
    const config = await cServer.namespaces.getCounter(ns);
    await assert.rejects(cServer.counters.rollupNow(config, 'c'), (err: unknown) => err instanceof DgwError && err.code === 'UNAVAILABLE' && /paused on this instance/.test(err.message));
    // A rolls it up; C serves the count A's rollups wrote.
    let last: bigint | undefined;
    await pollUntil(async () => (last = await read(c, ns, 'c')) === 3n && (await read(a, ns, 'c')) === 3n, 20_000, () => `C reads ${last}, not 3`, 250);
  });
});
