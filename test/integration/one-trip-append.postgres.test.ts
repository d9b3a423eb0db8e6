/**
 * Issue 9 on real PostgreSQL: a bounded append of one statement (one slice table, no index
 * or outbox documents) is sent as ONE autocommit statement on the append pool, whose
 * session statement_timeout is T (database.ts ONE_TRIP_TIMEOUT_MS), instead of BEGIN; SET
 * LOCAL statement_timeout, INSERT, COMMIT. Seen from pg_stat_activity: the INSERT runs on
 * a `dgw-append` connection and its transaction starts with it. Held on a lock, PostgreSQL
 * cancels it T after it starts, uncommitted, and the append goes on in a transaction with
 * what is left of its bound, failing at the bound as before (never committed). With less
 * than T + margin left, the transaction path runs at once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { EventStore, StoreSet } from '../../src/storage/contracts.js';
import { event, freshNamespace, SEC, slice, T0, write } from '../../src/storage/conformance/support.js';
import { ONE_TRIP_MARGIN_MS, ONE_TRIP_TIMEOUT_MS } from '../../src/storage/postgres/database.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { failsWith } from '../support/fails-with.js';

const gate = await backendTest('postgres');

/** What pg_stat_activity says of the backend running a blocked INSERT into `schema`. */
interface BlockedInsert {
  application_name: string;
  /** Whether the INSERT's transaction started with it (no BEGIN sent before). */
  own_transaction: boolean;
}

describe('a bounded one-statement append on PostgreSQL takes one round trip', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_onetrip');
  const admin = new pg.Client({ connectionString: gate.url });
  let set: StoreSet | undefined;
  const s0 = slice();
  const part = (ns: string) => ({ namespace: ns, sliceId: s0.sliceId, partition: { timeSeriesId: 'a', timeBucket: 0, eventBucket: 0 }, fromMicros: s0.startMicros, toMicros: s0.endMicros, limit: 100 });
  const ids = async (events: EventStore, ns: string) => (await events.scanPartition(part(ns))).map((e) => e.eventId).sort();
  after(async () => {
    await admin.query('ROLLBACK').catch(() => undefined);
    await admin.end().catch(() => undefined);
    await set?.close();
    await dropPostgresSchema(schema, gate.url);
  });

  async function open(): Promise<EventStore> {
    if (!set) {
      set = await createPostgresStores({ url: gate.url, schema, maxConnections: 4 });
      await admin.connect();
    }
    return set.events!;
  }

  /** The physical table of a namespace's test slice. */
  async function sliceTable(ns: string): Promise<string> {
    const { rows } = await admin.query<{ id: number }>(`SELECT id FROM "${schema}".namespace_ids WHERE namespace = $1`, [ns]);
    return `"${schema}"."ev_${rows[0]!.id}_${s0.sliceId}"`;
  }

  /** Waits until an INSERT into this test's schema is blocked on a lock; what runs it. */
  async function blockedInsert(): Promise<BlockedInsert> {
    for (let i = 0; i < 500; i++) {
      // The admin's transaction (holding the lock) would otherwise keep its first snapshot.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await admin.query<BlockedInsert>(
        `SELECT a.application_name, a.xact_start = a.query_start AS own_transaction
           FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE NOT l.granted AND a.query LIKE $1`,
        [`INSERT INTO "${schema}".%`],
      );
      if (rows[0]) return rows[0];
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail('no INSERT of this test waits on the lock');
  }

  /** Settles `p`, or fails the test once `ms` have passed (the bound's end is far later). */
  async function settledWithin<T>(p: Promise<T>, ms: number): Promise<{ elapsedMs: number; err: unknown }> {
    const started = performance.now();
    const outcome = await Promise.race([
      p.then(
        () => ({ err: undefined }),
        (err: unknown) => ({ err }),
      ),
      new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref()),
    ]);
    assert.notEqual(outcome, 'late', `still running after ${ms} ms`);
    return { elapsedMs: performance.now() - started, err: (outcome as { err: unknown }).err };
  }

  it('held on a lock, it is cancelled by PostgreSQL T after it starts, goes on in a transaction until its bound, and never commits', async () => {
    const events = await open();
    const ns = freshNamespace('onetrip');
    await events.createSlice(ns, s0);
    await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'warm', { k: '1' }))], { timeoutMicros: 30 * SEC });
    const table = await sliceTable(ns);

    // A SHARE lock blocks INSERT. The bound leaves room for the one-trip path and 1.5 s more.
    const boundMs = ONE_TRIP_TIMEOUT_MS + ONE_TRIP_MARGIN_MS + 1500;
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${table} IN SHARE MODE`);
    const started = performance.now();
    const stalled = events.appendEvents([write(ns, s0, event('a', T0 + 2 * SEC, 'e1', { k: '1' }))], { timeoutMicros: boundMs * 1000 });
    stalled.catch(() => undefined);
    assert.deepEqual(await blockedInsert(), { application_name: 'dgw-append', own_transaction: true }, 'first: one autocommit statement on the append pool');
    // PostgreSQL cancels it at T, uncommitted; the rest of the bound runs in a transaction.
    await new Promise((r) => setTimeout(r, Math.max(0, ONE_TRIP_TIMEOUT_MS + 300 - (performance.now() - started))));
    assert.deepEqual(await blockedInsert(), { application_name: 'dgw', own_transaction: false }, 'then: BEGIN … INSERT on the main pool');
    const { err } = await settledWithin(stalled, boundMs + 5000);
    const elapsedMs = performance.now() - started;
    failsWith('DEADLINE_EXCEEDED', new RegExp(`could not commit within the accept window \\(${boundMs} ms left\\).*rolled back: nothing of it is stored`))(err);
    assert.ok(elapsedMs >= boundMs - 50 && elapsedMs < boundMs + 1500, `failed after ${Math.round(elapsedMs)} ms, the bound is ${boundMs} ms`);

    // Once the lock goes, nothing of the cancelled statement commits.
    await admin.query('ROLLBACK');
    assert.deepEqual(await ids(events, ns), ['warm']);

    // First write wins on this path too; a later bounded append commits.
    await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'warm', { k: '2' })), write(ns, s0, event('a', T0 + 2 * SEC, 'e1', { k: '1' }))], { timeoutMicros: 30 * SEC });
    const stored = await events.scanPartition(part(ns));
    assert.deepEqual(stored.map((e) => e.eventId).sort(), ['e1', 'warm']);
    assert.equal(new TextDecoder().decode(stored.find((e) => e.eventId === 'warm')!.items[0]!.value), '1');

    // A statement failing for another reason keeps its error: a dropped table is "no slice".
    await admin.query(`DROP TABLE ${table}`);
    await assert.rejects(
      events.appendEvents([write(ns, s0, event('a', T0 + 3 * SEC, 'e2', { k: '1' }))], { timeoutMicros: 30 * SEC }),
      failsWith('FAILED_PRECONDITION', /does not exist or was dropped; nothing of the batch was written/),
    );
  });

  it('takes the transaction path when less than T + margin is left, the one-trip path just above', async () => {
    const events = await open();
    const ns = freshNamespace('onetrip');
    await events.createSlice(ns, s0);
    await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'warm', { k: '1' }))]);
    const table = await sliceTable(ns);
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${table} IN SHARE MODE`);
    const needed = ONE_TRIP_TIMEOUT_MS + ONE_TRIP_MARGIN_MS;

    for (const [leftMs, path, cancelAfterMs] of [
      // Cancelled at T, then in a transaction until the bound.
      [needed + 400, { application_name: 'dgw-append', own_transaction: true }, needed + 400],
      [needed - 400, { application_name: 'dgw', own_transaction: false }, needed - 400],
    ] as const) {
      const started = performance.now();
      const stalled = events.appendEvents([write(ns, s0, event('a', T0 + 2 * SEC, `e${leftMs}`, { k: '1' }))], { timeoutMicros: leftMs * 1000 });
      stalled.catch(() => undefined);
      assert.deepEqual(await blockedInsert(), path, `${leftMs} ms left`);
      const { err } = await settledWithin(stalled, leftMs + 5000);
      const elapsedMs = performance.now() - started;
      failsWith('DEADLINE_EXCEEDED', /rolled back: nothing of it is stored/)(err);
      assert.ok(elapsedMs >= cancelAfterMs - 50 && elapsedMs < cancelAfterMs + 1500, `${leftMs} ms left: cancelled after ${Math.round(elapsedMs)} ms`);
    }
    await admin.query('ROLLBACK');
    assert.deepEqual(await ids(events, ns), ['warm']);
  });

  it('the append pool holds at most parallelCommits connections, runs nothing else, and closes with the store', async () => {
    const events = await open();
    const ns = freshNamespace('onetrip');
    await events.createSlice(ns, s0);
    assert.equal(set!.capabilities.parallelCommits, 2);
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => events.appendEvents([write(ns, s0, event('a', T0 + SEC + i, `p${i}`, { k: '1' }))], { timeoutMicros: 30 * SEC })),
    );
    assert.equal((await ids(events, ns)).length, 24);

    // A read held longer than T by a lock is not cancelled: it runs on the main pool.
    const table = await sliceTable(ns);
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const read = events.scanPartition(part(ns));
    read.catch(() => undefined);
    await new Promise((r) => setTimeout(r, ONE_TRIP_TIMEOUT_MS + 500));
    await admin.query('ROLLBACK');
    assert.equal((await read).length, 24);

    // This test's schema in the last statement of each connection tells them from other tests'.
    const appendBackends = async () =>
      (
        await admin.query<{ application_name: string; statement: string }>(
          `SELECT application_name, left(query, 6) AS statement FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`,
          [`%"${schema}".%`],
        )
      ).rows.filter((r) => r.application_name === 'dgw-append');
    const backends = await appendBackends();
    assert.ok(backends.length >= 1 && backends.length <= 2, `${backends.length} append connections`);
    assert.deepEqual(new Set(backends.map((b) => b.statement)), new Set(['INSERT']));

    await set!.close();
    set = undefined;
    let left = backends.length;
    for (let i = 0; i < 200 && left > 0; i++) {
      left = (await appendBackends()).length;
      if (left > 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(left, 0, 'the append connections close with the store');
  });
});
