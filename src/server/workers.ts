/**
 * `dgw serve --workers N` (issue 9): N server processes on the same HTTP and gRPC ports
 * through `node:cluster`, for deployments whose stores are shared (PostgreSQL + Redis,
 * Cassandra). Each worker is a whole dgw instance, exactly as N servers side by side
 * (write marks, rollup queues and caches per instance by design); the primary serves no
 * request. It forks the workers, forks again a worker that dies (one log line each),
 * forwards SIGHUP, and on SIGTERM/SIGINT has every worker drain and stop, then exits 0
 * (1 when a worker did not stop cleanly).
 *
 * Metrics: GET /metrics on any worker answers the figures of every worker, gathered by the
 * primary (prom-client's AggregatorRegistry); each series carries a `worker` label (the
 * cluster's worker id), so nothing is summed across processes that should not be (gauges,
 * clock offsets) and `sum without (worker)` gives the server's totals. GET /v1/status is
 * answered by the worker that took the connection and reports that worker's view (its
 * request rates, its rollup queue); the stored parts (namespaces, slices) are the same
 * from every worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './ops/logger.js';

/** Messages between the primary and its workers (IPC). */
type WorkerMessage =
  | { type: 'dgw:ready'; port: number; grpcPort?: number }
  | { type: 'dgw:metrics-request'; id: number }
  | { type: 'dgw:metrics-reply'; id: number; text?: string; error?: string };

function isMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('dgw:');
}

/** A worker's link to the primary: its id and the figures of every worker. */
export interface WorkerLink {
  /** The cluster's worker id (1, 2, …; a forked-again worker gets the next one). */
  readonly id: number;
  /** Every worker's metrics in the Prometheus text format, each series labelled `worker`. */
  clusterMetrics(): Promise<string>;
  /** Tells the primary this worker serves (after its ports are bound). */
  ready(port: number, grpcPort: number | undefined): void;
}

/** The link of this process when it is a cluster worker, else undefined. */
export function workerLink(): WorkerLink | undefined {
  const worker = cluster.worker;
  if (!cluster.isWorker || !worker || !process.send) return undefined;
  const send = process.send.bind(process);
  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (m: unknown) => {
    if (!isMessage(m) || m.type !== 'dgw:metrics-reply') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.text !== undefined) p.resolve(m.text);
    else p.reject(new Error(`metrics of the workers: ${m.error ?? 'no answer'}`));
  });
  return {
    id: worker.id,
    clusterMetrics: () =>
      new Promise<string>((resolve, reject) => {
        const id = next++;
        // prom-client's own gathering gives up after 5 s; this bounds a lost reply.
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('metrics of the workers: the primary did not answer in 10 s'));
        }, 10_000);
        pending.set(id, { resolve, reject, timer });
        send({ type: 'dgw:metrics-request', id } satisfies WorkerMessage);
      }),
    ready: (port, grpcPort) => send({ type: 'dgw:ready', port, ...(grpcPort !== undefined ? { grpcPort } : {}) } satisfies WorkerMessage),
  };
}

/**
 * Makes a worker's registry answer the primary's gathering: every series labelled with
 * the worker id. Call once per worker, with the server's registry.
 */
export function shareWorkerMetrics(registry: Registry, link: WorkerLink): void {
  registry.setDefaultLabels({ worker: String(link.id) });
  AggregatorRegistry.setRegistries([registry]);
  // The constructor installs prom-client's listener answering the primary's requests.
  new AggregatorRegistry();
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** For the "serving on" line: scheme and host the workers bind. */
  scheme: string;
  host: string;
}

/**
 * Runs the primary: forks `workers` workers (each re-runs this command line and serves),
 * logs once every worker serves, forks again a worker that dies, and stops them all on
 * SIGTERM/SIGINT. A worker that dies before it ever served (a configuration or store
 * error at start-up) stops the whole server with exit code 1 rather than looping.
 */
export function runPrimary(options: PrimaryOptions): void {
  const { log } = options;
  const aggregator = new AggregatorRegistry();
  const served = new Set<number>();
  /** Workers not yet exited (cluster.workers keeps a dead one until its channel closes). */
  const alive = new Map<number, Worker>();
  let everyoneReady = false;
  let stopping = false;
  let failed = false;

  const fork = () => {
    const w = cluster.fork();
    alive.set(w.id, w);
    return w;
  };
  for (let i = 0; i < options.workers; i++) fork();

  cluster.on('message', (worker: Worker, m: unknown) => {
    if (!isMessage(m)) return;
    if (m.type === 'dgw:ready') {
      served.add(worker.id);
      log.debug({ worker: worker.id, pid: worker.process.pid }, `worker ${worker.id} (pid ${worker.process.pid}) serving`);
      if (!everyoneReady && served.size >= options.workers) {
        everyoneReady = true;
        log.info(
          { httpPort: m.port, host: options.host, workers: options.workers, ...(m.grpcPort !== undefined ? { grpcPort: m.grpcPort } : {}) },
          `dgw serving on ${options.scheme}://${options.host}:${m.port} with ${options.workers} workers (pid ${process.pid})`,
        );
      }
    } else if (m.type === 'dgw:metrics-request') {
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: 'dgw:metrics-reply', id: m.id, text } satisfies WorkerMessage),
        (err: unknown) => worker.send({ type: 'dgw:metrics-reply', id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage),
      );
    }
  });

  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    alive.delete(worker.id);
    if (stopping) {
      // Killed by our SIGTERM before it installed its handlers: it had nothing to drain.
      if (code !== 0 && !(signal === 'SIGTERM' && !served.has(worker.id))) failed = true;
      log.info({ worker: worker.id, pid: worker.process.pid, code, signal }, `worker ${worker.id} stopped (${how})`);
      if (alive.size === 0) {
        log.info(failed ? 'stopped (a worker did not stop cleanly)' : 'stopped');
        log.flush();
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    if (!served.has(worker.id)) {
      log.fatal({ worker: worker.id, pid: worker.process.pid, code, signal }, `worker ${worker.id} exited (${how}) before serving; stopping the other workers`);
      failed = true;
      stop('start-up failure');
      return;
    }
    served.delete(worker.id);
    const again = fork();
    log.error({ worker: worker.id, pid: worker.process.pid, code, signal, replacement: again.id }, `worker ${worker.id} (pid ${worker.process.pid}) died (${how}); started worker ${again.id}`);
  });

  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: why }, `${why}: stopping ${alive.size} workers (each drains)`);
    if (alive.size === 0) {
      log.flush();
      process.exit(failed ? 1 : 0);
    }
    for (const w of alive.values()) w.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    for (const w of alive.values()) w.process.kill('SIGHUP');
  });
}
