/**
 * Runs one measured load: forks the client worker processes, hands each its share of
 * the concurrency, starts them together, samples the server's CPU time at the start and
 * end of the measurement window and its peak RSS, and merges what the workers report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gcBetween, gcRates, readGcTotals } from './gc-figures.js';
import { Histogram } from './histogram.js';
import type { OpSpec } from './ops.js';
import { cpuDeltaMs, cpuSnapshot, peakRssMiB, resetPeakRss } from './procs.js';
import type { FromWorker, ToWorker, WorkerResult } from './worker.js';

/** The server processes whose resources a load is charged with. */
export interface ServerTarget {
  /** Every process of the server (PostgreSQL runs one per connection). */
  pids(): number[];
  /** The one process whose peak RSS is reported, if meaningful. */
  rssPid?: number;
  /** The baseline runs inside the client worker (raw SQLite): its CPU is the server's. */
  clientIsServer?: boolean;
  /** dgw's /metrics, read before and after the window for the server's GC figures (gc-figures.ts). */
  metricsUrl?: string;
}

/**
 * The client worker processes, forked once per run and reused by every scenario (a
 * fork and module load per scenario costs seconds on a busy 2-core machine).
 */
export class ClientPool {
  private readonly workers: ChildProcess[] = [];

  constructor(readonly size: number) {}

  /** The first `n` workers, forking any that are missing or dead. */
  take(n: number): ChildProcess[] {
    for (let i = 0; i < n; i++) {
      const w = this.workers[i];
      if (!w || w.exitCode !== null || !w.connected) {
        const child = fork(WORKER, [], { serialization: 'json', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        // IPC errors (a dead worker's channel) surface through the send callbacks above.
        child.on('error', () => undefined);
        this.workers[i] = child;
      }
    }
    return this.workers.slice(0, n);
  }

  /** Asks every worker to exit (kills it if it does not within a second). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((r) => {
            if (w.exitCode !== null || !w.connected) return r();
            const t = setTimeout(() => w.kill('SIGKILL'), 1000);
            w.once('exit', () => {
              clearTimeout(t);
              r();
            });
            // A worker that died meanwhile: the send fails (no EPIPE thrown at the pool).
            w.send({ type: 'exit' } satisfies ToWorker, (err) => {
              if (err) {
                clearTimeout(t);
                r();
              }
            });
          }),
      ),
    );
  }
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  pool: ClientPool;
  concurrency: number;
  clients: number;
  warmupMs: number;
  durationMs: number;
  target: ServerTarget;
}

/** What one load measured. */
export interface Measurement {
  ok: number;
  rejected: number;
  errors: number;
  errorSample?: string;
  measuredS: number;
  histogram: Histogram;
  /** Server CPU over the window, % of one core. */
  serverCpuPct?: number;
  serverPeakRssMiB?: number;
  /** The server's GC pauses over the window, % of its wall time, when its /metrics says (gc-figures.ts). */
  serverGcPct?: number;
  /** Major collections per second over the window (with {@link serverGcPct}). */
  serverMajorGcPerS?: number;
  /** All client workers' CPU over the window, % of one core. */
  clientCpuPct: number;
}

// From the TypeScript source (bench/*.mts scripts under tsx) the worker is forked from its
// source too; fork passes this process's loader flags (execArgv) on.
const WORKER = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url));

/** When a server counts as quiet before a scenario ({@link settle}). */
export interface SettleOptions {
  /** Quiet: the server used less than this share of one core, %, over one window (default 10). */
  quietPct?: number;
  /** The window, ms (default 250). */
  windowMs?: number;
  /** Gives up after this long, ms, and measures anyway (default 20,000). */
  maxMs?: number;
  /** CPU ms used so far by `pids` (default: /proc, {@link cpuSnapshot}); undefined when unreadable. Tests script it. */
  cpuMs?: (pids: readonly number[]) => number | undefined;
  /** Milliseconds, monotonic (default `performance.now`). */
  nowMs?: () => number;
  /** Waits `ms` (default a timer). */
  sleep?: (ms: number) => Promise<void>;
}

/** The CPU ms used so far by the readable processes of `pids`; undefined when none is readable. */
function procCpuMs(pids: readonly number[]): number | undefined {
  const snap = cpuSnapshot(pids);
  if (snap.size === 0) return undefined;
  let sum = 0;
  for (const v of snap.values()) sum += v;
  return sum;
}

/**
 * Waits until the server is quiet: its processes' CPU over one window below `quietPct` of a
 * core. Work a scenario leaves behind (a buffered write queue still draining, the rollups
 * of the counters it wrote) then runs before the next scenario's window instead of inside
 * it, where it was charged to that scenario's CPU per op. Returns the ms waited and whether
 * the server got quiet within `maxMs`.
 */
export async function settle(target: ServerTarget, o: SettleOptions = {}): Promise<{ waitedMs: number; quiet: boolean }> {
  const quietPct = o.quietPct ?? 10;
  const windowMs = o.windowMs ?? 250;
  const maxMs = o.maxMs ?? 20_000;
  const cpuMs = o.cpuMs ?? procCpuMs;
  const nowMs = o.nowMs ?? (() => performance.now());
  const wait = o.sleep ?? sleep;
  const started = nowMs();
  const pids = target.pids();
  for (;;) {
    const before = cpuMs(pids);
    const t0 = nowMs();
    await wait(windowMs);
    const after = cpuMs(pids);
    const t1 = nowMs();
    const waitedMs = t1 - started;
    // No readable process (another OS, or it exited): nothing to wait for.
    if (before === undefined || after === undefined || ((after - before) / Math.max(1, t1 - t0)) * 100 < quietPct) return { waitedMs, quiet: true };
    if (waitedMs >= maxMs) return { waitedMs, quiet: false };
  }
}

/** Drives `spec` at fixed concurrency for warm-up + duration and measures it. */
export async function measure(spec: OpSpec, o: MeasureOptions): Promise<Measurement> {
  const n = Math.max(1, Math.min(o.clients, o.concurrency));
  const workers = o.pool.take(n);
  try {
    const share = (i: number) => Math.floor(o.concurrency / n) + (i < o.concurrency % n ? 1 : 0);
    const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    await Promise.all(workers.map((w, i) => ask(w, { type: 'setup', spec, concurrency: share(i), tag: `${tag}w${i}` }, 'ready', 30_000)));

    const budget = o.warmupMs + o.durationMs + 60_000;
    const results = Promise.all(workers.map((w) => ask(w, { type: 'go', warmupMs: o.warmupMs, durationMs: o.durationMs }, 'result', budget)));
    await sleep(o.warmupMs);
    if (o.target.rssPid !== undefined) resetPeakRss(o.target.rssPid);
    const pids = o.target.clientIsServer ? workers.map((w) => w.pid!) : o.target.pids();
    // The windows start when the clients' does: the first /metrics read runs inside it
    // (well under a ms of server CPU), the last one after it.
    const gc0 = o.target.metricsUrl !== undefined ? readGcTotals(o.target.metricsUrl) : undefined;
    const cpu0 = cpuSnapshot(pids);
    const t0 = performance.now();
    await sleep(o.durationMs);
    const cpu = cpuDeltaMs(cpu0, cpuSnapshot(pids));
    const wall = performance.now() - t0;
    const gcBefore = await gc0;
    const gcAfter = gcBefore !== undefined && o.target.metricsUrl !== undefined ? await readGcTotals(o.target.metricsUrl) : undefined;
    const gc = gcBefore !== undefined && gcAfter !== undefined ? gcBetween(gcBefore, gcAfter) : undefined;
    const rss = o.target.rssPid !== undefined ? peakRssMiB(o.target.rssPid) : undefined;
    const done = (await results).map((m) => (m as Extract<FromWorker, { type: 'result' }>).result);
    return merge(done, {
      ...(cpu !== undefined ? { serverCpuPct: (cpu / wall) * 100 } : {}),
      ...(rss !== undefined ? { serverPeakRssMiB: rss } : {}),
      ...(gc !== undefined ? gcRates(gc, wall) : {}),
    });
  } catch (err) {
    // A worker in an unknown state is not reused.
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    throw err;
  }
}

function merge(results: WorkerResult[], server: Pick<Measurement, 'serverCpuPct' | 'serverPeakRssMiB' | 'serverGcPct' | 'serverMajorGcPerS'>): Measurement {
  const histogram = new Histogram();
  let ok = 0;
  let rejected = 0;
  let errors = 0;
  let cpu = 0;
  let measuredMs = 0;
  let errorSample: string | undefined;
  for (const r of results) {
    histogram.merge(Histogram.from(r.histogram));
    ok += r.ok;
    rejected += r.rejected;
    errors += r.errors;
    cpu += r.cpuMicros;
    measuredMs = Math.max(measuredMs, r.measuredMs);
    errorSample ??= r.errorSample;
  }
  const measuredS = measuredMs / 1000;
  return {
    ok,
    rejected,
    errors,
    ...(errorSample ? { errorSample } : {}),
    measuredS,
    histogram,
    clientCpuPct: measuredS > 0 ? (cpu / 1000 / measuredMs) * 100 : 0,
    ...server,
  };
}

function ask(w: ChildProcess, msg: ToWorker, want: FromWorker['type'], timeoutMs: number): Promise<FromWorker> {
  return new Promise((resolveMsg, reject) => {
    const timer = setTimeout(() => fail(new Error(`client worker did not answer "${msg.type}" within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: FromWorker) => {
      if (m.type === want) done(() => resolveMsg(m));
      else if (m.type === 'failed') fail(new Error(`client worker failed: ${m.message}`));
    };
    const onExit = (code: number | null) => fail(new Error(`client worker exited (${code}) before "${want}"`));
    const done = (f: () => void) => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
      f();
    };
    const fail = (err: Error) => done(() => reject(err));
    w.on('message', onMessage);
    w.once('exit', onExit);
    w.send(msg, (err) => {
      if (err) fail(new Error(`client worker cannot be reached: ${err.message}`));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
