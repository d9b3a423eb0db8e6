/**
 * The SQLite writer thread (docs/storage.md, "Writes in a writer thread"): appends of a
 * file database are committed by a second connection in a worker thread. What must hold:
 * the thread really commits them (an append waiting for the write lock leaves the event
 * loop free), an acknowledged append is visible to a read at once and after reopening,
 * failures come back as the DgwErrors of the inline path, and close ends the thread.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DgwError, isDgwError } from '../../src/kernel/errors.js';
import type { EventWrite, IndexDoc } from '../../src/storage/contracts.js';
import { fromWire, toWire } from '../../src/storage/sqlite/append-wire.js';
import { SqliteAppendWriter } from '../../src/storage/sqlite/append-writer.js';
import { translateSqliteError } from '../../src/storage/sqlite/errors.js';
import { sliceTableDdl, TIME_ORDERED_LAYOUT } from '../../src/storage/sqlite/schema.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';
import { tempDir } from '../support/temp-dir.js';

const T0 = Date.UTC(2024, 9, 3) * 1000;
const slice = { sliceId: T0 / 1e6, startMicros: T0, endMicros: T0 + 3600e6, status: 'ACTIVE' as const, secondsPerTimeBucket: 60, eventBuckets: 2 };
const partition = { timeSeriesId: 'dev1', timeBucket: 0, eventBucket: 1 };

function write(id: string, offset: number): EventWrite {
  const event = { timeSeriesId: 'dev1', eventTimeMicros: T0 + offset, eventId: id, items: [{ key: 'k', value: new Uint8Array([offset & 255]) }] };
  return { namespace: 'ns', sliceId: slice.sliceId, partition, event };
}

function doc(w: EventWrite): IndexDoc {
  return { namespace: w.namespace, event: w.event, fields: [{ key: 'k', type: 'KEYWORD', value: w.event.eventId }] };
}

const scan = { namespace: 'ns', sliceId: slice.sliceId, partition, fromMicros: T0, toMicros: T0 + 1000, limit: 100 };

/** Resolves after `n` turns of the event loop. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('sqlite writer thread', () => {
  it('commits appends off the event loop: one waiting for the write lock leaves the loop free', async () => {
    const dataDir = tempDir();
    const stores = createSqliteStores({ dataDir, writerThread: true });
    try {
      await stores.events!.createSlice('ns', slice);
      const other = new Database(join(dataDir, 'dgw.sqlite'));
      other.exec('BEGIN IMMEDIATE');
      let settled = false;
      // Inline, this call would block the loop in the busy handler (5 s) and then fail.
      const append = stores.events!.appendEvents([write('e1', 1)]).finally(() => {
        settled = true;
      });
      await turns(20);
      assert.equal(settled, false, 'the append waits for the lock without blocking the loop');
      other.exec('ROLLBACK');
      other.close();
      await append;
      assert.deepEqual((await stores.events!.scanPartition(scan)).map((e) => e.eventId), ['e1']);
    } finally {
      await stores.close();
    }
  });

  it('makes an acknowledged append, its index documents and outbox entries readable at once and after reopening', async () => {
    const dataDir = tempDir();
    const first = createSqliteStores({ dataDir, writerThread: true });
    await first.events!.createSlice('ns', slice);
    const writes = Array.from({ length: 150 }, (_, i) => write(`e${i}`, i));
    // Concurrent appends: the writer may put them in one transaction; each is acknowledged alone.
    await Promise.all([
      first.events!.appendEvents(writes.slice(0, 100), { indexDocs: writes.slice(0, 100).map(doc) }),
      first.events!.appendEvents(writes.slice(100), { outboxDocs: writes.slice(100).map(doc) }),
    ]);
    assert.equal((await first.events!.scanPartition({ ...scan, limit: 1000 })).length, 150);
    const query = { equals: { key: 'k', value: 'e7' } };
    assert.deepEqual((await first.index!.search({ namespace: 'ns', query, fromMicros: T0, toMicros: T0 + 1000, limit: 5 })).map((e) => e.eventId), ['e7']);
    assert.equal((await first.events!.readIndexOutbox!('ns', 100)).length, 50);
    await first.close();

    const second = createSqliteStores({ dataDir, writerThread: true });
    try {
      assert.equal((await second.events!.scanPartition({ ...scan, limit: 1000 })).length, 150);
      assert.equal((await second.events!.readIndexOutbox!('ns', 100)).length, 50);
      // A second write of the same items changes nothing (first write wins) on the thread too.
      await second.events!.appendEvents([{ ...write('e1', 1), event: { ...write('e1', 1).event, items: [{ key: 'k', value: new Uint8Array([99]) }] } }]);
      const e1 = (await second.events!.scanPartition({ ...scan, limit: 1000 })).find((e) => e.eventId === 'e1');
      assert.deepEqual([...e1!.items[0]!.value], [1]);
    } finally {
      await second.close();
    }
  });

  for (const writerThread of [true, false]) {
    it(`answers allNew only when every row was newly inserted (${writerThread ? 'writer thread' : 'inline'})`, async () => {
      const stores = createSqliteStores({ dataDir: tempDir(), writerThread });
      try {
        const events = stores.events!;
        await events.createSlice('ns', slice);
        const allNew = async (writes: EventWrite[]) => (await events.appendEvents(writes))?.allNew;
        assert.equal(await allNew([write('a', 1), write('b', 2)]), true);
        assert.equal(await allNew([write('a', 1)]), false, 'a retry');
        assert.equal(await allNew([write('c', 3), write('a', 1)]), false, 'one retry among new rows');
        assert.equal(await allNew([write('d', 4), write('d', 4)]), false, 'the same row twice in one call');
        const many = Array.from({ length: 150 }, (_, i) => write(`m${i}`, 10 + i));
        assert.equal(await allNew(many), true, 'several statements');
        assert.equal(await allNew([...many.slice(0, 149), write('n', 500)].reverse()), false);
        // Concurrent calls (one transaction on the thread), each answered for its own rows.
        const answers = await Promise.all([allNew([write('p', 600)]), allNew([write('b', 2)]), allNew([write('q', 601)])]);
        assert.deepEqual(answers, [true, false, true]);
      } finally {
        await stores.close();
      }
    });
  }

  it('fails one request of a group alone, reports a missing table as FAILED_PRECONDITION, and ends the thread on close', async () => {
    const dataDir = tempDir();
    await createSqliteStores({ dataDir }).close();
    const file = join(dataDir, 'dgw.sqlite');
    const db = new Database(file);
    db.exec(sliceTableDdl('ev_t', TIME_ORDERED_LAYOUT));
    const row = (id: string): unknown[] => ['s', 0, 0, T0, id, 'k', new Uint8Array([1])];
    const writer = new SqliteAppendWriter(file);
    const empty = { docs: [], outbox: [] };
    const [ok, dropped, late] = await Promise.allSettled([
      writer.append({ tables: [['ev_t', row('a')]], ...empty }),
      writer.append({ tables: [['ev_gone', row('b')]], ...empty }),
      writer.append({ tables: [['ev_t', row('c')]], ...empty }, 1),
    ]);
    assert.equal(ok.status, 'fulfilled');
    assert.ok(dropped.status === 'rejected' && isDgwError(dropped.reason) && dropped.reason.code === 'FAILED_PRECONDITION', String(dropped.status === 'rejected' && dropped.reason));
    assert.ok(late.status === 'rejected' && isDgwError(late.reason) && late.reason.code === 'DEADLINE_EXCEEDED');
    assert.deepEqual(db.prepare('SELECT event_id FROM ev_t').pluck().all(), ['a']);
    assert.equal(writer.running, true);
    await writer.close();
    assert.equal(writer.running, false);
    await assert.rejects(writer.append({ tables: [['ev_t', row('d')]], ...empty }), (err: unknown) => translateSqliteError(err, 'w').code === 'UNAVAILABLE');
    db.close();
  });

  it('carries errors across the thread as the DgwErrors of the inline path', () => {
    const native = (code: string): Error => Object.assign(new Error(`${code} happened`), { code });
    for (const [code, expected] of [
      ['SQLITE_BUSY', 'UNAVAILABLE'],
      ['SQLITE_FULL', 'UNAVAILABLE'],
      ['SQLITE_IOERR_FSYNC', 'UNAVAILABLE'],
      ['SQLITE_CONSTRAINT_PRIMARYKEY', 'INTERNAL'],
      ['SQLITE_NOMEM', 'RESOURCE_EXHAUSTED'],
    ] as const) {
      const direct = translateSqliteError(native(code), 'sqlite.events.appendEvents');
      const crossed = translateSqliteError(fromWire(structuredClone(toWire(native(code)))), 'sqlite.events.appendEvents');
      assert.equal(crossed.code, expected);
      assert.equal(crossed.message, direct.message);
      assert.deepEqual(crossed.details, direct.details);
    }
    const closed = fromWire(structuredClone(toWire(new TypeError('The database connection is not open'))));
    assert.equal(translateSqliteError(closed, 'x').code, 'UNAVAILABLE');
    const dgw = fromWire(structuredClone(toWire(new DgwError('FAILED_PRECONDITION', 'gone', { details: [{ reason: 'r' }] }))));
    assert.ok(isDgwError(dgw) && dgw.code === 'FAILED_PRECONDITION' && dgw.message === 'gone' && dgw.details[0]?.reason === 'r');
  });
});
