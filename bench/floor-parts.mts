/**
 * What the hand-written floors' figures are made of (issue 9, src/bench/floor-sqlite.ts;
 * run right after the bench, under the same lock):
 *
 * - read: in this process, CPU per call of the floor's page statement (101 rows over the
 *   floor's table preloaded with 1,000,000 events, a random series each time) as objects and
 *   as arrays, and of building the page answer (objects + JSON.stringify). No HTTP.
 * - add: the floor server in its own process driven by the bench's client worker at 50 and 4
 *   in flight (warm-up 2 s + 10 s), with its group commits read from `GET /stats`: adds per
 *   commit, commits per second, commits over 4 ms (fsync stalls), the longest.
 *
 *   node --import tsx bench/floor-parts.mts [EVENTS=1000000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ClientPool, measure } from '../src/bench/driver.js';
import { isoMicros, openFloorSqlite, type FloorCommitStats } from '../src/bench/floor-sqlite.js';
import { startFloorServer } from '../src/bench/floor-server.js';

const events = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'dgw-floor-parts-'));

try {
  const series = Math.max(1, Math.round(events / 1000));
  openFloorSqlite(join(dir, 'floor.db'), { preload: { events, series } }).close();
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('cache_size = -65536');
  const page = db.prepare('SELECT time, id, k, v FROM events WHERE series = ? AND time >= ? AND time < ? ORDER BY time DESC, id DESC LIMIT ?');
  const pageRaw = db.prepare(page.source).raw(true);
  const start = (Date.now() - 2 * 3600_000) * 1000;
  const end = (Date.now() + 600_000) * 1000;
  const rows = page.all('s1', start, end, 101) as { time: number; id: string; k: string; v: Buffer }[];
  const cpu = (label: string, f: (i: number) => unknown, n = 40_000) => {
    for (let i = 0; i < n / 10; i++) f(i);
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) f(i);
    const c = process.cpuUsage(c0);
    console.log(`read: ${label}: ${((c.user + c.system) / n).toFixed(1)} µs CPU per call`);
  };
  for (let round = 0; round < 2; round++) {
    cpu('statement, 101 rows as objects', (i) => page.all(`s${i % series}`, start, end, 101));
    cpu('statement, 101 rows as arrays', (i) => pageRaw.all(`s${i % series}`, start, end, 101));
    cpu('page of 100 as objects + JSON.stringify', () =>
      JSON.stringify({
        events: rows.slice(0, 100).map((r) => ({ timeSeriesId: 's1', eventTime: isoMicros(r.time), eventId: r.id, eventItems: [{ eventItemKey: r.k, eventItemValue: r.v.toString('base64') }] })),
        nextPageToken: Buffer.from(JSON.stringify({ time: rows[99]!.time, id: rows[99]!.id })).toString('base64url'),
      }),
    );
  }
  db.close();

  const floor = await startFloorServer({ dir });
  const pool = new ClientPool(1);
  const stats = async () => (await (await fetch(`${floor.origin}/stats`)).json()) as FloorCommitStats;
  try {
    for (const concurrency of [50, 50, 4]) {
      const s0 = await stats();
      const t0 = performance.now();
      const m = await measure(
        { kind: 'http', origin: floor.origin, path: '/sqlite/AddCount', body: { gen: 'addCount', namespace: 'n', counters: 100, token: true } },
        { pool, concurrency, clients: 1, warmupMs: 2000, durationMs: 10_000, target: { pids: () => [floor.pid] } },
      );
      const s1 = await stats();
      const secs = (performance.now() - t0) / 1000;
      const adds = s1.adds - s0.adds;
      const commits = s1.commits - s0.commits;
      const q = (p: number) => (m.histogram.quantile(p) / 1000).toFixed(2);
      console.log(
        `add, ${concurrency} in flight: ${Math.round(m.ok / m.measuredS)}/s, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, p99.9 ${q(0.999)} ms, ` +
          `${(((m.serverCpuPct ?? 0) * 10_000 * m.measuredS) / m.ok).toFixed(1)} µs CPU per add; over warm-up and window: ` +
          `${(adds / commits).toFixed(1)} adds per commit, ${Math.round(commits / secs)} commits/s, ${((s1.over4ms - s0.over4ms) / secs).toFixed(1)} commits/s over 4 ms, longest so far ${s1.maxMs.toFixed(1)} ms`,
      );
    }
  } finally {
    await pool.close();
    await floor.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
