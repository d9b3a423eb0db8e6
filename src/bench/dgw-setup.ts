/**
 * Preparing a dgw server for the scenarios: namespaces, the read namespace's preload
 * (big WriteEventRecordsSync batches from a few parallel streams), and the rollup
 * convergence measurement (last acknowledged add → GetCount equal to the exact sum).
 */
import { Pool } from 'undici';
import { DEVICE_TYPES } from './ops.js';
import { COUNTERS, EVENTS_PER_SERIES, NS, type ReadWindow } from './scenarios.js';

type Json = Record<string, unknown>;

/** A minimal JSON client of one dgw server. */
export class DgwClient {
  private readonly pool: Pool;
  constructor(readonly origin: string, connections = 8) {
    this.pool = new Pool(origin, { connections, pipelining: 1 });
  }

  /** Deletes a namespace if it exists (a shared PostgreSQL keeps the previous run's data). */
  async drop(kind: 'counter' | 'timeseries', name: string): Promise<void> {
    const r = await this.pool.request({ method: 'DELETE', path: `/v1/${kind}/namespaces/${name}` });
    const text = await r.body.text();
    if (r.statusCode >= 300 && r.statusCode !== 404) throw new Error(`DELETE ${kind} namespace ${name}: HTTP ${r.statusCode} ${text.slice(0, 300)}`);
  }

  /** Sends a request; throws with the server's answer unless the status is 2xx. */
  async call(method: 'PUT' | 'POST' | 'GET', path: string, body?: unknown): Promise<Json> {
    const r = await this.pool.request({
      method,
      path,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await r.body.text();
    if (r.statusCode >= 300) throw new Error(`${method} ${path}: HTTP ${r.statusCode} ${text.slice(0, 500)}`);
    return text ? (JSON.parse(text) as Json) : {};
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Extra `physical_storage` for every storage entry (server mode), or none (embedded). */
export type StorageHint = { primary?: Json; cache?: Json; rollup?: Json };

/** Creates the scenario namespaces. `fastConvergence` shortens accept limit, skew and coalesce (for --quick). */
export async function createNamespaces(c: DgwClient, hint: StorageHint, fastConvergence: boolean): Promise<void> {
  for (const name of [NS.eventual, NS.accurate, NS.bestEffort, NS.convergence, NS.scale, NS.wide]) await c.drop('counter', name);
  for (const name of [NS.writes, NS.buffered, NS.reads]) await c.drop('timeseries', name);
  const ps = (h: Json | undefined) => (h ? { physical_storage: h } : {});
  const counter = (type: string, extra: Json = {}, events: Json = {}) => ({
    persistence_configuration: [
      { id: 'COUNTER_ROLLUP', ...ps(hint.rollup), config: { counter_type: type, ...extra } },
      { id: 'CACHE', ...ps(hint.cache) },
      ...(type === 'BEST_EFFORT' ? [] : [{ id: 'EVENT_STORAGE', ...ps(hint.primary), config: events }]),
    ],
  });
  await c.call('PUT', `/v1/counter/namespaces/${NS.eventual}`, counter('EVENTUAL'));
  await c.call('PUT', `/v1/counter/namespaces/${NS.accurate}`, counter('ACCURATE'));
  await c.call('PUT', `/v1/counter/namespaces/${NS.bestEffort}`, counter('BEST_EFFORT'));
  await c.call('PUT', `/v1/counter/namespaces/${NS.scale}`, counter('EVENTUAL'));
  await c.call('PUT', `/v1/counter/namespaces/${NS.wide}`, counter('EVENTUAL'));
  await c.call(
    'PUT',
    `/v1/counter/namespaces/${NS.convergence}`,
    fastConvergence
      ? counter('EVENTUAL', { skew_margin: '0s', eventual_counter_config: { internal_config: { queue_config: { coalesce_ms: 200 } } } }, { accept_limit: '1s' })
      : counter('EVENTUAL'),
  );
  const ts = (config: Json, index?: Json) => ({
    persistence_configuration: [
      { id: 'PRIMARY_STORAGE', ...ps(hint.primary), config },
      ...(index ? [{ id: 'INDEX_STORAGE', ...ps(hint.primary), config: { indexConfig: index } }] : []),
    ],
  });
  await c.call('PUT', `/v1/timeseries/namespaces/${NS.writes}`, ts({}));
  await c.call('PUT', `/v1/timeseries/namespaces/${NS.buffered}`, ts({}));
  // The preload spreads events over the last hour, so the accept limit must cover it.
  await c.call('PUT', `/v1/timeseries/namespaces/${NS.reads}`, ts({ acceptLimit: '2h' }, { fieldMapping: { deviceType: 'KEYWORD' } }));
}

/**
 * Writes once to each scenario namespace (an add to each counter namespace, one event to
 * each time-series namespace), so table creation happens before the measured windows.
 */
export async function primeNamespaces(origin: string): Promise<void> {
  const c = new DgwClient(origin, 1);
  // A refusal (e.g. an accept limit passed while an earlier namespace's tables were being
  // created on a loaded box) only leaves that namespace's creation to its window.
  const quiet = (p: Promise<unknown>) => p.then(() => undefined, () => undefined);
  try {
    for (const ns of [NS.eventual, NS.accurate, NS.convergence]) {
      const now = new Date().toISOString();
      await quiet(c.call('POST', '/v1/counter/AddCount', { namespace: ns, counter_name: 'prime', delta: 0, idempotency_token: { token: `prime-${Date.now()}`, generation_time: now } }));
    }
    for (const ns of [NS.writes, NS.buffered, NS.reads]) {
      const now = new Date().toISOString();
      const event = { timeSeriesId: 'prime', eventTime: now, eventId: `prime-${Date.now()}`, eventItems: [{ eventItemKey: 'deviceType', eventItemValue: Buffer.from('prime').toString('base64') }] };
      await quiet(c.call('POST', '/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [event] }));
    }
  } finally {
    await c.close();
  }
}

/**
 * Work the preload runs once `firstAt` events are stored and again each time the stored
 * events double, the streams waiting for it (one at a time): on PostgreSQL an ANALYZE,
 * as autovacuum would run during a bulk load (run.ts).
 */
export interface PreloadCheckpoint {
  firstAt: number;
  run(): Promise<void>;
}

/** Preloads the read namespace with `total` events (EVENTS_PER_SERIES per series). */
export async function preloadReads(
  origin: string,
  total: number,
  progress: (done: number, total: number, eventsPerSec: number) => void,
  checkpoint?: PreloadCheckpoint,
): Promise<{ window: ReadWindow; eventsPerSec: number }> {
  const series = Math.max(1, Math.round(total / EVENTS_PER_SERIES));
  const batch = 1000;
  const streams = 4;
  const now = Date.now();
  const spanMs = 3600_000;
  const pool = new Pool(origin, { connections: streams, pipelining: 1 });
  let next = 0;
  let done = 0;
  let nextCheckpoint = checkpoint?.firstAt ?? Infinity;
  let running: Promise<void> | undefined;
  const t0 = performance.now();
  const stream = async () => {
    for (;;) {
      const from = next;
      if (from >= total) return;
      next = Math.min(total, from + batch);
      const events: string[] = [];
      for (let i = from; i < next; i++) {
        // Event i belongs to series i mod S; times spread evenly over the last hour.
        const t = new Date(now - spanMs + Math.floor(((i / total) * spanMs))).toISOString();
        const v = Buffer.from(DEVICE_TYPES[i % 4]!).toString('base64');
        events.push(`{"timeSeriesId":"s${i % series}","eventTime":"${t}","eventId":"p${i}","eventItems":[{"eventItemKey":"deviceType","eventItemValue":"${v}"}]}`);
      }
      const r = await pool.request({
        method: 'POST',
        path: '/v1/timeseries/WriteEventRecordsSync',
        headers: { 'content-type': 'application/json' },
        body: `{"namespace":"${NS.reads}","events":[${events.join(',')}]}`,
      });
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`preload: HTTP ${r.statusCode} ${text.slice(0, 500)}`);
      done += next - from;
      progress(done, total, done / ((performance.now() - t0) / 1000));
      if (checkpoint && done >= nextCheckpoint) {
        while (nextCheckpoint <= done) nextCheckpoint *= 2;
        running ??= checkpoint.run().finally(() => (running = undefined));
      }
      if (running) await running;
    }
  };
  try {
    await Promise.all(Array.from({ length: streams }, stream));
  } finally {
    await pool.close();
  }
  const eventsPerSec = total / ((performance.now() - t0) / 1000);
  return {
    window: { series, startIso: new Date(now - 2 * spanMs).toISOString(), endIso: new Date(Date.now() + 60_000).toISOString() },
    eventsPerSec,
  };
}

/** Result of the convergence measurement. */
export interface Convergence {
  adds: number;
  counters: number;
  /** Seconds from the last acknowledged add to every GetCount equal to the exact sum; undefined if it timed out. */
  seconds?: number;
  timeoutS: number;
  /** What the counters read when it timed out (first mismatch). */
  mismatch?: string;
}

/** Measures rollup convergence on the convergence namespace. */
export async function measureConvergence(origin: string, adds: number, timeoutS: number): Promise<Convergence> {
  const c = new DgwClient(origin, 16);
  const counters = Math.min(COUNTERS, 20);
  const expected = new Array<number>(counters).fill(0);
  try {
    let i = 0;
    const worker = async () => {
      while (i < adds) {
        const n = i++;
        const k = n % counters;
        const delta = (n % 7) + 1;
        const body = {
          namespace: NS.convergence,
          counter_name: `conv${k}`,
          delta,
          idempotency_token: { token: `conv-${n}`, generation_time: new Date().toISOString() },
        };
        await c.call('POST', '/v1/counter/AddCount', body);
        expected[k] = (expected[k] ?? 0) + delta;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const lastAck = performance.now();
    let mismatch = '';
    while ((performance.now() - lastAck) / 1000 < timeoutS) {
      mismatch = '';
      for (let k = 0; k < counters && !mismatch; k++) {
        const r = await c.call('POST', '/v1/counter/GetCount', { namespace: NS.convergence, counter_name: `conv${k}` });
        if (String(r.count) !== String(expected[k])) mismatch = `conv${k}: ${String(r.count)} of ${expected[k]}`;
      }
      if (!mismatch) return { adds, counters, seconds: (performance.now() - lastAck) / 1000, timeoutS };
      await new Promise((r) => setTimeout(r, 50));
    }
    return { adds, counters, timeoutS, mismatch: `${mismatch}; ${await rollupMetrics(origin, NS.convergence)}` };
  } finally {
    await c.close();
  }
}

/**
 * The server's rollup figures of one namespace (outcomes, queue depth, lag), for a run that
 * did not converge: whether rollups ran, failed or never started.
 */
async function rollupMetrics(origin: string, namespace: string): Promise<string> {
  try {
    const text = await (await fetch(`${origin}/metrics`)).text();
    const label = `namespace="${namespace}"`;
    const lines = text
      .split('\n')
      .filter((l) => l.includes(label) && /^dgw_counters_(rollups_total|rollup_queue_depth|rollup_lag_current_seconds|rollup_events_dropped_total|operations_total)/.test(l));
    return lines.length > 0 ? lines.map((l) => l.replace(`${label},`, '').replace(`{${label}}`, '')).join(', ') : 'no rollup metrics for the namespace';
  } catch (err) {
    return `metrics unavailable: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Result of {@link measureWide}: many counters written in the same minute (`--scale`). */
export interface WideResult {
  counters: number;
  /** Adds per second while writing every counter once. */
  addsPerSec: number;
  rssBeforeMiB?: number;
  rssAfterWritesMiB?: number;
  /** Server RSS once the sampled counters read their exact count. */
  rssAfterConvergenceMiB?: number;
  /** Seconds from the last acknowledged add until every sampled counter reads 1; undefined on timeout. */
  convergenceSeconds?: number;
  sampled: number;
  timeoutS: number;
}

/**
 * "How cost grows" (issue 9): adds 1 to each of `counters` distinct counters (tokens, 32
 * streams), then reads a sample of them until each reads 1 (every rollup done), sampling
 * the server's RSS before, after the writes and after convergence.
 */
export async function measureWide(origin: string, counters: number, timeoutS: number, rss: () => number | undefined): Promise<WideResult> {
  const c = new DgwClient(origin, 32);
  const sampled = Math.min(counters, 1000);
  try {
    const rssBeforeMiB = rss();
    let i = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (i < counters) {
        const n = i++;
        const body = { namespace: NS.wide, counter_name: `w${n}`, delta: 1, idempotency_token: { token: `w-${n}`, generation_time: new Date().toISOString() } };
        await c.call('POST', '/v1/counter/AddCount', body);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const lastAck = performance.now();
    const addsPerSec = counters / ((lastAck - t0) / 1000);
    const rssAfterWritesMiB = rss();
    const pending = new Set<number>();
    for (let k = 0; k < sampled; k++) pending.add(Math.floor((k * counters) / sampled));
    while ((performance.now() - lastAck) / 1000 < timeoutS) {
      for (const k of [...pending]) {
        const r = await c.call('POST', '/v1/counter/GetCount', { namespace: NS.wide, counter_name: `w${k}` });
        if (String(r.count) === '1') pending.delete(k);
      }
      if (pending.size === 0) {
        return { counters, addsPerSec, rssBeforeMiB, rssAfterWritesMiB, rssAfterConvergenceMiB: rss(), convergenceSeconds: (performance.now() - lastAck) / 1000, sampled, timeoutS };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { counters, addsPerSec, rssBeforeMiB, rssAfterWritesMiB, rssAfterConvergenceMiB: rss(), sampled, timeoutS };
  } finally {
    await c.close();
  }
}
