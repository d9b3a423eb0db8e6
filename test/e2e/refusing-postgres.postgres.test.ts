/**
 * A PostgreSQL that refuses work (issue 14 hardening) answers 503 UNAVAILABLE naming the
 * database, never 500, and never with the driver's words: the database stops accepting
 * connections (ALTER DATABASE ... ALLOW_CONNECTIONS false: SQLSTATE 55000 on connect)
 * and its open connections are terminated (57P01). The SQLSTATEs that cannot be produced
 * on a shared server as superuser (53300 too many connections, ...) are mapped by the
 * same table, checked in test/unit/native-errors.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ManualClock } from '../../src/kernel/clock.js';
import { startServer, type RunningServer } from '../../src/server/runtime.js';
import { backendTest, uniqueName } from '../support/backends.js';
import { call } from '../support/dgw-load.js';

const gate = await backendTest('postgres');

describe('a refusing PostgreSQL', { skip: gate.skip }, () => {
  const database = uniqueName('dgw_refuse');
  let admin: pg.Client;
  let server: RunningServer | undefined;
  let dir: string;
  let base: string;

  before(async () => {
    admin = new pg.Client({ connectionString: gate.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    const url = new URL(gate.url);
    url.pathname = `/${database}`;
    const clock = new ManualClock(Date.parse('2024-10-03T21:25:00Z') * 1000);
    const clusters = [{ name: 'postgres', type: 'POSTGRES' as const, url: url.toString(), statementTimeoutMs: 2000 }];
    dir = mkdtempSync(join(tmpdir(), 'dgw-refuse-'));
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: dir, clock, clusters, lifecycleIntervalSeconds: 86_400 });
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close().catch(() => undefined);
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 UNAVAILABLE naming the database while it refuses, and serves again after', async () => {
    const put = await call(base, 'PUT', '/v1/counter/namespaces/refuse', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    assert.equal(put.status, 201, JSON.stringify(put.json));
    const add = { namespace: 'refuse', counter_name: 'c', delta: 1 };
    assert.equal((await call(base, 'POST', '/v1/counter/AddCount', add)).status, 200);

    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      for (const [path, body] of [
        ['/v1/counter/AddCount', add],
        ['/v1/counter/GetCount', { namespace: 'refuse', counter_name: 'c' }],
      ] as const) {
        const r = await call(base, 'POST', path, body);
        const error = r.json.error as { code: string; message: string };
        assert.equal(r.status, 503, `${path}: ${JSON.stringify(r.json)}`);
        assert.equal(error.code, 'UNAVAILABLE');
        assert.ok(error.message.includes(`/${database}`), `names the database: ${error.message}`);
        assert.doesNotMatch(error.message, /FATAL|terminating connection|not currently accepting|pg_|SELECT|INSERT/i);
        seen.add(error.message.replace(/.*\(([^)]*)\).*/, '$1'));
      }
    }
    assert.equal((await call(base, 'GET', '/readyz', undefined)).status, 503);

    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    const back = await call(base, 'POST', '/v1/counter/GetCount', { namespace: 'refuse', counter_name: 'c' });
    assert.equal(back.status, 200, JSON.stringify(back.json));
    assert.equal(back.json.count, '1');
    console.log(`refusal reasons seen: ${[...seen].join(' | ')}`);
  });

  it('a read-only database: writes are 503 and /readyz says so, though SELECT 1 works', async () => {
    await admin.query(`ALTER DATABASE "${database}" SET default_transaction_read_only = on`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    try {
      let r = await call(base, 'POST', '/v1/counter/AddCount', { namespace: 'refuse', counter_name: 'c', delta: 1 });
      // The first call may meet a pooled connection the server just terminated.
      if (r.status === 503 && !JSON.stringify(r.json).includes('read-only')) r = await call(base, 'POST', '/v1/counter/AddCount', { namespace: 'refuse', counter_name: 'c', delta: 1 });
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.match((r.json.error as { message: string }).message, new RegExp(`/${database} is unavailable \\(database is read-only`));
      const ready = await call(base, 'GET', '/readyz', undefined);
      assert.equal(ready.status, 503, JSON.stringify(ready.json));
    } finally {
      await admin.query(`ALTER DATABASE "${database}" RESET default_transaction_read_only`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    }
    let ok = await call(base, 'POST', '/v1/counter/AddCount', { namespace: 'refuse', counter_name: 'c', delta: 1 });
    if (ok.status !== 200) ok = await call(base, 'POST', '/v1/counter/AddCount', { namespace: 'refuse', counter_name: 'c', delta: 1 });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal((await call(base, 'GET', '/readyz', undefined)).status, 200);
  });
});
