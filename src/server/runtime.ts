/**
 * A running dgw instance: opens the stores, builds the engines and the HTTP (and, with
 * `grpcPort`, gRPC) server, runs
 * the background lifecycle task, and shuts everything down in order (stop accepting,
 * drain write buffers and rollup queues, close stores).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter as PromCounter, Gauge } from 'prom-client';
import { SystemClock, type Clock } from '../kernel/clock.js';
import { NamespaceManager } from '../core/control/namespace-manager.js';
import type { NamespaceConfig } from '../core/control/types.js';
import { createCounterService, type CounterEngine } from '../core/counter/service.js';
import { createTimeSeriesService, type TimeSeriesEngine } from '../core/timeseries/service.js';
import type { TimeSeriesLimits } from '../core/timeseries/limits.js';
import type { StoreCatalog } from '../storage/catalog.js';
import type { ClusterConfig } from './clusters.js';
import { assembleStores } from './stores.js';
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

/** Options of {@link startServer}. */
export interface ServerOptions {
  port: number;
  host: string;
  dataDir: string;
  /** Configured clusters (PostgreSQL, Redis); none means embedded SQLite in `dataDir` (stores.ts). */
  clusters?: readonly ClusterConfig[];
  clock?: Clock;
  limits?: Partial<TimeSeriesLimits>;
  /** Seconds between lifecycle passes (slices ahead of need, close, drop). Default 30. */
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
  /** Runs one lifecycle pass over every namespace now. */
  runLifecycle(): Promise<void>;
  /** Graceful shutdown; idempotent. */
  close(): Promise<void>;
}

/** Opens the stores and starts serving HTTP. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  checkBindPolicy(options.host, options.tokens !== undefined, options.allowUnauthenticated ?? false);
  const clock = options.clock ?? new SystemClock();
  const logger = options.log ?? createLogger('silent');
  const { catalog, resolver, description: storesDescription } = await assembleStores({ dataDir: options.dataDir, clock, ...(options.clusters ? { clusters: options.clusters } : {}) });

  const metrics = createServerRegistry();
  catalog.setCacheFailureCounter(
    new PromCounter({
      name: 'dgw_rollup_cache_failures_total',
      help: 'Rollup cache calls that failed and degraded to a miss (cache store down)',
      labelNames: ['op'],
      registers: [metrics],
    }),
  );
  // Background failures must never crash the server; they are logged, at most one line
  // per second (an outage of a store would otherwise flood the log), with a count.
  let lastLog = 0;
  let suppressed = 0;
  const log = (err: unknown, what: string) => {
    const now = Date.now();
    if (now - lastLog < 1000) {
      suppressed++;
      return;
    }
    lastLog = now;
    if (options.log) logger.error({ err, suppressed }, `${what} failed: ${describeCause(err)}`);
    else console.error(`dgw: ${what} failed: ${describeCause(err)}${suppressed > 0 ? ` (${suppressed} similar messages suppressed)` : ''}`);
    suppressed = 0;
  };
  const pageTokenSecret =
    options.pageTokenSecret ?? (await catalog.namespaces().claimSetting(PAGE_TOKEN_SECRET_SETTING, randomBytes(32).toString('base64url')));
  const engine = createTimeSeriesService({
    clock,
    catalog,
    registry: metrics,
    onBackgroundError: log,
    pageTokenSecret,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const counters = createCounterService({
    clock,
    catalog,
    timeseries: engine,
    registry: metrics,
    pipeline: { onError: (ns, counter, err) => log(err, `rollup of counter "${counter}" in "${ns}" (retried on its next event or read)`) },
  });
  const namespaces = new NamespaceManager({
    registry: catalog.namespaces(),
    catalog: resolver,
    clock,
    onDelete: async (config: NamespaceConfig) => {
      if (config.kind === 'timeseries') await engine.dropNamespace(config);
      else await counters.dropNamespace(config);
      await removeNamespaceSeries(metrics, config.kind === 'timeseries' ? [config.name] : [config.name, config.events.name]);
    },
  });

  let loopDelay: LoopDelaySampler | undefined;
  let shedder: Shedder | undefined;
  if (options.shedding !== false) {
    let signals = options.overloadSignals;
    if (!signals) {
      const sampler = (loopDelay = new LoopDelaySampler());
      signals = { eventLoopDelayMs: () => sampler.delayMs(), bufferBytes: () => engine.bufferDepth().bytes };
    }
    const shed = new PromCounter({
      name: 'dgw_requests_shed_total',
      help: 'Calls refused by priority load shedding (429 RESOURCE_EXHAUSTED), by operation',
      labelNames: ['operation'],
      registers: [metrics],
    });
    shedder = new Shedder(signals, options.shedding ?? {}, (operation) => shed.inc({ operation }));
    const s = shedder;
    new Gauge({
      name: 'dgw_overload_fraction',
      help: 'Overload x in [0, 1] (worst signal); priorities up to 100·x³ are shed',
      registers: [metrics],
      collect() {
        this.set(s.reading().x);
      },
    });
  }
  const guard = new CallGuard({ ...(options.tokens ? { tokens: options.tokens } : {}), ...(shedder ? { shedder } : {}) });

  const rates = new RequestRates();
  // The one operation chain of both transports (server/operations/chain.ts: the seam for
  // cross-cutting concerns); the request deadline is its first link.
  const chain = new OperationChain({ clock, engine, counters, namespaces, registry: catalog.namespaces() }).use(
    deadlineInterceptor(options.requestTimeoutMs ?? 10_000),
  );

  const app = buildHttpApp({
    chain,
    guard,
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    clock,
    engine,
    counters,
    namespaces,
    registry: catalog.namespaces(),
    metrics,
    ready: () => catalog.ping(),
    // With a logger, a 500's cause goes on its request line (ops/http-request-log.ts).
    ...(options.log ? {} : { onInternalError: (err: unknown, where: string) => log(err, where) }),
    ...(options.connectionLimits ? { connectionLimits: options.connectionLimits } : {}),
    rates,
    ...(options.log ? { log: options.log } : {}),
  });

  const runLifecycle = async (): Promise<void> => {
    const ts = await namespaces.list('timeseries');
    for (const record of ts) {
      try {
        await engine.runLifecycle(await namespaces.getTimeSeries(record.name));
      } catch (err) {
        log(err, `lifecycle of timeseries namespace "${record.name}"`);
      }
    }
    for (const record of await namespaces.list('counter')) {
      try {
        await counters.runLifecycle(await namespaces.getCounter(record.name));
      } catch (err) {
        log(err, `lifecycle of counter namespace "${record.name}"`);
      }
    }
  };
  let lifecycleRunning: Promise<void> | undefined;
  const interval = setInterval(() => {
    if (lifecycleRunning) return;
    lifecycleRunning = runLifecycle()
      .catch((err: unknown) => log(err, 'lifecycle pass'))
      .finally(() => (lifecycleRunning = undefined));
  }, (options.lifecycleIntervalSeconds ?? 30) * 1000);
  interval.unref();

  let grpc: RunningGrpcServer | undefined;
  registerOpsRoutes(app, {
    catalog,
    namespaces,
    metrics,
    rates,
    ports: () => ({ http: port, ...(grpc ? { grpc: grpc.port } : {}) }),
  });

  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(interval);
      loopDelay?.stop();
      await Promise.all([app.close(), grpc?.close()]); // stop accepting, finish in-flight requests
      await engine.shutdown(); // drain buffered writes
      await counters.shutdown(); // drain rollup queues
      await lifecycleRunning;
      await catalog.close();
    })());

  if (options.grpcPort !== undefined) {
    try {
      grpc = await startGrpcServer(
        {
          chain,
          maxMessageBytes: engine.limits.maxBodyBytes,
          metrics,
          guard,
          onInternalError: (err, method) => log(err, `gRPC ${method}`),
          interceptors: [grpcRequestLog(logger, rates)],
          ready: () => catalog.ping(),
        },
        { host: options.host, port: options.grpcPort, ...(options.tls ? { tls: options.tls } : {}) },
      );
    } catch (err) {
      await close();
      throw err;
    }
  }

  return { app, engine, counters, namespaces, catalog, storesDescription, port, ...(grpc ? { grpcPort: grpc.port } : {}), ...(shedder ? { shedder } : {}), runLifecycle, close };
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
