/**
 * `dgw bench` (`npm run bench`): starts real dgw servers (embedded SQLite; PostgreSQL +
 * Redis, and Cassandra + PostgreSQL + Redis, when the server supports them and they
 * answer), drives each scenario from
 * separate client processes at fixed concurrency for a fixed duration after a warm-up,
 * runs the Redis, PostgreSQL and plain-CQL baselines with the same harness, and prints per
 * scenario ops/s, latency p50/p99/p99.9, server CPU and peak RSS, the dgw ÷ baseline
 * ratios and the DESIGN 5 verdicts. Results also go to `.bench/results-<date>.json`.
 * Exit code: 0 when every scenario ran (skips allowed), 1 on a harness failure.
 * See bench/README.md and BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyzePostgres, postgresUnreachable, redisUnreachable, setupPostgresBaseline, vacuumPostgres } from './baselines.js';
import { cassandraPids, cassandraUnreachable, CQL_KEYSPACE, dropKeyspace, setupCqlBaseline, type CqlTarget } from './cql-baseline.js';
import { createNamespaces, DgwClient, measureConvergence, measureWide, type Convergence, type StorageHint, type WideResult } from './dgw-setup.js';
import { preloadReads, primeNamespaces } from './dgw-setup.js';
import { startFloorServer } from './floor-server.js';
import { ClientPool, measure, settle, type ServerTarget } from './driver.js';
import { runOverload } from './overload.js';
import { runFlood } from './flood.js';
import { childPids, pidsByName, rssMiB, startDgw, type ServerProcess } from './procs.js';
import { formatRatios, formatResults, formatVerdicts, toResult, verdicts, type ScenarioResult } from './report.js';
import { baselineScenarios, cqlScenarios, dgwScenarios, EVENTS_PER_SERIES, scaleScenarios, type Scenario } from './scenarios.js';
import { progress, progressDone } from './progress.js';

/** Options of one bench run (from the command line). */
export interface BenchOptions {
  quick: boolean;
  warmupMs: number;
  durationMs: number;
  concurrency: number;
  clients: number;
  preload: number;
  /** Events preloaded for the Cassandra read rows (dgw and plain CQL alike). */
  cassandraPreload: number;
  only?: RegExp;
  redisUrl: string;
  postgresUrl: string;
  /** Cassandra node (`host:port`) and data centre of the Cassandra rows and the CQL baseline. */
  cassandra: CqlTarget;
  baselines: boolean;
  out?: string;
  profileDir?: string;
  /** "How cost grows" (issue 9): AddCount over 100 … 1,000,000 counters, 100,000 counters in one minute. */
  scale: boolean;
  /**
   * `dgw serve --workers N` for the backends with shared stores (postgres+redis, cassandra);
   * server CPU then counts the primary and every worker. Default: one process.
   */
  serverWorkers?: number;
  /** Counters of the `wide` measurement (default 100,000; `--quick` 2,000). */
  wideCounters?: number;
}

const USAGE = `usage: dgw bench [--quick] [--warmup S] [--duration S] [--concurrency N] [--clients N]
                 [--preload EVENTS] [--cassandra-preload EVENTS] [--only REGEX] [--no-baselines] [--out FILE] [--profile DIR]
                 [--redis-url URL] [--postgres-url URL] [--server-workers N] [--scale [--wide-counters N]] [--cassandra HOST:PORT] [--cassandra-local-dc DC]
       dgw bench --overload SECONDS [--concurrency N]   (memory under overload; not for CI)
       dgw bench --flood SECONDS   (priority shedding under a mixed-priority flood; not for CI)`;

/** Entry point of `dgw bench`; resolves to the process exit code. */
export async function runBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      'wide-counters': { type: 'string' },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string', default: '50' },
      clients: { type: 'string', default: '1' },
      preload: { type: 'string' },
      'cassandra-preload': { type: 'string' },
      only: { type: 'string' },
      'no-baselines': { type: 'boolean', default: false },
      out: { type: 'string' },
      profile: { type: 'string' },
      overload: { type: 'string' },
      flood: { type: 'string' },
      'redis-url': { type: 'string', default: process.env.DGW_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' },
      'postgres-url': { type: 'string', default: process.env.DGW_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
      cassandra: { type: 'string', default: process.env.DGW_BENCH_CASSANDRA ?? '127.0.0.1:9042' },
      'cassandra-local-dc': { type: 'string', default: process.env.DGW_BENCH_CASSANDRA_LOCAL_DC ?? 'datacenter1' },
      'server-workers': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const int = (v: string | undefined, name: string, dflt: number) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: "${v}" is not a positive number`);
    return n;
  };
  const quick = values.quick;
  if (values.flood !== undefined) return runFlood({ seconds: int(values.flood, 'flood', 10) });
  if (values.overload !== undefined) {
    return runOverload({ seconds: int(values.overload, 'overload', 600), concurrency: int(values.concurrency, 'concurrency', 50) });
  }
  const o: BenchOptions = {
    quick,
    warmupMs: int(values.warmup, 'warmup', quick ? 0.2 : 2) * 1000,
    durationMs: int(values.duration, 'duration', quick ? 0.5 : 10) * 1000,
    concurrency: Math.round(int(values.concurrency, 'concurrency', 50)),
    clients: Math.round(int(values.clients, 'clients', 1)),
    preload: Math.round(int(values.preload, 'preload', quick ? 20_000 : 1_000_000)),
    // Writing 1,000,000 events through one Cassandra node on 2 shared cores takes many
    // minutes; a single-partition range read does not depend on the table's size.
    cassandraPreload: Math.round(int(values['cassandra-preload'], 'cassandra-preload', quick ? 20_000 : 100_000)),
    ...(values.only ? { only: new RegExp(values.only) } : {}),
    redisUrl: values['redis-url'],
    postgresUrl: values['postgres-url'],
    cassandra: { contactPoint: values.cassandra, localDataCenter: values['cassandra-local-dc'] },
    baselines: !values['no-baselines'],
    ...(values.out ? { out: values.out } : {}),
    ...(values.profile ? { profileDir: resolve(values.profile) } : {}),
    scale: values.scale,
    ...(values['server-workers'] ? { serverWorkers: Math.round(int(values['server-workers'], 'server-workers', 1)) } : {}),
    ...(values['wide-counters'] ? { wideCounters: Math.round(int(values['wide-counters'], 'wide-counters', 100_000)) } : {}),
  };
  return runAll(o);
}

/** The options plus the client processes shared by every scenario of the run. */
type RunContext = BenchOptions & { pool: ClientPool };

async function runAll(options: BenchOptions): Promise<number> {
  const o: RunContext = { ...options, pool: new ClientPool(options.clients) };
  try {
    return await runWith(o);
  } finally {
    await o.pool.close();
  }
}

async function runWith(o: RunContext): Promise<number> {
  const started = Date.now();
  const results: ScenarioResult[] = [];
  const convergence: Record<string, { c: Convergence; limitS: number }> = {};
  const wide: Record<string, WideResult> = {};
  const notes: string[] = [];
  let harnessFailed = false;
  console.log(
    `dgw bench${o.quick ? ' --quick' : ''}: warm-up ${o.warmupMs / 1000} s + ${o.durationMs / 1000} s per scenario, ` +
      `concurrency ${o.concurrency} from ${o.clients} client process(es), read namespace ${o.preload.toLocaleString('en-US')} events` +
      `${o.quick ? ' (quick: smaller preload, shortened rollup settings for convergence)' : ''}`,
  );
  console.log(`machine: ${machine().nproc} cores (${machine().cpuModel}), ${machine().memGiB} GiB; client and server share these cores`);
  const loadStart = loadavg()[0] ?? 0;
  if (loadStart > 1) {
    console.log(`warning: load average ${loadStart.toFixed(2)} before the run: other processes compete for the cores; throughput figures will be low, compare "srv CPU µs/op" instead`);
  }

  const backends: { name: string; serveArgs: string[]; hint: StorageHint; skip?: string; cleanup?: () => Promise<void> }[] = [{ name: 'sqlite', serveArgs: [], hint: {} }];
  const serverFlags = serveFlags();
  const workersArgs = o.serverWorkers !== undefined && o.serverWorkers > 1 ? ['--workers', String(o.serverWorkers)] : [];
  if (workersArgs.length > 0) console.log(`server: dgw serve --workers ${o.serverWorkers} on the shared-store backends (server CPU counts the primary and its workers; no peak RSS)`);
  if (!serverFlags.includes('--postgres-url') || !serverFlags.includes('--redis-url')) {
    backends.push({ name: 'postgres+redis', serveArgs: [], hint: {}, skip: 'server flags not available' });
  } else {
    const why = (await postgresUnreachable(o.postgresUrl)) ?? (await redisUnreachable(o.redisUrl));
    backends.push({
      name: 'postgres+redis',
      serveArgs: ['--postgres-url', o.postgresUrl, '--redis-url', o.redisUrl, ...workersArgs],
      // Explicit, so the namespaces land on PostgreSQL and Redis whatever the server's default.
      hint: { primary: { type: 'POSTGRES' }, rollup: { type: 'POSTGRES' }, cache: { type: 'REDIS' } },
      ...(why ? { skip: why } : {}),
    });
  }

  // dgw on Cassandra (issue 8): events and rollups in a keyspace of this run (dropped
  // after), index and registry on PostgreSQL, caches on Redis.
  if (!serverFlags.includes('--cassandra-contact-points')) {
    backends.push({ name: 'cassandra', serveArgs: [], hint: {}, skip: 'server flags not available' });
  } else {
    const wanted = !o.only || dgwScenarios('cassandra', '', { series: 1, startIso: '', endIso: '' }).some((s) => selected(o, s.id)) || selected(o, 'cassandra.convergence');
    const why = wanted ? ((await postgresUnreachable(o.postgresUrl)) ?? (await redisUnreachable(o.redisUrl)) ?? (await cassandraUnreachable(o.cassandra))) : undefined;
    const keyspace = `dgw_bench_${new Date(started).toISOString().replace(/\D/g, '').slice(0, 14)}`;
    backends.push({
      name: 'cassandra',
      serveArgs: [
        '--postgres-url', o.postgresUrl,
        '--redis-url', o.redisUrl,
        '--cassandra-contact-points', o.cassandra.contactPoint,
        '--cassandra-local-dc', o.cassandra.localDataCenter,
        '--cassandra-keyspace', keyspace,
        ...workersArgs,
      ],
      hint: { primary: { type: 'CASSANDRA' }, rollup: { type: 'CASSANDRA' }, cache: { type: 'REDIS' } },
      ...(why ? { skip: why } : {}),
      cleanup: () => dropKeyspace(o.cassandra, keyspace),
    });
  }

  for (const b of backends) {
    const ids = [...dgwScenarios(b.name, '', { series: 1, startIso: '', endIso: '' }), ...(o.scale ? scaleScenarios(b.name, '') : [])].map((s) => s.id);
    if (o.only && !ids.some((id) => selected(o, id)) && !selected(o, `${b.name}.convergence`) && !(o.scale && selected(o, `${b.name}.wide`))) continue;
    if (b.skip) {
      console.log(`\n== dgw on ${b.name} ==\nskipped: ${b.skip}`);
      notes.push(`dgw on ${b.name}: skipped: ${b.skip}`);
      continue;
    }
    try {
      const rows = await runDgwBackend(b.name, b.serveArgs, b.hint, o, convergence, wide);
      results.push(...rows);
      console.log(formatResults(`dgw on ${b.name}`, rows));
    } catch (err) {
      harnessFailed = true;
      progressDone();
      console.error(`dgw on ${b.name}: harness failure: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    } finally {
      await b.cleanup?.();
    }
  }

  if (o.baselines) {
    try {
      const rows = await runBaselines(o);
      results.push(...rows);
      console.log(formatResults('baselines (same harness, same concurrency)', rows));
    } catch (err) {
      harnessFailed = true;
      progressDone();
      console.error(`baselines: harness failure: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    }
  }

  const ratios = formatRatios(results, o.clients);
  console.log(ratios.text);
  const v = verdicts(results, convergence);
  console.log(formatVerdicts(v));
  if (o.quick) console.log('(--quick figures are a smoke test, not measurements: short windows, small preload)');

  for (const r of results) if (r.reason && r.status === 'ok') console.log(`note: ${r.id}: ${r.reason}`);
  const failed = results.filter((r) => r.status === 'failed');
  for (const f of failed) console.error(`FAILED ${f.id}: ${f.errorSample ?? f.reason ?? 'no successful request'}`);
  // The exit code is dgw's: a baseline (another system measured for comparison) that failed
  // is printed above and left out of the ratios, but does not fail the run.
  const dgwFailed = failed.filter((r) => !isBaselineRow(r));
  const out = o.out ?? join('.bench', `results-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(resolve(out, '..'), { recursive: true });
  const { warmupMs, durationMs, concurrency, clients, preload, quick, baselines } = o;
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date(started).toISOString(),
        commit: commit(),
        machine: machine(),
        options: { quick, warmupMs, durationMs, concurrency, clients, preload, baselines },
        results,
        ratios: ratios.pairs,
        convergence,
        wide,
        verdicts: v,
        notes,
        loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 },
        totalSeconds: (Date.now() - started) / 1000,
      },
      null,
      2,
    ),
  );
  console.log(`load average: ${loadStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end (1-minute)`);
  console.log(`\nresults written to ${out} (${((Date.now() - started) / 1000).toFixed(1)} s in all)`);
  return harnessFailed || dgwFailed.length > 0 ? 1 : 0;
}

async function runDgwBackend(
  backend: string,
  serveArgs: string[],
  hint: StorageHint,
  o: RunContext,
  convergence: Record<string, { c: Convergence; limitS: number }>,
  wide: Record<string, WideResult>,
): Promise<ScenarioResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dgw-bench-'));
  progress(`dgw on ${backend}: starting server`);
  const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  const server = await startDgw({ dataDir, serveArgs, nodeArgs });
  const rows: ScenarioResult[] = [];
  try {
    const c = new DgwClient(server.origin);
    await createNamespaces(c, hint, o.quick);
    await c.close();
    if (serveArgs.includes('--postgres-url')) {
      progress(`dgw on ${backend}: VACUUM (ANALYZE) of PostgreSQL (the dropped namespaces' dead rows)`);
      await vacuumPostgres(o.postgresUrl);
    }
    // With --workers the requests are served by the primary's children: count all their
    // CPU; peak RSS is one process's figure, so it is left out rather than the primary's.
    const workers = serveArgs.includes('--workers');
    // GC figures come from /metrics, which sums the workers' series (gc-figures.ts).
    const target: ServerTarget = { pids: () => [server.pid, ...childPids(server.pid)], metricsUrl: `${server.origin}/metrics`, ...(workers ? {} : { rssPid: server.pid }) };
    const wantRead = ['read.page100', 'read.page100.c4', 'search.page100'].some((id) => selected(o, `${backend}.${id}`));
    const preloadEvents = backend === 'cassandra' ? o.cassandraPreload : o.preload;
    // The first write of a namespace creates its tables (on Cassandra: seconds of schema
    // agreement); it happens here, not inside a measured window.
    await primeNamespaces(server.origin);
    const preload = wantRead
      ? await preloadReads(
          server.origin,
          preloadEvents,
          (done, total, rate) =>
            progress(`dgw on ${backend}: preloading read namespace ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} events (${Math.round(rate).toLocaleString('en-US')} events/s)`),
          // baselines.ts analyzePostgres: the stale foreign-key plans of an emptied table.
          serveArgs.includes('--postgres-url') ? { firstAt: 2000, run: () => analyzePostgres(o.postgresUrl) } : undefined,
        )
      : undefined;
    if (preload) {
      progressDone(`dgw on ${backend}: preloaded ${preloadEvents.toLocaleString('en-US')} events at ${Math.round(preload.eventsPerSec).toLocaleString('en-US')} events/s (sync batches of 1000, 4 streams)`);
      await new Promise((r) => setTimeout(r, 1500)); // let the index refresh (1 s) see the preload
    }
    const window = preload?.window ?? { series: Math.max(1, Math.round(preloadEvents / EVENTS_PER_SERIES)), startIso: new Date().toISOString(), endIso: new Date().toISOString() };
    const list = [...dgwScenarios(backend, server.origin, window), ...(o.scale ? scaleScenarios(backend, server.origin) : [])].filter((s) => selected(o, s.id));
    rows.push(...(await runScenarios(list, target, o, true)));

    if (selected(o, `${backend}.convergence`)) {
      const adds = o.quick ? 100 : 4000;
      // Quick mode shortens the rollup settings (accept 1 s, skew 0, coalesce 200 ms).
      const limitS = o.quick ? 1 + 0.2 + 2 : 5 + 1 + 2;
      progress(`dgw on ${backend}: rollup convergence (${adds} adds, then GetCount until exact)`);
      const conv = await measureConvergence(server.origin, adds, limitS * 3).catch(
        (err: unknown): Convergence => ({ adds, counters: 0, timeoutS: limitS * 3, mismatch: `failed: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}` }),
      );
      // Not converged: what the server said last (a rollup's failure is logged even --quiet).
      if (conv.seconds === undefined) conv.mismatch = `${conv.mismatch ?? ''}; server stderr: ${server.stderrTail().trim().slice(-600) || '(nothing)'}`;
      convergence[backend] = { c: conv, limitS };
      progressDone(`dgw on ${backend}: convergence ${conv.seconds !== undefined ? `${conv.seconds.toFixed(2)} s` : `not reached in ${conv.timeoutS} s`}`);
    }
    if (o.scale && selected(o, `${backend}.wide`)) {
      const n = o.wideCounters ?? (o.quick ? 2000 : 100_000);
      progress(`dgw on ${backend}: ${n.toLocaleString('en-US')} counters written once each, then GetCount of a sample until rolled up`);
      const w = await measureWide(server.origin, n, 600, () => rssMiB(server.pid));
      wide[backend] = w;
      const perCounter = w.rssBeforeMiB !== undefined && w.rssAfterWritesMiB !== undefined ? ((w.rssAfterWritesMiB - w.rssBeforeMiB) * 1048576) / n : undefined;
      progressDone(
        `dgw on ${backend}: ${n.toLocaleString('en-US')} counters: ${Math.round(w.addsPerSec).toLocaleString('en-US')} adds/s; ` +
          `convergence ${w.convergenceSeconds !== undefined ? `${w.convergenceSeconds.toFixed(1)} s` : `not reached in ${w.timeoutS} s`} (sample of ${w.sampled}); ` +
          `RSS ${mib(w.rssBeforeMiB)} → ${mib(w.rssAfterWritesMiB)} → ${mib(w.rssAfterConvergenceMiB)} MiB` +
          (perCounter !== undefined ? ` (${Math.round(perCounter)} bytes per written counter)` : ''),
      );
    }
  } finally {
    progress(`dgw on ${backend}: stopping server`);
    const code = await server.stop();
    progressDone();
    if (code !== 0) console.error(`dgw server exited with ${code}: ${server.stderrTail().slice(-1000)}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

function mib(v: number | undefined): string {
  return v === undefined ? '?' : v.toFixed(0);
}

async function runBaselines(o: RunContext): Promise<ScenarioResult[]> {
  const series = Math.max(1, Math.round(o.preload / EVENTS_PER_SERIES));
  const sqliteDir = mkdtempSync(join(tmpdir(), 'dgw-bench-sqlite-'));
  // The floors' read window: their preloads (the floor's own SQLite table, PostgreSQL's
  // bench_events) spread events over the hour before they run, as dgw's does.
  const floorReads = { series, startIso: new Date(Date.now() - 2 * 3600_000).toISOString(), endIso: new Date(Date.now() + 600_000).toISOString() };
  const wanted = baselineScenarios(o.redisUrl, o.postgresUrl, series, sqliteDir, '', floorReads).filter((s) => selected(o, s.id));
  const pgWanted = wanted.some((s) => s.target === 'postgres' || s.id === 'floor.pg_read');
  const pgDown = pgWanted ? await postgresUnreachable(o.postgresUrl) : undefined;
  let floor: ServerProcess | undefined;
  let floorDown: string | undefined;
  if (wanted.some((s) => s.target === 'floor')) {
    const reads = wanted.some((s) => s.id.startsWith('floor.sqlite_read'));
    progress(`baselines: floor server${reads ? `, preloading ${o.preload.toLocaleString('en-US')} events into its SQLite table (one transaction)` : ''}`);
    try {
      floor = await startFloorServer({
        ...(wanted.some((s) => s.id.startsWith('floor.sqlite_')) ? { dir: sqliteDir } : {}),
        ...(reads ? { preload: { events: o.preload, series } } : {}),
        ...(wanted.some((s) => s.id === 'floor.pg_read') && !pgDown ? { postgresUrl: o.postgresUrl } : {}),
      });
      progressDone();
    } catch (err) {
      // A floor is a baseline: its rows say why, the run goes on.
      progressDone();
      floorDown = `floor server: ${err instanceof Error ? err.message : String(err)}`;
      console.error(floorDown);
    }
  }
  const list = baselineScenarios(o.redisUrl, o.postgresUrl, series, sqliteDir, floor?.origin ?? '', floorReads).filter((s) => selected(o, s.id));
  const cqlSeries = Math.max(1, Math.round(o.cassandraPreload / EVENTS_PER_SERIES));
  list.push(...cqlScenarios({ ...o.cassandra, keyspace: CQL_KEYSPACE }, cqlSeries).filter((s) => selected(o, s.id)));
  const redisDown = list.some((s) => s.target === 'redis') ? await redisUnreachable(o.redisUrl) : undefined;
  const cqlDown = list.some((s) => s.target === 'cql') ? await cassandraUnreachable(o.cassandra) : undefined;
  if (cqlDown) console.log(`\nplain-CQL baseline: skipped: ${cqlDown}`);
  if (list.some((s) => s.target === 'cql') && !cqlDown) {
    // The range read needs the preload; the writes only need the tables.
    const rows = list.some((s) => s.id === 'cql.range' || s.id === 'cql.sai_equals') ? o.cassandraPreload : 0;
    progress(`baselines: Cassandra tables (keyspace ${CQL_KEYSPACE}), preloading ${rows.toLocaleString('en-US')} rows`);
    const setup = await setupCqlBaseline(o.cassandra, rows, cqlSeries, (done) =>
      progress(`baselines: Cassandra tables (keyspace ${CQL_KEYSPACE}), preloaded ${done.toLocaleString('en-US')}/${rows.toLocaleString('en-US')} rows`),
    );
    progressDone(`baselines: Cassandra tables ready, ${rows.toLocaleString('en-US')} rows preloaded in ${setup.seconds.toFixed(1)} s`);
  }
  if (pgWanted && !pgDown) {
    progress(`baselines: PostgreSQL tables, preloading ${o.preload.toLocaleString('en-US')} events server-side`);
    await setupPostgresBaseline(o.postgresUrl, o.preload, series);
    progressDone();
  }
  const rows: ScenarioResult[] = [];
  const runnable: Scenario[] = [];
  for (const s of list) {
    const why = s.target === 'redis' ? redisDown : s.target === 'cql' ? cqlDown : s.target === 'postgres' || s.id === 'floor.pg_read' ? pgDown : undefined;
    if (s.target === 'floor' && floorDown) rows.push({ id: s.id, title: s.title, backend: s.backend, status: 'failed', reason: floorDown });
    else if (why) rows.push({ id: s.id, title: s.title, backend: s.backend, status: 'skipped', reason: why });
    else runnable.push(s);
  }
  const targets: Record<string, ServerTarget> = {};
  const redisPids = pidsByName('redis-server');
  targets.redis = { pids: () => redisPids, ...(redisPids.length === 1 ? { rssPid: redisPids[0]! } : {}) };
  // PostgreSQL forks a backend per connection: charge all its processes, list them per window.
  targets.postgres = { pids: () => pidsByName('postgres') };
  const cassPids = cassandraPids();
  targets.cql = { pids: () => cassPids, ...(cassPids.length === 1 ? { rssPid: cassPids[0]! } : {}) };
  targets.sqlite_raw = { pids: () => [], clientIsServer: true };
  if (floor) targets.floor = { pids: () => [floor.pid], rssPid: floor.pid };
  try {
    for (const s of runnable) {
      try {
        rows.push(...(await runScenarios([s], targets[s.target]!, o)));
      } catch (err) {
        // One baseline that cannot be measured (a worker timed out on a slow store) leaves
        // the others standing; its row says why.
        progressDone();
        const reason = `harness failure: ${err instanceof Error ? err.message : String(err)}`;
        console.error(`baseline ${s.id}: ${reason}`);
        rows.push({ id: s.id, title: s.title, backend: s.backend, status: 'failed', reason });
      }
    }
  } finally {
    if (runnable.some((s) => s.target === 'cql')) await dropKeyspace(o.cassandra, CQL_KEYSPACE);
    await floor?.stop();
    rmSync(sqliteDir, { recursive: true, force: true });
  }
  return rows;
}

let scenarioNo = 0;
/** `settleFirst`: wait for a quiet server before each scenario (dgw's; a baseline's store is not waited for). */
async function runScenarios(list: Scenario[], target: ServerTarget, o: RunContext, settleFirst = false): Promise<ScenarioResult[]> {
  const rows: ScenarioResult[] = [];
  for (const s of list) {
    scenarioNo++;
    const concurrency = s.concurrency ?? o.concurrency;
    // What the scenario before left running (rollups, a draining write queue) is not this one's work.
    if (settleFirst) {
      const { waitedMs, quiet } = await settle(target, { maxMs: o.quick ? 5_000 : 20_000 });
      if (waitedMs >= 1_000 || !quiet) progressDone(`[${scenarioNo}] ${s.backend}: waited ${(waitedMs / 1000).toFixed(1)} s for the server to go quiet${quiet ? '' : ' (it did not; measuring anyway)'}`);
    }
    progress(`[${scenarioNo}] ${s.backend}: ${s.title} (warm-up ${o.warmupMs / 1000} s + ${o.durationMs / 1000} s, concurrency ${concurrency})`);
    const m = await measure(s.op, { pool: o.pool, concurrency, clients: o.clients, warmupMs: o.warmupMs, durationMs: o.durationMs, target });
    const r = toResult(s, m);
    rows.push(r);
    progressDone(`[${scenarioNo}] ${s.backend}: ${s.title}: ${Math.round(r.opsPerSec ?? 0).toLocaleString('en-US')} ops/s, p99 ${(r.p99Ms ?? 0).toFixed(2)} ms${r.errors ? `, ${r.errors} errors` : ''}`);
  }
  return rows;
}

function selected(o: BenchOptions, id: string): boolean {
  return !o.only || o.only.test(id);
}

/** The flags `dgw serve` accepts (read from its help text), so the harness follows the server. */
function serveFlags(): string {
  try {
    const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
    return execFileSync(process.execPath, [main, 'serve', '--help'], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    return '';
  }
}

function commit(): string | undefined {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha} (work tree modified)` : sha;
  } catch {
    return undefined;
  }
}

function machine(): { nproc: number; cpuModel: string; memGiB: number } {
  const c = cpus();
  return { nproc: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30) };
}

/** The backends of the baseline rows (other systems measured for comparison, not dgw). */
const BASELINE_BACKENDS = new Set(['redis', 'postgres', 'sqlite_raw', 'cql', 'floor']);

/** Whether a result row is a baseline's rather than dgw's. */
function isBaselineRow(r: ScenarioResult): boolean {
  return BASELINE_BACKENDS.has(r.backend);
}
