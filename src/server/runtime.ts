/**
 * A running dgw instance: opens the stores, builds the engines and the HTTP (and, with
 * `grpcPort`, gRPC) server, runs
 * the background lifecycle task, and shuts everything down in order (stop accepting,
 * drain write buffers and rollup queues, close stores).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter as PromCounter, Gauge, type Registry } from 'prom-client';
import { SystemClock, type Clock } from '../kernel/clock.js';
import { NamespaceManager } from '../core/control/namespace-manager.js';
import type { NamespaceConfig } from '../core/control/types.js';
import { createCounterService, type CounterEngine } from '../core/counter/service.js';
import { createTimeSeriesService, type TimeSeriesEngine } from '../core/timeseries/service.js';
import type { TimeSeriesLimits } from '../core/timeseries/limits.js';
import type { StoreCatalog } from '../storage/catalog.js';
import type { ClusterConfig, NatsConfig } from './clusters.js';
import { DgwError, isDgwError } from '../kernel/errors.js';
import type { RollupBus } from '../storage/contracts.js';
import { createJetStreamRollupBus } from '../storage/nats/jetstream-rollup-bus.js';
import { registerRollupBusMetrics } from './ops/rollup-bus-metrics.js';
import { assembleStores, type AssembledStores } from './stores.js';
import { readinessWithClocks, startClockOffsets, type ClockOffsetMonitor, type ClockOffsetSettings } from './clock-offsets.js';
import { buildHttpApp } from './http/app.js';
import type { HttpConnectionLimits } from './http/connection-limits.js';
import { removeNamespaceSeries } from './namespace-metrics.js';
import { deadlineInterceptor, OperationChain } from './operations/chain.js';
import { startGrpcServer, type RunningGrpcServer } from './grpc/server.js';
import { checkBindPolicy } from './auth/bind-policy.js';
import type { TokenStore } from './auth/token-store.js';
import { CallGuard } from './call-guard.js';
import { LoopDelaySampler } from './shedding/loop-delay.js';
import { Shedder, type OverloadSignals, type SheddingConfig } from './shedding/shedder.js';
import { createLogger, type Logger } from './ops/logger.js';
import { RequestRates } from './ops/request-rates.js';
import { createServerRegistry } from './ops/metrics.js';
import { registerOpsRoutes } from './ops/ops-routes.js';
import { grpcRequestLog } from './ops/grpc-request-log.js';
import { MemoryBudget } from '../core/memory-budget.js';
import { defaultMemoryBudget } from './memory/budget-size.js';
import { registerMemoryBudgetMetrics } from './memory/budget-metrics.js';
import { shareWorkerMetrics, type WorkerLink } from './workers.js';

/** Options of {@link startServer}. */
export interface ServerOptions {
  port: number;
  host: string;
  dataDir: string;
  /** Embedded SQLite: commit event appends in a writer thread (`--sqlite-writer-thread`, docs/storage.md). Default false. */
  sqliteWriterThread?: boolean;
  /** Embedded SQLite: run packed read and search scans on this many reader threads (`--sqlite-reader-threads`, docs/storage.md). Default 0: inline (`dgw serve` passes 1). */
  sqliteReaderThreads?: number;
  /** How long a checkpoint read from a shared rollup cache is reused (`--near-cache-ms`; docs/counters.md). Default 100; 0: off. */
  nearCacheMs?: number;
  /** Configured clusters (PostgreSQL, Redis); none means embedded SQLite in `dataDir` (stores.ts). */
  clusters?: readonly ClusterConfig[];
  clock?: Clock;
  limits?: Partial<TimeSeriesLimits>;
  /**
   * The durable rollup queue on NATS JetStream (`--nats-url`, config `nats`); needs
   * clusters (shared stores). Without it rollup events stay in this instance's queues.
   */
  nats?: NatsConfig;
  /** Most ms a counter rollup pipeline, a sweep or a durable bus handler waits for one rollup (`--rollup-timeout-ms`; docs/counters.md). Default 10000. */
  rollupTimeoutMs?: number;
  /** Seconds between lifecycle passes (counter sweeper, slices ahead of need, close, drop; `--lifecycle-interval`). Default 30. */
  lifecycleIntervalSeconds?: number;
  /** Where request lines, background failures and internal errors go; default: silent. */
  log?: Logger;
  /** Port of the gRPC server (docs/grpc.md), on the same host; 0 picks a free one; undefined = no gRPC. */
  grpcPort?: number;
  /** Deadline of one data-plane request, HTTP and gRPC (DEADLINE_EXCEEDED past it); default 10 s. */
  requestTimeoutMs?: number;
  /** HTTP header, body and idle timeouts and the connection cap (src/server/http/connection-limits.ts). */
  connectionLimits?: Partial<HttpConnectionLimits>;
  /** Bearer tokens; every call but the probes needs one when set (docs/security.md). */
  tokens?: TokenStore;
  /** Browser origins allowed to call; other `Origin`s get 403. Default none. */
  allowedOrigins?: readonly string[];
  /** TLS certificate and key (PEM) for both HTTP and gRPC. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Serve the hot counter calls through the node:http fast path (http/fast-routes.ts); default true. */
  httpFastPath?: boolean;
  /** Serve a non-loopback host without tokens (otherwise refused, DESIGN 7). */
  allowUnauthenticated?: boolean;
  /** Load shedding settings (server config `shedding`, docs/overload.md); false turns it off. */
  shedding?: SheddingConfig | false;
  /** Overload signals; default the event-loop delay sampler and the write buffers (tests inject). */
  overloadSignals?: OverloadSignals;
  /**
   * Secret signing page tokens (at least 16 bytes); every instance sharing a store must use
   * the same. When absent, one is generated once and kept in the namespace registry (the
   * SQLite file in the data directory, or the shared PostgreSQL), so tokens survive
   * restarts and work on every instance of the store.
   */
  pageTokenSecret?: string;
  /**
   * Measuring this instance's clock against the shared stores' clocks (issue 15,
   * server/clock-offsets.ts): on by default with the system clock, off with an injected one.
   */
  clockOffsets?: ClockOffsetSettings | false;
  /**
   * Server memory budget in bytes for request bodies in flight and write buffers together
   * (core/memory-budget.ts; docs/operations.md); default: defaultMemoryBudget().
   */
  memoryBudgetBytes?: number;
  /**
   * This process is worker `id` of `dgw serve --workers N` (server/workers.ts): its metrics
   * carry a `worker` label and GET /metrics answers every worker's.
   */
  worker?: WorkerLink;
}

/** Registry setting holding the generated page-token secret. */
const PAGE_TOKEN_SECRET_SETTING = 'page-token-secret';

/** A started server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly engine: TimeSeriesEngine;
  readonly counters: CounterEngine;
  readonly namespaces: NamespaceManager;
  readonly catalog: StoreCatalog;
  /** Which stores serve, for the startup message. */
  readonly storesDescription: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The gRPC port actually bound; undefined when gRPC is off. */
  readonly grpcPort?: number;
  /** The shedder (overload reading, calls in flight); undefined when shedding is off. */
  readonly shedder?: Shedder;
  /** The memory budget bodies and write buffers reserve from. */
  readonly memoryBudget: MemoryBudget;
  /** Runs one lifecycle pass over every namespace now. */
  runLifecycle(): Promise<void>;
  /** Graceful shutdown; idempotent. */
  close(): Promise<void>;
}

/** Opens the stores and starts serving HTTP (and gRPC with `grpcPort`). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  checkBindPolicy(options.host, options.tokens !== undefined, options.allowUnauthenticated ?? false);
  if (options.nats && (!options.clusters || options.clusters.length === 0)) {
    throw new DgwError('INVALID_ARGUMENT', 'nats: the durable rollup queue is for server deployments (shared stores: --postgres-url); embedded SQLite has no other instance to share rollups with');
  }
  const clock = options.clock ?? new SystemClock();
  const stores = await assembleStores({
    dataDir: options.dataDir,
    ...(options.sqliteWriterThread ? { sqliteWriterThread: true } : {}),
    ...(options.sqliteReaderThreads ? { sqliteReaderThreads: options.sqliteReaderThreads } : {}),
    ...(options.nearCacheMs !== undefined ? { nearCacheMs: options.nearCacheMs } : {}),
    clock,
    ...(options.clusters ? { clusters: options.clusters } : {}),
    // A store not reachable at start-up (Cassandra): the server starts, /readyz says why.
    onWarning: (message, err) => {
      if (options.log) options.log.error({ err }, `${message}: ${describeCause(err)}`);
      else console.error(`dgw: ${message}: ${describeCause(err)}`);
    },
  });
  const pageTokenSecret =
    options.pageTokenSecret ?? (await stores.catalog.namespaces().claimSetting(PAGE_TOKEN_SECRET_SETTING, randomBytes(32).toString('base64url')));
  // Measured before the server serves: readiness, rollups and tokenless stamps depend on it.
  const logger = options.log;
  const clockOffsets = await startClockOffsets(options.clockOffsets, options.clock !== undefined, {
    catalog: stores.catalog,
    clock,
    log: (level, message) => (logger ? logger[level](message) : console.error(`dgw: ${message}`)),
  });
  const server = new DgwServer(options, clock, stores, pageTokenSecret, clockOffsets);
  // Index outboxes left by a crash (an index in another store than the events) are
  // delivered before serving, not only on the first lifecycle pass
  // (core/timeseries/index-repair.ts); a failure is logged and the lifecycle passes retry.
  await server.repairIndexes();
  await server.listen();
  return server;
}

/**
 * A dgw instance built from opened stores: the engines, the control plane, the operation
 * chain, the HTTP app (and the gRPC server once {@link DgwServer.listen} ran), and the
 * background lifecycle task. {@link startServer} makes and starts one.
 */
export class DgwServer implements RunningServer {
  readonly app: FastifyInstance;
  readonly engine: TimeSeriesEngine;
  readonly counters: CounterEngine;
  readonly namespaces: NamespaceManager;
  readonly catalog: StoreCatalog;
  readonly storesDescription: string;
  readonly shedder?: Shedder;
  readonly memoryBudget: MemoryBudget;
  private readonly options: ServerOptions;
  private readonly logger: Logger;
  private readonly metrics: Registry;
  private readonly chain: OperationChain;
  private readonly guard: CallGuard;
  private readonly rates = new RequestRates();
  private readonly loopDelay?: LoopDelaySampler;
  private readonly clockOffsets: ClockOffsetMonitor | undefined;
  /** /readyz and gRPC health: the stores answer and no clock offset is beyond the margin. */
  private readonly ready: () => Promise<void>;
  private readonly interval: NodeJS.Timeout;
  private grpc: RunningGrpcServer | undefined;
  /** The durable rollup queue, when configured. */
  private readonly bus?: RollupBus;
  private httpPort: number;
  private lifecycleRunning: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Background failures are logged at most once a second (see {@link DgwServer.logBackground}). */
  private lastLog = 0;
  private suppressed = 0;

  constructor(options: ServerOptions, clock: Clock, stores: AssembledStores, pageTokenSecret: string, clockOffsets?: ClockOffsetMonitor) {
    this.options = options;
    this.clockOffsets = clockOffsets;
    this.logger = options.log ?? createLogger('silent');
    const { catalog, resolver } = stores;
    this.catalog = catalog;
    this.storesDescription = stores.description;
    this.httpPort = options.port;
    const metrics = (this.metrics = createServerRegistry());
    const worker = options.worker;
    if (worker) shareWorkerMetrics(metrics, worker);
    catalog.setCacheFailureCounter(
      new PromCounter({
        name: 'dgw_rollup_cache_failures_total',
        help: 'Rollup cache calls that failed and degraded to a miss (cache store down)',
        labelNames: ['op'],
        registers: [metrics],
      }),
    );
    const log = (err: unknown, what: string) => this.logBackground(err, what);
    clockOffsets?.registerMetrics(metrics);
    this.ready = readinessWithClocks(() => catalog.ping(), clockOffsets);
    const memoryBudget = (this.memoryBudget = new MemoryBudget(options.memoryBudgetBytes ?? defaultMemoryBudget().bytes));
    registerMemoryBudgetMetrics(metrics, memoryBudget);
    const engine = (this.engine = createTimeSeriesService({
      memoryBudget,
      clock,
      catalog,
      registry: metrics,
      onBackgroundError: log,
      pageTokenSecret,
      ...(options.limits ? { limits: options.limits } : {}),
    }));
    const counters = (this.counters = createCounterService({
      clock,
      catalog,
      timeseries: engine,
      registry: metrics,
      pipeline: {
        onError: (ns, counter, err) => log(err, `rollup of counter "${counter}" in "${ns}" (retried on its next event or read)`),
        ...(options.rollupTimeoutMs !== undefined ? { rollupTimeoutMs: options.rollupTimeoutMs } : {}),
      },
      ...(clockOffsets ? { clockOffsets } : {}),
    }));
    const namespaces = (this.namespaces = new NamespaceManager({
      registry: catalog.namespaces(),
      catalog: resolver,
      clock,
      onDelete: async (config: NamespaceConfig) => {
        if (config.kind === 'timeseries') await engine.dropNamespace(config);
        else await counters.dropNamespace(config);
        await removeNamespaceSeries(metrics, config.kind === 'timeseries' ? [config.name] : [config.name, config.events.name]);
      },
    }));

    if (options.nats) {
      const bus = (this.bus = createJetStreamRollupBus({ ...options.nats, onError: (err) => log(err, 'NATS rollup bus') }));
      counters.useRollupBus(bus, async (name) => {
        try {
          return await namespaces.getCounter(name);
        } catch (err) {
          // Deleted, or not a counter namespace (any more): nothing to roll up.
          if (isDgwError(err) && (err.code === 'NOT_FOUND' || err.code === 'FAILED_PRECONDITION')) return undefined;
          throw err;
        }
      });
      registerRollupBusMetrics(metrics, bus);
    }

    if (options.shedding !== false) {
      let signals = options.overloadSignals;
      if (!signals) {
        const sampler = (this.loopDelay = new LoopDelaySampler());
        signals = { eventLoopDelayMs: () => sampler.delayMs(), bufferBytes: () => engine.bufferDepth().bytes };
      }
      this.shedder = createShedder(signals, options.shedding ?? {}, metrics);
    }
    this.guard = new CallGuard({ ...(options.tokens ? { tokens: options.tokens } : {}), ...(this.shedder ? { shedder: this.shedder } : {}) });

    // The one operation chain of both transports (server/operations/chain.ts: the seam for
    // cross-cutting concerns); the request deadline is its first link.
    this.chain = new OperationChain({ clock, engine, counters, namespaces, registry: catalog.namespaces() }).use(
      deadlineInterceptor(options.requestTimeoutMs ?? 10_000),
    );

    this.app = buildHttpApp({
      chain: this.chain,
      guard: this.guard,
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      clock,
      engine,
      counters,
      namespaces,
      registry: catalog.namespaces(),
      metrics,
      ...(worker ? { metricsText: () => worker.clusterMetrics() } : {}),
      ready: this.ready,
      // With a logger, a 500's cause goes on its request line (ops/http-request-log.ts).
      ...(options.log ? {} : { onInternalError: (err: unknown, where: string) => log(err, where) }),
      ...(options.connectionLimits ? { connectionLimits: options.connectionLimits } : {}),
      rates: this.rates,
      ...(options.log ? { log: options.log } : {}),
      memoryBudget,
      ...(options.httpFastPath === false ? { fastPath: false } : {}),
    });

    this.interval = setInterval(() => this.tickLifecycle(), (options.lifecycleIntervalSeconds ?? 30) * 1000);
    this.interval.unref();

    registerOpsRoutes(this.app, {
      catalog,
      namespaces,
      metrics,
      rates: this.rates,
      ports: () => ({ http: this.httpPort, ...(this.grpc ? { grpc: this.grpc.port } : {}) }),
    });
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.httpPort;
  }

  /** The gRPC port actually bound; undefined when gRPC is off. */
  get grpcPort(): number | undefined {
    return this.grpc?.port;
  }

  /** Binds the HTTP port, then starts the gRPC server when `grpcPort` is set (closing everything if it fails). */
  async listen(): Promise<void> {
    const { options } = this;
    await this.app.listen({ port: options.port, host: options.host });
    const address = this.app.server.address();
    this.httpPort = typeof address === 'object' && address ? address.port : options.port;
    if (options.grpcPort === undefined) return;
    try {
      this.grpc = await startGrpcServer(
        {
          chain: this.chain,
          maxMessageBytes: this.engine.limits.maxBodyBytes,
          metrics: this.metrics,
          guard: this.guard,
          onInternalError: (err, method) => this.logBackground(err, `gRPC ${method}`),
          interceptors: [grpcRequestLog(this.logger, this.rates)],
          ready: this.ready,
          memoryBudget: this.memoryBudget,
        },
        { host: options.host, port: options.grpcPort, ...(options.tls ? { tls: options.tls } : {}) },
      );
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Delivers every timeseries namespace's index outbox (failures logged, not thrown). */
  async repairIndexes(): Promise<void> {
    try {
      for (const record of await this.namespaces.list('timeseries')) {
        try {
          await this.engine.repairIndex(await this.namespaces.getTimeSeries(record.name));
        } catch (err) {
          this.logBackground(err, `index repair of timeseries namespace "${record.name}"`);
        }
      }
    } catch (err) {
      this.logBackground(err, 'index repair at start-up');
    }
  }

  async runLifecycle(): Promise<void> {
    const { namespaces } = this;
    const ts = await namespaces.list('timeseries');
    // Once close begins, the pass stops at the next namespace: the counter service is shut
    // down by then, and each further namespace would only log its refusal.
    for (const record of ts) {
      if (this.closing) return;
      try {
        await this.engine.runLifecycle(await namespaces.getTimeSeries(record.name));
      } catch (err) {
        this.logBackground(err, `lifecycle of timeseries namespace "${record.name}"`);
      }
    }
    for (const record of await namespaces.list('counter')) {
      if (this.closing) return;
      try {
        await this.counters.runLifecycle(await namespaces.getCounter(record.name));
      } catch (err) {
        this.logBackground(err, `lifecycle of counter namespace "${record.name}"`);
      }
    }
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.interval);
      this.loopDelay?.stop();
      await this.clockOffsets?.stop();
      await Promise.all([this.app.close(), this.grpc?.close()]); // stop accepting, finish in-flight requests
      await this.engine.shutdown(); // drain buffered writes
      await this.bus?.close(); // stop consuming; held events go back to the stream for the other instances
      await this.counters.shutdown(); // drain rollup queues
      await this.lifecycleRunning;
      await this.catalog.close();
    })());
  }

  /** One timer tick: a lifecycle pass unless the previous one still runs. */
  private tickLifecycle(): void {
    if (this.lifecycleRunning) return;
    this.lifecycleRunning = this.runLifecycle()
      .catch((err: unknown) => this.logBackground(err, 'lifecycle pass'))
      .finally(() => (this.lifecycleRunning = undefined));
  }

  /**
   * Background failures must never crash the server; they are logged, at most one line
   * per second (an outage of a store would otherwise flood the log), with a count.
   */
  private logBackground(err: unknown, what: string): void {
    const now = Date.now();
    if (now - this.lastLog < 1000) {
      this.suppressed++;
      return;
    }
    this.lastLog = now;
    const suppressed = this.suppressed;
    if (this.options.log) this.logger.error({ err, suppressed }, `${what} failed: ${describeCause(err)}`);
    else console.error(`dgw: ${what} failed: ${describeCause(err)}${suppressed > 0 ? ` (${suppressed} similar messages suppressed)` : ''}`);
    this.suppressed = 0;
  }
}

/** The priority load shedder with its metrics (`dgw_requests_shed_total`, `dgw_overload_fraction`). */
function createShedder(signals: OverloadSignals, config: SheddingConfig, metrics: Registry): Shedder {
  const shed = new PromCounter({
    name: 'dgw_requests_shed_total',
    help: 'Calls refused by priority load shedding (429 RESOURCE_EXHAUSTED), by operation',
    labelNames: ['operation'],
    registers: [metrics],
  });
  const shedder = new Shedder(signals, config, (operation) => shed.inc({ operation }));
  new Gauge({
    name: 'dgw_overload_fraction',
    help: 'Overload x in [0, 1] (worst signal); priorities up to 100·x³ are shed',
    registers: [metrics],
    collect() {
      this.set(shedder.reading().x);
    },
  });
  new Gauge({
    name: 'dgw_admission_in_flight',
    help: 'Calls executing under the priority admission limit (shedding.admission.limit)',
    registers: [metrics],
    collect() {
      this.set(shedder.admission.inFlight);
    },
  });
  new Gauge({
    name: 'dgw_admission_waiting',
    help: 'Calls waiting in the priority admission queue for a slot',
    registers: [metrics],
    collect() {
      this.set(shedder.admission.waiting);
    },
  });
  return shedder;
}

/**
 * Server-side text of a failure: its message, the chain of causes (the driver's words a
 * client never sees), and the stack of an unexpected (non-dgw) error, which is a bug.
 */
export function describeCause(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(`${e.message}${typeof code === 'string' && !e.message.includes(code) ? ` [${code}]` : ''}`);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  const text = parts.join(' <- caused by: ');
  return err instanceof Error && err.name !== 'DgwError' && err.stack ? `${text}\n${err.stack}` : text;
}
