/**
 * Issue 14 item 2 on real PostgreSQL: with the slice table locked (a stalled store), a
 * write used to wait for the lock and commit whenever it was released, long after its
 * retry had been refused as "older than the accept limit": the client was told "not
 * stored" and the write counted. Now:
 * - the store call is bounded by the event's accept window: PostgreSQL cancels the stalled
 *   INSERT and the transaction rolls back; the caller gets DEADLINE_EXCEEDED saying nothing
 *   is stored, and nothing is, even after the lock goes;
 * - a retry past the window while the first attempt is still in flight is answered
 *   UNAVAILABLE "outcome unknown", not "too old"; once the attempt is settled, "too old".
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock, MICROS_PER_SECOND } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, StoreSet } from '../../src/storage/contracts.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { failsWith } from '../support/fails-with.js';
import { seriesEventIds } from '../support/series-ids.js';

const gate = await backendTest('postgres');

describe('a stalled PostgreSQL never commits a write past its accept window', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_bound');
  const admin = new pg.Client({ connectionString: gate.url });
  let set: StoreSet | undefined;
  after(async () => {
    await admin.query('ROLLBACK').catch(() => undefined);
    await admin.end().catch(() => undefined);
    await set?.close();
    await dropPostgresSchema(schema, gate.url);
  });

  it('cancels and rolls back at the window end; a retry meanwhile is "outcome unknown"', async () => {
    set = await createPostgresStores({ url: gate.url, schema, maxConnections: 4 });
    const clock = new ManualClock();
    const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('postgres', [['postgres', set]]) });
    const view = createEmbeddedStoreResolver('postgres', { stores: ['postgres'] });
    const doc = {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', config: { acceptLimit: '5s' } },
        { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { tag: 'KEYWORD' } } } },
      ],
    };
    const config = parseTimeSeriesNamespace('boundns', doc, view).config;
    const now = clock.nowMicros();
    const ev = (id: string, time: number): EventRecord => ({
      timeSeriesId: 's',
      eventTimeMicros: time,
      eventId: id,
      items: [{ key: 'tag', value: new TextEncoder().encode('x') }],
    });
    await engine.writeSync(config, [ev('warm', now)]);

    // Stall: a SHARE lock on the slice tables blocks INSERT, not SELECT.
    await admin.connect();
    const tables = await admin.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'ev\\_%'`,
      [schema],
    );
    assert.ok(tables.rows.length > 0);
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${tables.rows.map((r) => r.t).join(', ')} IN SHARE MODE`);

    // 1.5 s of its accept window left (real time: the store bound is a real timeout).
    const event = ev('e1', now - 5 * MICROS_PER_SECOND + 1.5 * MICROS_PER_SECOND);
    const first = engine.writeSync(config, [event]);
    first.catch(() => undefined);
    // Wait until this test's INSERT is blocked on the lock (other tests running beside it
    // block INSERTs of their own schemas).
    for (let i = 0; i < 200; i++) {
      const waiting = await admin.query(`SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.query LIKE $1`, [`INSERT INTO "${schema}".%`]);
      if (waiting.rowCount) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // The window ends (on the engine's clock) while the first attempt is stalled: a retry
    // cannot be told "not stored".
    clock.advance(2 * MICROS_PER_SECOND);
    await assert.rejects(engine.writeSync(config, [event]), failsWith('UNAVAILABLE', /events\[0\]\.eventTime: past the accept limit, but an earlier attempt .* outcome is unknown/));

    // The first attempt is cancelled by PostgreSQL at the window end and rolled back.
    await assert.rejects(first, failsWith('DEADLINE_EXCEEDED', /rolled back: nothing of it is stored/));
    await admin.query('ROLLBACK');

    // Settled and not stored: now the retry is definitely too old, and the event is absent.
    await assert.rejects(engine.writeSync(config, [event]), failsWith('FAILED_PRECONDITION', /older than the accept limit/));
    assert.deepEqual(await seriesEventIds(engine, config, 's', clock.nowMicros() + 1), ['warm']);
    const indexed = await set.index!.count({ namespace: 'boundns', query: { all: true }, fromMicros: 0, toMicros: clock.nowMicros() + 1 });
    assert.equal(indexed, 1, 'no index document for the rolled-back event');
    await engine.shutdown();
  });
});
