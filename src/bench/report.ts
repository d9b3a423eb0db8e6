/**
 * Results of a bench run: one row per scenario, the dgw ÷ baseline ratios, the DESIGN 5
 * verdicts, printed as plain tables and written as JSON.
 */
import type { Measurement } from './driver.js';
import type { Convergence } from './dgw-setup.js';
import type { DesignTarget, Scenario } from './scenarios.js';

/** One scenario's figures (or why it was skipped / failed). */
export interface ScenarioResult {
  id: string;
  title: string;
  backend: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  opsPerSec?: number;
  eventsPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  maxMs?: number;
  ok?: number;
  rejected?: number;
  errors?: number;
  errorSample?: string;
  serverCpuPct?: number;
  serverPeakRssMiB?: number;
  /** Server CPU time per successful request, µs: the cost figure that survives a busy machine. */
  serverCpuMicrosPerOp?: number;
  /** Of it, the server's GC pauses per successful request, µs (dgw rows: gc-figures.ts). */
  serverGcMicrosPerOp?: number;
  /** Major collections per second in the server over the window (dgw rows). */
  serverMajorGcPerS?: number;
  clientCpuPct?: number;
  compareWith?: string[];
  target5?: DesignTarget;
}

/** Turns a measurement into a result row. */
export function toResult(s: Scenario, m: Measurement): ScenarioResult {
  const ops = m.measuredS > 0 ? (m.ok + m.rejected) / m.measuredS : 0;
  const h = m.histogram;
  return {
    id: s.id,
    title: s.title,
    backend: s.backend,
    // More than 1 % failed requests is a broken scenario, not a slow one.
    status: m.errors > 0 && m.errors >= (m.ok + m.rejected) / 100 ? 'failed' : 'ok',
    opsPerSec: m.measuredS > 0 ? m.ok / m.measuredS : 0,
    ...(s.eventsPerOp ? { eventsPerSec: (m.measuredS > 0 ? m.ok / m.measuredS : 0) * s.eventsPerOp } : {}),
    p50Ms: h.quantile(0.5) / 1000,
    p99Ms: h.quantile(0.99) / 1000,
    p999Ms: h.quantile(0.999) / 1000,
    maxMs: h.max / 1000,
    ok: m.ok,
    rejected: m.rejected,
    errors: m.errors,
    ...(m.errorSample ? { errorSample: m.errorSample } : {}),
    ...(m.serverCpuPct !== undefined ? { serverCpuPct: m.serverCpuPct } : {}),
    ...(m.serverPeakRssMiB !== undefined ? { serverPeakRssMiB: m.serverPeakRssMiB } : {}),
    ...(m.serverCpuPct !== undefined && m.ok > 0 ? { serverCpuMicrosPerOp: (m.serverCpuPct * 10_000 * m.measuredS) / m.ok } : {}),
    ...(m.serverGcPct !== undefined && m.ok > 0 ? { serverGcMicrosPerOp: (m.serverGcPct * 10_000 * m.measuredS) / m.ok } : {}),
    ...(m.serverMajorGcPerS !== undefined ? { serverMajorGcPerS: m.serverMajorGcPerS } : {}),
    clientCpuPct: m.clientCpuPct,
    ...(s.compareWith ? { compareWith: s.compareWith } : {}),
    ...(s.target5 ? { target5: s.target5 } : {}),
    ...(ops > 0 && m.rejected > 0 ? { reason: `${((m.rejected / (m.ok + m.rejected)) * 100).toFixed(1)}% RESOURCE_EXHAUSTED` } : {}),
    ...(m.ok + m.rejected + m.errors === 0 ? { reason: 'no request completed inside the window (each took longer)' } : {}),
  };
}

const num = (v: number | undefined, digits = 0) =>
  v === undefined ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v: number | undefined) => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A dgw row's GC figures: µs of GC pauses per op (major collections per second). */
function gc(r: ScenarioResult): string {
  if (r.serverGcMicrosPerOp === undefined) return '-';
  return `${num(r.serverGcMicrosPerOp, r.serverGcMicrosPerOp < 10 ? 1 : 0)} (${num(r.serverMajorGcPerS, 1)})`;
}

/** The per-scenario table of one backend. */
export function formatResults(backend: string, results: readonly ScenarioResult[]): string {
  const rows = results.map((r) =>
    r.status === 'skipped'
      ? [r.title, `skipped: ${r.reason ?? ''}`]
      : [
          r.title,
          num(r.opsPerSec),
          num(r.eventsPerSec),
          ms(r.p50Ms),
          ms(r.p99Ms),
          ms(r.p999Ms),
          `${r.errors ?? 0}${r.rejected ? `/${r.rejected} 429` : ''}`,
          num(r.serverCpuPct),
          num(r.serverCpuMicrosPerOp),
          gc(r),
          num(r.serverPeakRssMiB),
          num(r.clientCpuPct),
        ],
  );
  return `\n== ${backend} ==\n${table(['scenario', 'ops/s', 'events/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'srv CPU%', 'srv CPU µs/op', 'of it GC µs (major/s)', 'srv peak RSS MiB', 'client CPU%'], rows)}`;
}

/**
 * A side of a pair whose client processes ran at this share of a core each, or more, was
 * bound by its client: its rate is what the client could send, not what the server could
 * serve (BENCHMARKS.md, issue 9's seventeenth pass: an HTTP call costs the bench's client
 * about twice what a Redis command costs ioredis).
 */
export const CLIENT_BOUND_PCT = 95;

/**
 * dgw ÷ baseline for each pair the scenarios declare. `clients` is the number of client
 * processes (`--clients`): a row's client CPU is theirs together.
 */
export function formatRatios(results: readonly ScenarioResult[], clients = 1): { text: string; pairs: RatioRow[] } {
  const byKey = new Map(results.map((r) => [r.id, r]));
  const pairs: RatioRow[] = [];
  const rows: string[][] = [];
  const bound = (r: ScenarioResult) => r.clientCpuPct !== undefined && r.clientCpuPct / Math.max(1, clients) >= CLIENT_BOUND_PCT;
  const clientCell = (r: ScenarioResult) => (r.clientCpuPct === undefined ? '-' : `${Math.round(r.clientCpuPct)}${bound(r) ? '*' : ''}`);
  let anyBound = false;
  for (const r of results) {
    for (const key of r.compareWith ?? []) {
      const b = byKey.get(key);
      if (!b || b.status !== 'ok' || r.status !== 'ok') {
        rows.push([`${r.id} ÷ ${key}`, 'skipped', b?.reason ?? (b ? b.status : 'baseline not run'), '', '', '']);
        continue;
      }
      const tput = (r.eventsPerSec ?? r.opsPerSec ?? 0) / ((b.eventsPerSec ?? b.opsPerSec) || 1);
      const p99 = (r.p99Ms ?? 0) / (b.p99Ms || 1);
      const cpu = r.serverCpuMicrosPerOp !== undefined && b.serverCpuMicrosPerOp ? r.serverCpuMicrosPerOp / b.serverCpuMicrosPerOp : undefined;
      const clientBound = [...(bound(r) ? (['dgw'] as const) : []), ...(bound(b) ? (['baseline'] as const) : [])];
      if (clientBound.length > 0) anyBound = true;
      pairs.push({ dgw: r.id, baseline: key, throughput: tput, p99, ...(cpu !== undefined ? { cpuPerOp: cpu } : {}), ...(clientBound.length > 0 ? { clientBound } : {}) });
      rows.push([
        `${r.id} ÷ ${key}`,
        `${tput.toFixed(2)}×`,
        `${p99.toFixed(2)}×`,
        cpu !== undefined ? `${cpu.toFixed(2)}×` : '-',
        `${clientCell(r)} / ${clientCell(b)}`,
        `${num(r.eventsPerSec ?? r.opsPerSec)} vs ${num(b.eventsPerSec ?? b.opsPerSec)}`,
      ]);
    }
  }
  const note = anyBound
    ? `\n* client processes at ${CLIENT_BOUND_PCT} % of a core or more each: that side's rate is its client's limit, so its ratio compares clients as well as servers`
    : '';
  return {
    text: `\n== dgw ÷ baseline ==\n${table(['pair', 'throughput', 'p99', 'srv CPU/op', 'client CPU% (dgw / baseline)', 'dgw vs baseline (ops or events/s)'], rows)}${note}`,
    pairs,
  };
}

/** A dgw ÷ baseline pair. */
export interface RatioRow {
  dgw: string;
  baseline: string;
  throughput: number;
  p99: number;
  /** dgw's server CPU per request ÷ the baseline's, when both were sampled. */
  cpuPerOp?: number;
  /** The sides whose clients were at {@link CLIENT_BOUND_PCT} or more of a core each. */
  clientBound?: ('dgw' | 'baseline')[];
}

/** A DESIGN 5 verdict. */
export interface Verdict {
  scenario: string;
  label: string;
  met: boolean;
  figure: string;
}

/** Judges each result carrying a DESIGN 5 target, and the convergence. */
export function verdicts(results: readonly ScenarioResult[], convergence: Record<string, { c: Convergence; limitS: number }>): Verdict[] {
  const out: Verdict[] = [];
  for (const r of results) {
    const t = r.target5;
    if (!t || r.status !== 'ok') continue;
    if (t.metric === 'opsPerSec') {
      const met = (r.opsPerSec ?? 0) >= t.min && (t.p99MaxMs === undefined || (r.p99Ms ?? Infinity) <= t.p99MaxMs);
      out.push({ scenario: r.id, label: t.label, met, figure: `${num(r.opsPerSec)}/s, p99 ${ms(r.p99Ms)} ms` });
    } else if (t.metric === 'eventsPerSec') {
      out.push({ scenario: r.id, label: t.label, met: (r.eventsPerSec ?? 0) >= t.min, figure: `${num(r.eventsPerSec)} events/s` });
    } else {
      out.push({ scenario: r.id, label: t.label, met: (r.p99Ms ?? Infinity) <= t.maxMs, figure: `p99 ${ms(r.p99Ms)} ms at ${num(r.opsPerSec)}/s` });
    }
  }
  for (const [backend, { c, limitS }] of Object.entries(convergence)) {
    out.push({
      scenario: `${backend}.convergence`,
      label: `rollup convergence ≤ acceptLimit + coalesce + 2 s = ${limitS.toFixed(1)} s`,
      met: c.seconds !== undefined && c.seconds <= limitS,
      figure: c.seconds !== undefined ? `${c.seconds.toFixed(2)} s (${c.adds} adds on ${c.counters} counters)` : `not converged in ${c.timeoutS} s (${c.mismatch ?? ''})`,
    });
  }
  return out;
}

/** The verdict table. */
export function formatVerdicts(v: readonly Verdict[]): string {
  return `\n== DESIGN 5 targets ==\n${table(['scenario', 'target', 'measured', 'verdict'], v.map((x) => [x.scenario, x.label, x.figure, x.met ? 'met' : 'NOT MET']))}`;
}
