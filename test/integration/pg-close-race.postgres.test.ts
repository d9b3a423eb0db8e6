/**
 * A PostgreSQL store closing while the server terminates its connections (a failover, a
 * restart, DROP DATABASE ... WITH (FORCE)) must not crash the process. pg's pool ends its
 * idle connections after `end()` has resolved, and a connection that hears FATAL 57P01
 * in that window reports it as an 'error' on the pool; with no listener left, that was an
 * uncaught exception (seen in CI, test/e2e/refusing-postgres.postgres.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';

const gate = await backendTest('postgres');

describe('postgres store close', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_close');
  const admin = new pg.Pool({ connectionString: gate.url, max: 2 });
  after(async () => {
    await dropPostgresSchema(schema, gate.url);
    await admin.end();
  });

  it('survives its connections being terminated while it closes', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      for (let round = 0; round < 30 && uncaught.length === 0; round++) {
        const s = await createPostgresStores({ url: gate.url, schema, maxConnections: 4 });
        // Four connections, idle in the pool, whose last statement names the schema.
        await Promise.all([1, 2, 3, 4].map((i) => s.namespaces!.get('counter', `n${round}-${i}`)));
        const closing = s.close();
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'dgw%' AND pid <> pg_backend_pid() AND query LIKE '%${schema}%'`);
        await closing;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    assert.deepEqual(uncaught.map(String), []);
  });
});
