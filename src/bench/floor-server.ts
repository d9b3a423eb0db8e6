/**
 * The floors (issue 9): one bare `node:http` server in its own process, nothing of dgw in
 * its request path, driven by the same harness, client and concurrency as dgw's rows, so
 * `dgw ÷ floor` says how much of a call is dgw's own work and what any hand-written Node
 * service does on this machine. Its routes:
 *
 * - `POST /v1/counter/AddCount` (any other path too): reads the counter-shaped JSON,
 *   parses it and answers a one-field JSON body; the per-request cost of Node's HTTP alone
 *   (`floor.node_http`; `floor ÷ Redis` says how close to Redis any Node HTTP service gets).
 * - `POST /sqlite/AddCount`, `POST /sqlite/ReadEventRecords`: node:http + better-sqlite3 as a
 *   team would write the service by hand (src/bench/floor-sqlite.ts): a durable add with
 *   group commit (`floor.sqlite_add`) and a page of 100 from a plain events table preloaded
 *   like dgw's read namespace (`floor.sqlite_read`, `.c4`).
 * - `POST /sqlite/AddCountOrdered`: the same add stored as dgw stores a counter's events,
 *   keyed by (counter, the token's generation time, token), first write wins (the
 *   `ordered` layout of floor-sqlite.ts, its own database file): `floor.sqlite_add.ordered`,
 *   the floor of dgw's AddCount with dgw's storage semantics.
 * - `GET /stats`: the adds' group commits so far (count, size, time), to explain the add's p99.
 * - `POST /pg/ReadEventRecords`: the same read over PostgreSQL's plain baseline table
 *   `bench_events` (baselines.ts) through a pg Pool of 10 (dgw's default) (`floor.pg_read`).
 *
 * Run as a child: `node dist/bench/floor-server.js --serve [OPTIONS-JSON]`; it prints its
 * port on stdout once ready (after the preload).
 */
import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { answer, floorPage, openFloorSqlite, parseFloorRead, readBody, type FloorPreload, type FloorSqlite } from './floor-sqlite.js';
import { trackChild, type ServerProcess } from './procs.js';

/** What the floor server opens besides the bare route. */
export interface FloorOptions {
  /** Directory of the SQLite database (`floor.db`): the /sqlite routes exist only with it. */
  dir?: string;
  /** The read table's preload (dgw's read namespace: size, series). */
  preload?: FloorPreload;
  /** PostgreSQL URL of the /pg route (the baseline's `bench_events`, set up by the harness). */
  postgresUrl?: string;
}

/** Serves the floor on a free port of 127.0.0.1 and writes the port to stdout. */
function serve(o: FloorOptions): void {
  const sqlite: FloorSqlite | undefined = o.dir ? openFloorSqlite(join(o.dir, 'floor.db'), { preload: o.preload }) : undefined;
  const ordered: FloorSqlite | undefined = o.dir ? openFloorSqlite(join(o.dir, 'floor-ordered.db'), { addLayout: 'ordered' }) : undefined;
  const pgRead = o.postgresUrl ? postgresRead(o.postgresUrl) : undefined;
  const server = createServer((req, res) => {
    readBody(req, (text) => {
      if (req.url === '/sqlite/ReadEventRecords' && sqlite) sqlite.read(text, res);
      else if (req.url === '/sqlite/AddCount' && sqlite) sqlite.add(text, (status, body) => answer(res, status, body));
      else if (req.url === '/sqlite/AddCountOrdered' && ordered) ordered.add(text, (status, body) => answer(res, status, body));
      else if (req.url === '/pg/ReadEventRecords' && pgRead) pgRead.read(text, res);
      else if (req.url === '/stats' && sqlite) answer(res, 200, JSON.stringify(sqlite.stats()));
      else bare(text, res);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  });
  process.on('SIGTERM', () =>
    server.close(() => {
      sqlite?.close();
      ordered?.close();
      void (pgRead?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    }),
  );
}

/** The bare route: parse the AddCount body, answer one field. */
function bare(text: string, res: ServerResponse): void {
  let name = '';
  try {
    const body = JSON.parse(text) as { counter_name?: unknown };
    if (typeof body.counter_name === 'string') name = body.counter_name;
  } catch {
    res.writeHead(400).end();
    return;
  }
  answer(res, 200, `{"count":"${name.length}"}`);
}

/** The read route over PostgreSQL: the query of `postgres.range` (ops.ts) bounded by the request's interval. */
function postgresRead(url: string): { read(text: string, res: ServerResponse): void; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  const text = 'SELECT ts, id, k, v FROM bench_events WHERE series = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC, id DESC LIMIT $4';
  return {
    read(body, res) {
      const q = parseFloorRead(body, res);
      if (!q) return;
      pool.query<{ ts: Date; id: string; k: string; v: Buffer }>({ name: 'range', text, values: [q.series, new Date(q.startMs), new Date(q.endMs), q.pageSize + 1] }).then(
        (r) => {
          const rows = r.rows.map((row) => ({ time: row.ts.getTime() * 1000, id: row.id, k: row.k, v: row.v }));
          answer(res, 200, floorPage(q.series, rows, q.pageSize));
        },
        (err: unknown) => answer(res, 500, JSON.stringify({ error: String(err) })),
      );
    },
    close: () => pool.end(),
  };
}

/** Starts the floor server as a child process; resolves once it listens (after any preload). */
export async function startFloorServer(o: FloorOptions = {}): Promise<ServerProcess> {
  const file = fileURLToPath(import.meta.url);
  // Run from the TypeScript source (the tests, under tsx), the child needs the same loader.
  const nodeArgs = file.endsWith('.ts') ? process.execArgv : [];
  const child = spawn(process.execPath, [...nodeArgs, file, '--serve', JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = trackChild(child, 5000);
  // One bulk transaction of 1,000,000 rows takes seconds; more on a busy box.
  const startMs = o.preload && o.preload.events > 0 ? 300_000 : 10_000;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`floor server did not start in ${startMs / 1000} s: ${tracked.stderrTail()}`));
    }, startMs);
    child.stdout?.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(d.toString().trim()));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`floor server exited with ${code}: ${tracked.stderrTail()}`));
    });
  });
  if (child.pid === undefined) throw new Error('floor server: no pid');
  return { pid: child.pid, origin: `http://127.0.0.1:${port}`, ...tracked };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--serve') serve(JSON.parse(process.argv[3] ?? '{}') as FloorOptions);
