/**
 * WAL checkpoints off the event loop (checkpointer.ts, docs/storage.md): while the
 * checkpoint thread runs, the main connection's commits never checkpoint (its automatic
 * checkpoint is off) and the thread copies the committed frames into the database file;
 * when the thread cannot run, or reports failures, or closes, the commits checkpoint again,
 * so the WAL never grows without bound. The store opens with the thread and keeps its data.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteCheckpointer } from '../../src/storage/sqlite/checkpointer.js';
import { SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';
import { tempDir } from '../support/temp-dir.js';

const autoCheckpoint = (sql: SqliteDatabase): number => sql.db.pragma('wal_autocheckpoint', { simple: true }) as number;

/** Waits (event-driven, bounded) until `done()` holds. */
async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done(), `timed out waiting until ${what}`);
}

/** Commits `n` transactions of one 16 KiB row each: a few WAL frames per commit. */
function commitRows(sql: SqliteDatabase, n: number): void {
  sql.db.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, pad BLOB)');
  const insert = sql.db.prepare('INSERT INTO filler (pad) VALUES (zeroblob(16384))');
  for (let i = 0; i < n; i++) insert.run();
}

describe('sqlite checkpoint thread', () => {
  it('copies the WAL into the file while the commits checkpoint nothing themselves', async () => {
    const sql = new SqliteDatabase(join(tempDir(), 'ckpt.sqlite'));
    assert.equal(autoCheckpoint(sql), 10_000, 'without the thread, commits checkpoint every 10,000 frames');
    const checkpointer = new SqliteCheckpointer(sql, { intervalMs: 20 });
    try {
      assert.equal(autoCheckpoint(sql), 0, 'with the thread, the commits do not');
      commitRows(sql, 50);
      await until('the thread copied frames', () => checkpointer.framesCopied >= 50 * 4);
      // Everything committed is in the database file: nothing is left for a checkpoint.
      const [left] = sql.db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
      assert.equal(left!.log, left!.checkpointed);
      assert.equal(checkpointer.lastError, undefined);
    } finally {
      await checkpointer.close();
    }
    assert.equal(checkpointer.running, false);
    assert.equal(autoCheckpoint(sql), 10_000, 'closed: the commits checkpoint again');
    sql.close();
  });

  it('a thread that cannot open its file ends, and the commits checkpoint again', async () => {
    const sql = new SqliteDatabase(join(tempDir(), 'ckpt.sqlite'));
    const checkpointer = new SqliteCheckpointer(sql, { file: join(tempDir(), 'missing', 'none.sqlite') });
    try {
      await until('the thread ended', () => !checkpointer.running);
      assert.equal(autoCheckpoint(sql), 10_000);
      assert.match(checkpointer.lastError ?? '', /unable to open|no such file|directory/i);
    } finally {
      await checkpointer.close();
      sql.close();
    }
  });

  it('the store runs it by default and keeps every committed row across close and reopen', async () => {
    const dataDir = tempDir();
    const stores = createSqliteStores({ dataDir });
    for (let i = 0; i < 200; i++) await stores.namespaces!.put('counter', `n${i}`, { a: i }, 1);
    await stores.close();
    const again = createSqliteStores({ dataDir, checkpointThread: false });
    try {
      for (const i of [0, 99, 199]) assert.deepEqual((await again.namespaces!.get('counter', `n${i}`))?.config, { a: i });
    } finally {
      await again.close();
    }
  });
});
