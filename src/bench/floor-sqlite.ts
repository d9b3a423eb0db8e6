/**
 * The SQLite routes of the floor server (issue 9, src/bench/floor-server.ts): what a team
 * writing the service by hand with node:http and better-sqlite3 would do, and nothing more,
 * so dgw's rows can be divided by what any Node service does on the same machine.
 *
 * - A read: the body dgw's ReadEventRecords gets, a page from one table holding one row per
 *   event (primary key (series, time, id), WITHOUT ROWID: the rows of a series lie together
 *   in key order), read on the main thread, answered as `JSON.stringify` of plain objects
 *   in dgw's wire shape (values base64, newest first, a next-page token).
 * - An add: the AddCount body, one row appended, the requests of one event-loop turn
 *   committed in one transaction (synchronous=FULL: each commit waits for its fsync), each
 *   answered once its commit is done: the least a durable add costs. With the `ordered`
 *   layout ({@link FloorAddLayout}) the row goes into a table keyed as dgw keys a counter's
 *   events, so a retried add is stored once (bench/http-floor.mts).
 *
 * The pragmas are dgw's (storage/sqlite/database.ts). Nothing of dgw is imported.
 */
import { openWithDgwPragmas } from './sqlite-pragmas.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How the floor's read table is preloaded: dgw's read namespace, same size, series and span. */
export interface FloorPreload {
  events: number;
  series: number;
}

/** Writes an answer: status and JSON text (node:http's {@link answer}, or another engine's). */
export type FloorReply = (status: number, body: string) => void;

/**
 * The adds' table: `append` (rowid, no dedupe: the least a durable add costs) or `ordered`
 * (WITHOUT ROWID, key (name, time, token), first write wins: a counter's rows together and a
 * retry stored once, as dgw's slice table keeps them). An add's time is its token's
 * `generation_time` (dgw's event time of an add), the time of arrival for an add without
 * a token; an add without a token gets a token of its own, so it is never taken for a
 * retry.
 */
export type FloorAddLayout = 'append' | 'ordered';

/** How {@link openFloorSqlite} sets the floor up. */
export interface FloorSqliteOptions {
  /** The read table's preload; none when absent. */
  preload?: FloorPreload | undefined;
  /** The adds' table ({@link FloorAddLayout}); `append` when absent. */
  addLayout?: FloorAddLayout | undefined;
  /** The clock of an add without a token, µs since the epoch (tests); `Date.now() * 1000` when absent. */
  nowMicros?: (() => number) | undefined;
}

/** The SQLite routes over one database file. */
export interface FloorSqlite {
  read(body: string, res: ServerResponse): void;
  add(body: string, reply: FloorReply): void;
  /** What the adds' group commits did so far (`GET /stats` of the floor server). */
  stats(): FloorCommitStats;
  close(): void;
}

/** The adds' group commits: how many, how big, how long (wall time, fsync included). */
export interface FloorCommitStats {
  adds: number;
  commits: number;
  /** Commits that took over 4 ms. */
  over4ms: number;
  maxMs: number;
}

/** The four item values of the bench's events (ops.ts DEVICE_TYPES; not imported: no dgw code here). */
const DEVICE_TYPES = ['ios', 'android', 'web', 'tv'];
const HOUR_MS = 3_600_000;

/**
 * Opens (creates) the database and, when `options.preload` is given, fills the events table
 * in one transaction: event i of series `s<i mod series>`, id `p<i>`, times spread evenly
 * over the last hour in the order i (the order dgw's preload writes them, preloadReads in
 * dgw-setup.ts). The adds' table has `options.addLayout`.
 */
export function openFloorSqlite(file: string, options: FloorSqliteOptions = {}): FloorSqlite {
  const { preload, addLayout = 'append', nowMicros = () => Date.now() * 1000 } = options;
  const db = openWithDgwPragmas(file);
  db.exec(`CREATE TABLE IF NOT EXISTS events (
    series TEXT NOT NULL, time INTEGER NOT NULL, id TEXT NOT NULL, k TEXT NOT NULL, v BLOB NOT NULL,
    PRIMARY KEY (series, time, id)) WITHOUT ROWID`);
  db.exec(
    addLayout === 'ordered'
      ? 'CREATE TABLE IF NOT EXISTS adds (name TEXT NOT NULL, token TEXT NOT NULL, delta INTEGER NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (name, time, token)) WITHOUT ROWID'
      : 'CREATE TABLE IF NOT EXISTS adds (name TEXT NOT NULL, token TEXT, delta INTEGER NOT NULL, time INTEGER NOT NULL)',
  );
  if (preload && preload.events > 0) {
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
    const values = DEVICE_TYPES.map((d) => Buffer.from(d));
    const now = Date.now();
    const { events, series } = preload;
    db.transaction(() => {
      for (let i = 0; i < events; i++) {
        const ms = now - HOUR_MS + Math.floor((i / events) * HOUR_MS);
        insert.run(`s${i % series}`, ms * 1000, `p${i}`, 'deviceType', values[i % 4]);
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  }

  const first = db.prepare('SELECT time, id, k, v FROM events WHERE series = ? AND time >= ? AND time < ? ORDER BY time DESC, id DESC LIMIT ?');
  const next = db.prepare(
    'SELECT time, id, k, v FROM events WHERE series = ? AND time >= ? AND (time < ? OR (time = ? AND id < ?)) ORDER BY time DESC, id DESC LIMIT ?',
  );
  const append = db.prepare(`INSERT ${addLayout === 'ordered' ? 'OR IGNORE ' : ''}INTO adds VALUES (?, ?, ?, ?)`);

  // Group commit: the adds parsed in one event-loop turn, written by one transaction.
  let pending: { name: string; token: string | null; delta: number; time: number; reply: FloorReply }[] = [];
  const commit = db.transaction((batch: typeof pending) => {
    for (const a of batch) append.run(a.name, a.token, a.delta, a.time);
  });
  const stats: FloorCommitStats = { adds: 0, commits: 0, over4ms: 0, maxMs: 0 };
  let untokened = 0;
  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      const t0 = performance.now();
      commit(batch);
      const ms = performance.now() - t0;
      stats.adds += batch.length;
      stats.commits++;
      if (ms > 4) stats.over4ms++;
      if (ms > stats.maxMs) stats.maxMs = ms;
    } catch (err) {
      for (const a of batch) a.reply(500, JSON.stringify({ error: String(err) }));
      return;
    }
    for (const a of batch) a.reply(200, '{}');
  };

  return {
    read(text, res) {
      const q = parseFloorRead(text, res);
      if (!q) return;
      let rows: FloorRow[];
      if (q.pageToken) {
        let after: { time: number; id: string };
        try {
          after = JSON.parse(Buffer.from(q.pageToken, 'base64url').toString('utf8')) as typeof after;
        } catch {
          return answer(res, 400, '{"error":"bad pageToken"}');
        }
        rows = next.all(q.series, q.startMs * 1000, after.time, after.time, after.id, q.pageSize + 1) as FloorRow[];
      } else {
        rows = first.all(q.series, q.startMs * 1000, q.endMs * 1000, q.pageSize + 1) as FloorRow[];
      }
      answer(res, 200, floorPage(q.series, rows, q.pageSize));
    },
    add(text, reply) {
      let req: AddRequest;
      try {
        req = JSON.parse(text) as AddRequest;
      } catch {
        return reply(400, '{"error":"not JSON"}');
      }
      const delta = Number(req.delta ?? 1);
      if (typeof req.counter_name !== 'string' || !Number.isSafeInteger(delta)) return reply(400, '{"error":"counter_name and delta are required"}');
      if (pending.length === 0) setImmediate(flush);
      const given = req.idempotency_token;
      const generated = typeof given?.generation_time === 'string' ? Date.parse(given.generation_time) : NaN;
      const time = typeof given?.token === 'string' && !Number.isNaN(generated) ? generated * 1000 : nowMicros();
      // The ordered key needs a token: an add without one gets one no retry can have.
      const token = typeof given?.token === 'string' ? given.token : addLayout === 'ordered' ? `\u0000${untokened++}` : null;
      pending.push({ name: req.counter_name, token, delta, time, reply });
    },
    stats: () => ({ ...stats }),
    close() {
      db.close();
    },
  };
}

interface AddRequest {
  counter_name?: unknown;
  delta?: number | string;
  idempotency_token?: { token?: unknown; generation_time?: unknown };
}

/** A read page's row, as both floors' statements return it (time in µs). */
export interface FloorRow {
  time: number;
  id: string;
  k: string;
  v: Buffer;
}

/** A floor read's request: dgw's ReadEventRecords body, checked. */
export interface FloorReadQuery {
  series: string;
  startMs: number;
  endMs: number;
  pageSize: number;
  pageToken?: string;
}

/** Parses a read's body; answers 400 and returns undefined when it is not one. */
export function parseFloorRead(text: string, res: ServerResponse): FloorReadQuery | undefined {
  let req: { timeSeriesId?: unknown; timeInterval?: { start?: string; end?: string }; pageSize?: number; pageToken?: string };
  try {
    req = JSON.parse(text) as typeof req;
  } catch {
    answer(res, 400, '{"error":"not JSON"}');
    return undefined;
  }
  const series = req.timeSeriesId;
  const startMs = Date.parse(req.timeInterval?.start ?? '');
  const endMs = Date.parse(req.timeInterval?.end ?? '');
  const pageSize = req.pageSize ?? 100;
  if (typeof series !== 'string' || Number.isNaN(startMs) || Number.isNaN(endMs) || !(pageSize > 0 && pageSize <= 1000)) {
    answer(res, 400, '{"error":"timeSeriesId, timeInterval and pageSize (1-1000) are required"}');
    return undefined;
  }
  return { series, startMs, endMs, pageSize, ...(req.pageToken ? { pageToken: req.pageToken } : {}) };
}

/**
 * A read's answer from up to `pageSize + 1` rows, newest first: objects in dgw's wire shape
 * and `JSON.stringify`, a next-page token when there were more.
 */
export function floorPage(series: string, rows: FloorRow[], pageSize: number): string {
  const more = rows.length > pageSize;
  if (more) rows.length = pageSize;
  const events = rows.map((r) => ({
    timeSeriesId: series,
    eventTime: isoMicros(r.time),
    eventId: r.id,
    eventItems: [{ eventItemKey: r.k, eventItemValue: r.v.toString('base64') }],
  }));
  const last = rows[rows.length - 1];
  const page: { events: typeof events; nextPageToken?: string } = { events };
  if (more && last) page.nextPageToken = Buffer.from(JSON.stringify({ time: last.time, id: last.id })).toString('base64url');
  return JSON.stringify(page);
}

/** RFC 3339 of a time in µs: milliseconds as Date writes them, the µs digits when there are any. */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString();
  const sub = micros - ms * 1000;
  return sub === 0 ? iso : `${iso.slice(0, -1)}${String(sub).padStart(3, '0')}Z`;
}

/** Writes a JSON answer. */
export function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The body of a request, as text, to `then`. */
export function readBody(req: IncomingMessage, then: (text: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
}
