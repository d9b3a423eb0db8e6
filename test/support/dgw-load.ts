/**
 * Client side of the multi-instance and failure tests: a bounded HTTP call (every request
 * carries an AbortSignal timeout, so a hang is observed, never waited out), a seeded PRNG,
 * microsecond idempotency-token times, and the exact counter oracle (by event identity,
 * a clear at T dropping every add at or before T).
 */

/** The outcome of one HTTP call. */
export interface CallResult {
  status: number;
  json: Record<string, unknown>;
  /** Wall time of the call in ms. */
  ms: number;
  /** When the response arrived (performance.now()). */
  at: number;
  /** The client gave up after the timeout (status 0). */
  timedOut: boolean;
  /** A network error (status 0), e.g. connection refused. */
  networkError?: string;
}

/** POST (or any method) JSON with a hard client-side timeout. Never throws. */
export async function call(base: string, method: string, path: string, body: unknown, timeoutMs = 5000): Promise<CallResult> {
  const started = performance.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const at = performance.now();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ms: at - started, at, timedOut: false };
  } catch (err) {
    const at = performance.now();
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return { status: 0, json: {}, ms: at - started, at, timedOut, ...(timedOut ? {} : { networkError: `${e.message}${e.cause ? `: ${String((e.cause as Error).message ?? e.cause)}` : ''}` }) };
  }
}

/** The error code of a failed call (`UNAVAILABLE`, ...), or a description. */
export function errorCode(r: CallResult): string {
  if (r.timedOut) return 'CLIENT_TIMEOUT';
  if (r.networkError) return `NETWORK(${r.networkError})`;
  const err = r.json.error as { code?: string } | undefined;
  return err?.code ?? `HTTP_${r.status}`;
}

/** mulberry32: small, seeded, reproducible (the conformance suites' generator). */
export { seeded as prng } from '../../src/storage/conformance/seeded.js';

let lastMicros = 0;
/** Now in epoch microseconds, strictly increasing within this process. */
export function nowMicros(): number {
  const m = Math.max(Date.now() * 1000, lastMicros + 1);
  lastMicros = m;
  return m;
}

/** RFC 3339 with microseconds. */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const us = micros - ms * 1000;
  return new Date(ms).toISOString().replace('Z', `${String(us).padStart(3, '0')}Z`);
}

type Mutation = { kind: 'add'; time: number; delta: bigint } | { kind: 'clear'; time: number };

/** The exact oracle: each acknowledged mutation once, by identity (token@time). */
export class CounterOracle {
  private readonly byCounter = new Map<string, Map<string, Mutation>>();

  add(counter: string, token: string, time: number, delta: bigint): void {
    this.record(counter, `${token}@${time}`, { kind: 'add', time, delta });
  }

  clear(counter: string, token: string, time: number): void {
    this.record(counter, `${token}@${time}`, { kind: 'clear', time });
  }

  private record(counter: string, id: string, m: Mutation): void {
    let events = this.byCounter.get(counter);
    if (!events) this.byCounter.set(counter, (events = new Map()));
    if (!events.has(id)) events.set(id, m);
  }

  /** A clear at T drops every add at or before T (ties: the clear wins). */
  count(counter: string): bigint {
    const events = [...(this.byCounter.get(counter)?.values() ?? [])];
    let lastClear = Number.NEGATIVE_INFINITY;
    for (const m of events) if (m.kind === 'clear' && m.time > lastClear) lastClear = m.time;
    let sum = 0n;
    for (const m of events) if (m.kind === 'add' && m.time > lastClear) sum += m.delta;
    return sum;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves with the elapsed ms, or rejects with `describe()`. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, describe: () => string | Promise<string>, intervalMs = 100): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`not reached within ${timeoutMs} ms: ${await describe()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Summary statistics of latencies in ms. */
export function latencySummary(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  if (ms.length === 0) return { n: 0, p50: 0, p99: 0, max: 0 };
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]!);
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: Math.round(s[s.length - 1]!) };
}
