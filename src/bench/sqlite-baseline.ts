/**
 * The raw SQLite baseline (issue 9): the rows WriteEventRecordsSync stores for a batch
 * of 100 events, inserted by better-sqlite3 directly, one transaction (one fsync) per
 * batch, in one process. The table is dgw's own slice table (sliceTableDdl), the pragmas
 * are those of dgw's SQLite database (storage/sqlite/database.ts: WAL, synchronous=FULL,
 * the same cache and checkpoint sizes), and each event is one row: series, time bucket,
 * event bucket, time, id, item key `deviceType`, one of four values. What is left out is
 * exactly dgw's own work: HTTP, decoding, validation, partitioning, the index outbox, the
 * group commit.
 *
 * The worker that runs it is the "server": the harness charges its CPU to the baseline
 * (ServerTarget.clientIsServer) and runs it with one loop, one writer as dgw has.
 */
import { openWithDgwPragmas } from './sqlite-pragmas.js';
import { sliceTableDdl, TIME_ORDERED_LAYOUT } from '../storage/sqlite/schema.js';
import type { Op } from './ops.js';

/** The spec of the baseline operation (a member of OpSpec). */
export interface SqliteOpSpec {
  kind: 'sqlite';
  /** Database file, in a directory the harness creates and removes. */
  file: string;
  batch: number;
  series: number;
}

const TABLE = 'ev_bench';
const HOUR_MICROS = 3_600_000_000;

/** Opens the database (creating the table) and returns the batch insert as an Op. */
export function sqliteOp(spec: SqliteOpSpec, tag: string): Op {
  const db = openWithDgwPragmas(spec.file);
  db.exec(sliceTableDdl(TABLE, TIME_ORDERED_LAYOUT));
  const insert = db.prepare(`INSERT OR IGNORE INTO "${TABLE}" VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`);
  const values = ['ios', 'android', 'web', 'tv'].map((d) => Buffer.from(d)); // ops.ts DEVICE_TYPES (not imported: ops.ts imports this file)
  let seq = 0;
  const batch = db.transaction((n: number) => {
    const now = Date.now() * 1000;
    for (let i = 0; i < n; i++) {
      const s = seq++;
      insert.run(`s${Math.floor(Math.random() * spec.series)}`, Math.floor(now / HOUR_MICROS), s & 3, now, `${tag}-${s}`, 'deviceType', values[s % 4]);
    }
  });
  const op: Op = {
    lastError: undefined,
    async run() {
      try {
        batch(spec.batch);
        // better-sqlite3 is synchronous: yield once per batch so the worker's timers (the
        // window's CPU sample) and IPC run, as they would between a server's requests.
        await new Promise<void>((resolve) => setImmediate(resolve));
        return 'ok';
      } catch (err) {
        op.lastError = err instanceof Error ? err.message : String(err);
        return 'error';
      }
    },
    close: async () => {
      db.close();
    },
  };
  return op;
}
