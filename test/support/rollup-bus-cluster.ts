/**
 * dgw processes sharing PostgreSQL and a NATS JetStream rollup queue (issue 13), for the
 * durable-tier tests: a config file with a private schema and a private stream, a load of
 * tokened AddCount calls with its exact oracle, the rollup store read back through
 * RecountCount (which triggers no rollup, so convergence is shown without any further
 * read or write of the counters), and /metrics sums.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { call, CounterOracle, errorCode, isoMicros, nowMicros } from './dgw-load.js';
import { uniqueName } from './backends.js';
import type { ServerProcess } from './server-process.js';

/** A running instance. */
export type Instance = ServerProcess;

/** One deployment's private names. */
export interface Deployment {
  schema: string;
  stream: string;
  configPath: string;
}

/** Writes a config file: one PostgreSQL cluster (private schema), the NATS section (private stream). */
export function writeDeployment(dir: string, pgUrl: string, natsUrl: string, ackWaitMs: number): Deployment {
  const schema = uniqueName('dgw_bus');
  const stream = schema.toUpperCase();
  const configPath = join(dir, 'dgw.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      clusters: [{ name: 'pg', type: 'POSTGRES', url: pgUrl, schema, maxConnections: 8 }],
      nats: { url: natsUrl, stream, subjectPrefix: schema, consumer: `${schema}_c`, ackWaitMs, concurrency: 16 },
    }),
  );
  return { schema, stream, configPath };
}

/** Deletes a test's stream (its consumer goes with it). */
export async function deleteStream(natsUrl: string, stream: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, timeout: 2000 }).catch(() => undefined);
  if (!nc) return;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Counter namespace document: short windows so a test converges in seconds. */
export function counterDoc(coalesceMs: number, acceptLimit = '2s') {
  return {
    persistence_configuration: [
      {
        id: 'COUNTER_ROLLUP',
        config: {
          counter_type: 'EVENTUAL',
          skew_margin: '200ms',
          eventual_counter_config: { internal_config: { queue_config: { num_queues: 4, coalesce_ms: coalesceMs }, rollup_batch_count: 16 } },
        },
      },
      { id: 'EVENT_STORAGE', config: { accept_limit: acceptLimit } },
    ],
  };
}

/** What a load did. */
export interface LoadResult {
  oracle: CounterOracle;
  acked: number;
  /** Adds refused for good (FAILED_PRECONDITION: not stored), or still unknown after retries, by code. */
  failures: Map<string, number>;
  /** `counter@window` for every acknowledged add: the coalesce windows with writes. */
  windows: Set<string>;
}

/**
 * Tokened AddCount calls from `workers` concurrent clients over `counters`, round robin
 * over `urls` (a failed instance's calls go to the next one), until `stop()` is true.
 */
export async function runLoad(
  urls: () => readonly string[],
  namespace: string,
  counters: readonly string[],
  coalesceMs: number,
  stop: () => boolean,
  workers = 6,
): Promise<LoadResult> {
  const result: LoadResult = { oracle: new CounterOracle(), acked: 0, failures: new Map(), windows: new Set() };
  let seq = 0;
  const worker = async (w: number) => {
    while (!stop()) {
      const n = seq++;
      const counter = counters[n % counters.length]!;
      const delta = BigInt((n % 7) + 1);
      const time = nowMicros();
      const token = `w${w}-${n}`;
      const body = { namespace, counter_name: counter, delta: String(delta), idempotency_token: { token, generation_time: isoMicros(time) } };
      // An outcome-unknown answer (deadline, unavailable, network) is retried with the same
      // token and time until it is known: 200 (stored once), or FAILED_PRECONDITION (never stored).
      let r = await call(urls()[n % urls().length]!, 'POST', '/v1/counter/AddCount', body, 10_000);
      for (let attempt = 1; attempt < 20 && r.status !== 200 && errorCode(r) !== 'FAILED_PRECONDITION'; attempt++) {
        r = await call(urls()[(n + attempt) % urls().length]!, 'POST', '/v1/counter/AddCount', body, 10_000);
      }
      if (r.status === 200) {
        result.acked++;
        result.oracle.add(counter, token, time, delta);
        result.windows.add(`${counter}@${Math.floor(Date.now() / coalesceMs)}`);
      } else {
        const code = errorCode(r);
        result.failures.set(code, (result.failures.get(code) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return result;
}

/** The stored rollup counts (RecountCount's rollupCount: no rollup is triggered by reading them). */
export async function rollupCounts(url: string, namespace: string, counters: readonly string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const c of counters) {
    const r = await call(url, 'POST', '/v1/counter/RecountCount', { namespace, counter_name: c }, 15_000);
    if (r.status !== 200) throw new Error(`RecountCount ${c}: ${errorCode(r)} ${JSON.stringify(r.json)}`);
    out.set(c, BigInt(r.json.rollupCount as string));
  }
  return out;
}

/** The counters whose stored rollup differs from the oracle, described. */
export async function mismatches(url: string, namespace: string, counters: readonly string[], oracle: CounterOracle): Promise<string[]> {
  const counts = await rollupCounts(url, namespace, counters);
  return counters.filter((c) => counts.get(c) !== oracle.count(c)).map((c) => `${c}: rollup ${counts.get(c)} != ${oracle.count(c)}`);
}

/** Sum of a metric's samples on one instance whose labels include `labels`. */
export async function metricSum(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map((m[3] ?? '').split(',').filter(Boolean).map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), kv.slice(eq + 2, -1)] as const;
    }));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}
