/**
 * A benchmark client process (forked by the harness, never run by hand, reused across
 * scenarios). For each scenario it receives the operation spec, opens its connections,
 * then on "go" runs `concurrency` closed loops: requests during the warm-up are not
 * recorded, requests completed during the measurement window are. It reports a latency
 * histogram, outcome counts and its own CPU time, closes the connections and waits for
 * the next scenario (or "exit").
 */
import { Histogram, type SerializedHistogram } from './histogram.js';
import { createOp, type Op, type OpSpec } from './ops.js';

/** Harness → worker messages. */
export type ToWorker =
  | { type: 'setup'; spec: OpSpec; concurrency: number; tag: string }
  | { type: 'go'; warmupMs: number; durationMs: number }
  | { type: 'exit' };

/** Worker → harness messages. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; result: WorkerResult }
  | { type: 'failed'; message: string };

/** What one worker measured. */
export interface WorkerResult {
  histogram: SerializedHistogram;
  ok: number;
  rejected: number;
  errors: number;
  errorSample?: string;
  /** CPU time of this client process during the window, µs (user + system). */
  cpuMicros: number;
  measuredMs: number;
}

const GRACE_MS = 500;
let op: Op | undefined;
let concurrency = 1;

const send = (m: FromWorker) => process.send?.(m);

async function go(warmupMs: number, durationMs: number): Promise<WorkerResult> {
  if (!op) throw new Error('go before setup');
  const active = op;
  const hist = new Histogram();
  let ok = 0;
  let rejected = 0;
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let cpuAt: NodeJS.CpuUsage | undefined;
  const cpuTimer = setTimeout(() => (cpuAt = process.cpuUsage()), warmupMs);

  const loop = async (i: number) => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const outcome = await active.run(i);
      const t1 = performance.now();
      // Count what completes inside the window; a request straddling its start counts
      // (its latency is real), one finishing after the end does not.
      if (t1 < measureFrom || t1 > end) continue;
      hist.record((t1 - t0) * 1000);
      if (outcome === 'ok') ok++;
      else if (outcome === 'rejected') rejected++;
      else errors++;
    }
  };
  // Requests still in flight a moment after the window are abandoned (their connections
  // are destroyed by close), so one slow scenario cannot overrun into the next.
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i))),
    new Promise<void>((r) => (grace = setTimeout(r, end - performance.now() + GRACE_MS))),
  ]);
  clearTimeout(grace);
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpuAt);
  return {
    histogram: hist.toJSON(),
    ok,
    rejected,
    errors,
    ...(active.lastError ? { errorSample: active.lastError } : {}),
    cpuMicros: cpu.user + cpu.system,
    measuredMs: Math.min(performance.now(), end) - measureFrom,
  };
}

process.on('message', (m: ToWorker) => {
  void (async () => {
    try {
      if (m.type === 'exit') process.exit(0);
      if (m.type === 'setup') {
        concurrency = m.concurrency;
        op = await createOp(m.spec, m.concurrency, m.tag);
        send({ type: 'ready' });
      } else {
        const result = await go(m.warmupMs, m.durationMs);
        const closing = op?.close();
        op = undefined;
        await Promise.race([closing, new Promise((r) => setTimeout(r, 2000))]);
        send({ type: 'result', result });
      }
    } catch (err) {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    }
  })();
});
