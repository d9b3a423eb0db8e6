/**
 * The SQLite checkpoint thread (checkpointer.ts, docs/storage.md "WAL checkpoints off the
 * event loop"): its own connection on the database file copies committed WAL frames back
 * into the file every `intervalMs` with a PASSIVE checkpoint, which never waits for and
 * never blocks the writer or readers. The main connection's commits then never run a
 * checkpoint themselves.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointThreadData, CheckpointReport } from './checkpointer.js';

const { file, intervalMs } = workerData as CheckpointThreadData;
const db = new Database(file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
// The copy is durable before the WAL may be reset (SQLite syncs the database file first).
db.pragma('synchronous = FULL');

function checkpoint(): void {
  const started = performance.now();
  const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  const report: CheckpointReport = {
    type: 'checkpoint',
    frames: row?.log ?? 0,
    copied: row?.checkpointed ?? 0,
    seconds: (performance.now() - started) / 1000,
  };
  parentPort?.postMessage(report);
}

const timer = setInterval(() => {
  try {
    checkpoint();
  } catch (err) {
    // A failed checkpoint loses nothing (the frames stay in the WAL); the next one retries.
    parentPort?.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}, intervalMs);

parentPort?.on('message', (msg: { type: string }) => {
  if (msg.type !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
