/**
 * Event group commits on PostgreSQL run side by side (StoreCapabilities.parallelCommits,
 * docs/backends.md): a commit stalled on a lock does not hold up the next batch, which
 * commits on its own connection. With one commit at a time (embedded SQLite's behaviour,
 * and PostgreSQL's before), the second write waited for the first commit to end.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/kernel/clock.js';
import { isDgwError } from '../../src/kernel/errors.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, StoreSet } from '../../src/storage/contracts.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { seriesEventIds } from '../support/series-ids.js';

const gate = await backendTest('postgres');

describe('PostgreSQL event commits run in parallel', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_par');
  const admin = new pg.Client({ connectionString: gate.url });
  const opened: StoreSet[] = [];
  after(async () => {
    await admin.query('ROLLBACK').catch(() => undefined);
    await admin.end().catch(() => undefined);
    await Promise.all(opened.map((s) => s.close()));
    await dropPostgresSchema(schema, gate.url);
  });

  it('checks parallelCommits against the pool: default min(4, maxConnections − 2), at least 1', async () => {
    for (const [maxConnections, expected] of [
      [1, 1],
      [2, 1],
      [4, 2],
      [10, 4],
    ] as const) {
      const set = await createPostgresStores({ url: gate.url, schema, maxConnections });
      opened.push(set);
      assert.equal(set.capabilities.parallelCommits, expected, `maxConnections ${maxConnections}`);
    }
    const whole = await createPostgresStores({ url: gate.url, schema, maxConnections: 4, parallelCommits: 4 });
    opened.push(whole);
    assert.equal(whole.capabilities.parallelCommits, 4, 'set explicitly, up to the whole pool');
    await assert.rejects(
      createPostgresStores({ url: gate.url, schema, maxConnections: 4, parallelCommits: 5 }),
      (err: unknown) => isDgwError(err) && err.code === 'INVALID_ARGUMENT' && /parallelCommits: 5 must be an integer from 1 to maxConnections \(4\)/.test(err.message),
    );
  });

  it('a commit stalled on a lock does not hold up the next batch', async () => {
    const set = await createPostgresStores({ url: gate.url, schema, maxConnections: 4, parallelCommits: 2 });
    opened.push(set);
    const clock = new ManualClock();
    const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('postgres', [['postgres', set]]) });
    const view = createEmbeddedStoreResolver('postgres', { stores: ['postgres'] });
    // A wide accept window: the stalled commit's own bound must not end this test.
    const doc = { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '120s' } }] };
    const stalled = parseTimeSeriesNamespace('stalled', doc, view).config;
    const free = parseTimeSeriesNamespace('free', doc, view).config;
    const ev = (id: string): EventRecord => ({
      timeSeriesId: 's',
      eventTimeMicros: clock.nowMicros(),
      eventId: id,
      items: [{ key: 'v', value: new TextEncoder().encode(id) }],
    });
    await engine.writeSync(stalled, [ev('warm-a')]);
    await engine.writeSync(free, [ev('warm-b')]);

    // Stall the first namespace's slice tables: a SHARE lock blocks INSERT, not SELECT.
    await admin.connect();
    const nsId = await admin.query<{ id: number }>(`SELECT id FROM "${schema}".namespace_ids WHERE namespace = $1`, ['stalled']);
    const tables = await admin.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2`,
      [schema, `ev\\_${nsId.rows[0]!.id}\\_%`],
    );
    assert.ok(tables.rows.length > 0);
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${tables.rows.map((r) => r.t).join(', ')} IN SHARE MODE`);

    let firstSettled = false;
    const first = engine.writeSync(stalled, [ev('a1')]).finally(() => {
      firstSettled = true;
    });
    first.catch(() => undefined);
    // This test's own INSERT (its schema in the text), not another test file's.
    let blocked = false;
    for (let i = 0; i < 1000 && !blocked; i++) {
      const waiting = await admin.query(`SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.query LIKE $1`, [
        `INSERT INTO "${schema}".%`,
      ]);
      blocked = (waiting.rowCount ?? 0) > 0;
      if (!blocked) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(blocked, 'the first commit waits on the lock');

    // The second batch commits while the first is still blocked (one at a time, it would
    // wait for the lock, which is held until after this check).
    const second = await Promise.race([
      engine.writeSync(free, [ev('b1')]).then(() => 'committed'),
      new Promise((r) => setTimeout(() => r('still waiting after 20 s'), 20_000).unref()),
    ]);
    assert.equal(second, 'committed');
    assert.equal(firstSettled, false, 'the first commit is still blocked on the lock');

    await admin.query('ROLLBACK');
    await first;
    assert.deepEqual((await seriesEventIds(engine, stalled, 's', clock.nowMicros() + 1)).sort(), ['a1', 'warm-a']);
    assert.deepEqual((await seriesEventIds(engine, free, 's', clock.nowMicros() + 1)).sort(), ['b1', 'warm-b']);
    await engine.shutdown();
  });
});
