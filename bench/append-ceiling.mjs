// What a durable append of WriteEventRecordsSync's rows costs in SQLite itself, by layout,
// in process (no HTTP, no dgw): the ceiling each write-path design could reach on this
// machine (BENCHMARKS.md, issue 9's twelfth pass). Every layout takes the bench's rows
// (batches of 100 events, one item each, spread over 1,000 series, stamped now) into a file
// database with dgw's pragmas (WAL, synchronous=FULL), one transaction per batch:
//
//   ordered   INSERT OR IGNORE into dgw's slice table (key: series, time bucket, time, id,
//             item): first write wins on the key, one B-tree leaf per series touched.
//   indexed   appended to a rowid log with a UNIQUE index on the same key (dedupe on disk).
//   staged    appended to a rowid log, deduplicated by a set of keys in memory plus a point
//             read of the slice table, and moved into the slice table in key order every
//             --move rows (one transaction): a log-structured write path, the move counted.
//   appended  appended to a rowid log, nothing else: no dedupe, no series order (a floor
//             that cannot serve a series read; for reference).
//
// Usage (after `npm run build`): node bench/append-ceiling.mjs [--seconds 5] [--series 1000] [--preload 300000]
//                                       [--move 20000] [--batch 100] [--dir DIR] [LAYOUT ...]
// (`--series 100 --batch 20`: AddCount's commits, ~20 adds over the bench's 100 counters.)
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// After `npm run build`, as the other bench scripts: the conformance suites' seeded generator.
import { seeded } from '../dist/storage/conformance/seeded.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    series: { type: 'string', default: '1000' },
    preload: { type: 'string', default: '300000' },
    move: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    dir: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const SERIES = Number(values.series);
const PRELOAD = Number(values.preload);
const MOVE_EVERY = Number(values.move);
const BATCH = Number(values.batch);
const LAYOUTS = ['ordered', 'indexed', 'staged', 'appended'];
const chosen = positionals.length > 0 ? positionals : LAYOUTS;
for (const l of chosen) if (!LAYOUTS.includes(l)) throw new Error(`unknown layout ${l} (one of ${LAYOUTS.join(', ')})`);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'dgw-append-ceiling-'));

const COLUMNS = `time_series_id TEXT NOT NULL, time_bucket INTEGER NOT NULL, event_bucket INTEGER NOT NULL,
  event_time INTEGER NOT NULL, event_id TEXT NOT NULL, event_item_key TEXT NOT NULL,
  event_item_value BLOB NOT NULL, value_metadata TEXT`;
const KEY = 'time_series_id, time_bucket, event_time DESC, event_id, event_item_key';
const NAMES = 'time_series_id, time_bucket, event_bucket, event_time, event_id, event_item_key, event_item_value';
const VALUE = Buffer.from('ios');
function open(layout) {
  const file = join(dir, `${layout}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const db = new Database(file);
  // dgw's pragmas (src/storage/sqlite/database.ts).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('journal_size_limit = 67108864');
  db.exec(`CREATE TABLE ev (${COLUMNS}, PRIMARY KEY (${KEY})) WITHOUT ROWID`);
  db.exec(`CREATE TABLE stage (seq INTEGER PRIMARY KEY, ${COLUMNS})`);
  if (layout === 'indexed') db.exec(`CREATE UNIQUE INDEX stage_key ON stage (${KEY})`);
  // The slice table holds older events of the same series, as a namespace in use does.
  const insert = db.prepare(`INSERT INTO ev (${NAMES}) VALUES (?, 0, 0, ?, ?, 'deviceType', ?)`);
  const start = Date.now() * 1000 - 3_600_000_000;
  db.transaction(() => {
    for (let i = 0; i < PRELOAD; i++) insert.run(`s${i % SERIES}`, start + i, `p${i}`, VALUE);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  return db;
}

function run(layout) {
  const db = open(layout);
  const ordered = db.prepare(`INSERT OR IGNORE INTO ev (${NAMES}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const append = db.prepare(`INSERT ${layout === 'indexed' ? 'OR IGNORE ' : ''}INTO stage (${NAMES}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const stored = db.prepare('SELECT 1 FROM ev WHERE time_series_id = ? AND time_bucket = ? AND event_time = ? AND event_id = ? AND event_item_key = ?').pluck();
  const last = db.prepare('SELECT max(seq) FROM stage').pluck();
  const move = db.prepare(`INSERT OR IGNORE INTO ev (${NAMES}) SELECT ${NAMES} FROM stage WHERE seq <= ? ORDER BY ${KEY}`);
  const clear = db.prepare('DELETE FROM stage WHERE seq <= ?');
  const staged = new Set();
  const random = seeded(9);
  let seq = 0;
  let events = 0;
  let moved = 0;
  let moveMs = 0;
  const moveAll = () => {
    const m0 = performance.now();
    db.transaction(() => {
      const upTo = last.get();
      move.run(upTo);
      clear.run(upTo);
    })();
    moveMs += performance.now() - m0;
    moved += staged.size;
    staged.clear();
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const now = Date.now() * 1000;
    const rows = [];
    for (let i = 0; i < BATCH; i++) rows.push([`s${Math.floor(random() * SERIES)}`, 0, 0, now, `e${seq++}`, 'deviceType', VALUE]);
    if (layout === 'ordered') {
      db.transaction(() => {
        for (const r of rows) ordered.run(r);
      })();
    } else if (layout === 'staged') {
      db.transaction(() => {
        for (const r of rows) {
          const key = `${r[0]}\u0000${r[3]}\u0000${r[4]}\u0000${r[5]}`;
          if (staged.has(key) || stored.get(r[0], r[1], r[3], r[4], r[5]) !== undefined) continue;
          staged.add(key);
          append.run(r);
        }
      })();
      if (staged.size >= MOVE_EVERY) moveAll();
    } else {
      db.transaction(() => {
        for (const r of rows) append.run(r);
      })();
    }
    events += BATCH;
  }
  // What is still staged is moved inside the measurement: every counted event pays its move.
  if (layout === 'staged' && staged.size > 0) moveAll();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  db.close();
  const cpuPerEvent = (cpu.user + cpu.system) / events;
  const moveNote = layout === 'staged' ? `; moved ${moved.toLocaleString('en-US')} in ${(moveMs / 1000).toFixed(2)} s (${moved ? ((moveMs * 1000) / moved).toFixed(1) : '-'} µs/event)` : '';
  console.log(`${layout.padEnd(9)} ${Math.round(events / wallS).toLocaleString('en-US').padStart(9)} events/s  ${cpuPerEvent.toFixed(1).padStart(5)} µs CPU/event${moveNote}`);
}

console.log(`SQLite ${new Database(':memory:').prepare('SELECT sqlite_version()').pluck().get()}, batches of ${BATCH} over ${SERIES} series, ${PRELOAD.toLocaleString('en-US')} preloaded, ${SECONDS} s each, ${dir}`);
try {
  for (const layout of chosen) run(layout);
} finally {
  if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
}
