/**
 * `dgw serve`: parses the server flags (each also from a DGW_* environment variable),
 * checks them (ports, URL schemes, log level), starts the server and logs what it runs
 * on: stores, clusters, ports, data folder. SIGTERM/SIGINT drain and stop.
 */
import { parseArgs } from 'node:util';
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { HttpConnectionLimits } from '../server/http/connection-limits.js';
import { startServer } from '../server/runtime.js';
import { clusterAddress, parseCluster, readDeployment, type ClusterConfig, type NatsConfig } from '../server/clusters.js';
import { SystemClock } from '../kernel/clock.js';
import { parseDurationMicros } from '../kernel/time.js';
import { createLogger, parseLogLevel } from '../server/ops/logger.js';
import { buildInfo } from '../server/ops/build-info.js';
import { checkUrlScheme, redactUrl } from '../server/ops/url-scheme.js';
import { DEFAULT_HOST, isLoopbackHost } from '../server/auth/bind-policy.js';
import { readSecuritySections, TokenFileWatcher } from '../server/auth/config-file.js';
import { TokenStore } from '../server/auth/token-store.js';
import { runPrimary, workerLink } from '../server/workers.js';
import { defaultMemoryBudget } from '../server/memory/budget-size.js';
import { applyPretenuring, choosePretenuring, pretenuringOverride } from '../server/memory/v8-flags.js';

/** --help of `dgw serve`. */
export const SERVE_USAGE = `usage: dgw serve [options]

Runs the dgw server (HTTP, optionally gRPC). Every flag can also come from its
environment variable (in brackets). Without store URLs, data is kept in SQLite.

options:
  --port N               HTTP port (8080) [DGW_PORT]
  --host H               address to bind (127.0.0.1; another needs tokens, docs/security.md) [DGW_HOST]
  --grpc-port N          also serve gRPC on this port [DGW_GRPC_PORT]
  --data-dir DIR         SQLite data folder (./data) [DGW_DATA_DIR]
  --sqlite-writer-thread  commit SQLite event appends in a writer thread (off; docs/storage.md)
                         [DGW_SQLITE_WRITER_THREAD=1]
  --sqlite-reader-threads N|auto  run SQLite ReadEventRecords/SearchEventRecords scans on N
                         reader threads (auto: 1 with more than 2 cores per worker process,
                         else 0 = inline; docs/storage.md) [DGW_SQLITE_READER_THREADS]
  --postgres-url URL     postgres://user@host:5432/db: events, index, rollups, registry [DGW_POSTGRES_URL]
  --redis-url URL        redis://host:6379: counter caches [DGW_REDIS_URL]
  --near-cache-ms N      reuse a rollup checkpoint read from Redis for N ms (100; 0: off;
                         docs/counters.md "The near cache") [DGW_NEAR_CACHE_MS]
  --rollup-timeout-ms N  a counter rollup not done in N ms stops holding its queue, the
                         sweep or a durable bus handler: reported, retried once it settles
                         (10000; docs/counters.md "The rollup pipeline") [DGW_ROLLUP_TIMEOUT_MS]
  --cassandra-contact-points H[:P],...  Cassandra nodes: events and rollups; needs
                         --postgres-url for the index (docs/cassandra.md) [DGW_CASSANDRA_CONTACT_POINTS]
  --cassandra-local-dc DC  data centre serving this instance (datacenter1) [DGW_CASSANDRA_LOCAL_DC]
  --cassandra-keyspace KS  keyspace (dgw), created when missing [DGW_CASSANDRA_KEYSPACE]
  --cassandra-replication R  of a created keyspace: N (SimpleStrategy) or dc1:3,dc2:3
                         (NetworkTopologyStrategy); default 1 [DGW_CASSANDRA_REPLICATION]
  --cassandra-consistency C  LOCAL_QUORUM (default), QUORUM, ONE, ... [DGW_CASSANDRA_CONSISTENCY]
  --nats-url URL         nats://host:4222: durable rollup queue on NATS JetStream, shared by the
                         instances (docs/counters.md); needs --postgres-url [DGW_NATS_URL]
  --config FILE          JSON file: clusters (docs/backends.md), nats, auth tokens, allowed origins,
                         shedding (docs/security.md, docs/overload.md) [DGW_CONFIG]
  --tls-cert FILE        with --tls-key: HTTPS and gRPC over TLS [DGW_TLS_CERT]
  --tls-key FILE         [DGW_TLS_KEY]
  --allow-unauthenticated  serve a non-loopback host without tokens
  --headers-timeout-ms N   whole header section within N ms, else 408 (10000) [DGW_HEADERS_TIMEOUT_MS]
  --receive-timeout-ms N   whole request, body included, within N ms, else 408 (30000) [DGW_RECEIVE_TIMEOUT_MS]
  --keep-alive-timeout-ms N  close idle keep-alive connections after N ms (5000) [DGW_KEEP_ALIVE_TIMEOUT_MS]
  --idle-timeout-ms N    destroy a socket silent for N ms (60000) [DGW_IDLE_TIMEOUT_MS]
  --max-connections N    most simultaneous HTTP connections (10000) [DGW_MAX_CONNECTIONS]
  --clock-skew-margin D  not ready (/readyz 503) while this instance's clock is further than D
                         from a shared store's (1s; docs/counters.md "Clock offset") [DGW_CLOCK_SKEW_MARGIN]
  --memory-budget-mb N   MiB that request bodies in flight and write buffers may hold together;
                         over it, 429 + Retry-After (default: a quarter of the machine's or
                         cgroup's memory, at most half the V8 heap limit, split among
                         --workers; a given N is each worker's) [DGW_MEMORY_BUDGET_MB]
  --lifecycle-interval D  time between lifecycle passes: the counter sweeper, then slices
                         ahead, close, drop, index outbox repair (30s; docs/counters.md
                         "The sweeper") [DGW_LIFECYCLE_INTERVAL]
  --workers N            N server processes on the same ports (node:cluster), one per core
                         to use; needs shared stores (--postgres-url, --redis-url): refused
                         on embedded SQLite (1; docs/operations.md "Several workers") [DGW_WORKERS]
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (info) [DGW_LOG_LEVEL]
  --quiet                same as --log-level warn
  -h, --help             this help

limits and readiness (docs/operations.md "Limits of a running server"):
  Bodies in flight and write buffers reserve from the memory budget; over it, 429
  RESOURCE_EXHAUSTED with Retry-After. GET /readyz (and grpc.health.v1) answers 200
  while every store answers its probe and no durable write failed for want of a store
  since the last one that succeeded (forgotten after 30 s without another failure);
  GET /healthz only says the process is up.

environment only:
  DGW_V8_PRETENURING=on|off  V8's allocation-site pretenuring (default: off with shared
                         stores, on for embedded SQLite; docs/operations.md)`;

function port(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: "${value}" is not a port number`);
  return n;
}

/** The flags' Cassandra cluster (name "cassandra"), or undefined without --cassandra-contact-points. */
export function cassandraFromFlags(values: {
  'cassandra-contact-points'?: string | undefined;
  'cassandra-local-dc'?: string | undefined;
  'cassandra-keyspace'?: string | undefined;
  'cassandra-replication'?: string | undefined;
  'cassandra-consistency'?: string | undefined;
}): ClusterConfig | undefined {
  const points = values['cassandra-contact-points'];
  if (points === undefined || points.trim() === '') {
    for (const flag of ['cassandra-local-dc', 'cassandra-keyspace', 'cassandra-replication', 'cassandra-consistency'] as const) {
      if (values[flag] !== undefined) throw new Error(`--${flag} needs --cassandra-contact-points`);
    }
    return undefined;
  }
  const entry: Record<string, unknown> = {
    name: 'cassandra',
    type: 'CASSANDRA',
    contactPoints: points.split(',').map((p) => p.trim()).filter((p) => p !== ''),
  };
  if (values['cassandra-local-dc'] !== undefined) entry.localDataCenter = values['cassandra-local-dc'];
  if (values['cassandra-keyspace'] !== undefined) entry.keyspace = values['cassandra-keyspace'];
  if (values['cassandra-consistency'] !== undefined) entry.consistency = values['cassandra-consistency'];
  const r = values['cassandra-replication'];
  if (r !== undefined) {
    if (/^\d+$/.test(r)) entry.replication = { class: 'SimpleStrategy', replication_factor: Number(r) };
    else {
      const replication: Record<string, unknown> = { class: 'NetworkTopologyStrategy' };
      for (const part of r.split(',')) {
        const m = /^\s*([A-Za-z0-9_.-]+):(\d+)\s*$/.exec(part);
        if (!m) throw new Error(`--cassandra-replication: "${r}" is neither a factor (3) nor dc:factor pairs (dc1:3,dc2:3)`);
        replication[m[1]!] = Number(m[2]);
      }
      entry.replication = replication;
    }
  }
  try {
    return parseCluster(entry);
  } catch (err) {
    // Name the flag rather than the config file's field.
    const text = (err as Error).message
      .replace(/^contactPoints(\[\d+\])?/, '--cassandra-contact-points')
      .replace(/^localDataCenter/, '--cassandra-local-dc')
      .replace(/^keyspace/, '--cassandra-keyspace')
      .replace(/^replication[^:]*/, '--cassandra-replication')
      .replace(/^consistency/, '--cassandra-consistency');
    throw new Error(text, { cause: err });
  }
}

/** Runs `dgw serve` with its arguments. */
export async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: process.env.DGW_PORT ?? '8080' },
      host: { type: 'string', default: process.env.DGW_HOST ?? DEFAULT_HOST },
      'data-dir': { type: 'string', default: process.env.DGW_DATA_DIR ?? './data' },
      'sqlite-writer-thread': { type: 'boolean', default: process.env.DGW_SQLITE_WRITER_THREAD === '1' },
      'sqlite-reader-threads': { type: 'string', default: process.env.DGW_SQLITE_READER_THREADS ?? 'auto' },
      quiet: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: process.env.DGW_LOG_LEVEL },
      'postgres-url': { type: 'string', default: process.env.DGW_POSTGRES_URL },
      'redis-url': { type: 'string', default: process.env.DGW_REDIS_URL },
      'near-cache-ms': { type: 'string', default: process.env.DGW_NEAR_CACHE_MS },
      'rollup-timeout-ms': { type: 'string', default: process.env.DGW_ROLLUP_TIMEOUT_MS },
      'cassandra-contact-points': { type: 'string', default: process.env.DGW_CASSANDRA_CONTACT_POINTS },
      'cassandra-local-dc': { type: 'string', default: process.env.DGW_CASSANDRA_LOCAL_DC },
      'cassandra-keyspace': { type: 'string', default: process.env.DGW_CASSANDRA_KEYSPACE },
      'cassandra-replication': { type: 'string', default: process.env.DGW_CASSANDRA_REPLICATION },
      'cassandra-consistency': { type: 'string', default: process.env.DGW_CASSANDRA_CONSISTENCY },
      'nats-url': { type: 'string', default: process.env.DGW_NATS_URL },
      config: { type: 'string', default: process.env.DGW_CONFIG },
      'grpc-port': { type: 'string', default: process.env.DGW_GRPC_PORT },
      'tls-cert': { type: 'string', default: process.env.DGW_TLS_CERT },
      'tls-key': { type: 'string', default: process.env.DGW_TLS_KEY },
      'allow-unauthenticated': { type: 'boolean', default: false },
      'headers-timeout-ms': { type: 'string', default: process.env.DGW_HEADERS_TIMEOUT_MS },
      'receive-timeout-ms': { type: 'string', default: process.env.DGW_RECEIVE_TIMEOUT_MS },
      'keep-alive-timeout-ms': { type: 'string', default: process.env.DGW_KEEP_ALIVE_TIMEOUT_MS },
      'idle-timeout-ms': { type: 'string', default: process.env.DGW_IDLE_TIMEOUT_MS },
      'max-connections': { type: 'string', default: process.env.DGW_MAX_CONNECTIONS },
      'clock-skew-margin': { type: 'string', default: process.env.DGW_CLOCK_SKEW_MARGIN },
      'memory-budget-mb': { type: 'string', default: process.env.DGW_MEMORY_BUDGET_MB },
      'lifecycle-interval': { type: 'string', default: process.env.DGW_LIFECYCLE_INTERVAL },
      workers: { type: 'string', default: process.env.DGW_WORKERS ?? '1' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return;
  }
  const httpPort = port('--port', values.port);
  const grpcPort = values['grpc-port'] === undefined ? undefined : port('--grpc-port', values['grpc-port']);
  const level = parseLogLevel(values['log-level'] ?? (values.quiet ? 'warn' : 'info'));
  const connectionLimits: Partial<HttpConnectionLimits> = {};
  for (const [flag, key] of [
    ['headers-timeout-ms', 'headersTimeoutMs'],
    ['receive-timeout-ms', 'receiveTimeoutMs'],
    ['keep-alive-timeout-ms', 'keepAliveTimeoutMs'],
    ['idle-timeout-ms', 'idleTimeoutMs'],
    ['max-connections', 'maxConnections'],
  ] as const) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: "${text}" is not a positive integer`);
    connectionLimits[key] = n;
  }
  const skewText = values['clock-skew-margin'];
  const skewMargin = skewText === undefined ? undefined : parseDurationMicros(skewText);
  if (skewText !== undefined && (skewMargin === undefined || skewMargin <= 0)) {
    throw new Error(`--clock-skew-margin: "${skewText}" is not a positive duration (e.g. 1s, 500ms)`);
  }
  const lifecycleText = values['lifecycle-interval'];
  const lifecycleMicros = lifecycleText === undefined ? undefined : parseDurationMicros(lifecycleText);
  // setInterval takes at most 2^31 - 1 ms (24.8 days); a longer one would fire at once.
  if (lifecycleText !== undefined && (lifecycleMicros === undefined || lifecycleMicros < 1000 || lifecycleMicros / 1000 > 2 ** 31 - 1)) {
    throw new Error(`--lifecycle-interval: "${lifecycleText}" is not a duration from 1ms to 24d (e.g. 30s, 10m, 1h)`);
  }
  let memoryBudgetBytes: number | undefined;
  if (values['memory-budget-mb'] !== undefined) {
    memoryBudgetBytes = parseWhole('--memory-budget-mb', values['memory-budget-mb'], 1, 1024 * 1024, 'MiB') * 1024 * 1024;
  }
  const workers = parseWhole('--workers', values.workers, 1, 1024, 'processes');
  const readerThreads = parseReaderThreads(values['sqlite-reader-threads'], workers, availableParallelism());
  const nearCacheMs = values['near-cache-ms'] === undefined ? undefined : parseNearCacheMs(values['near-cache-ms']);
  const pretenuringForced = pretenuringOverride();
  const rollupTimeoutMs = values['rollup-timeout-ms'] === undefined ? undefined : parseRollupTimeoutMs(values['rollup-timeout-ms']);
  const dataDir = resolve(values['data-dir']);
  const deployment = values.config ? readDeployment(values.config) : { clusters: [] as ClusterConfig[] };
  const clusters: ClusterConfig[] = deployment.clusters;
  // --nats-url over the config file's url (its other nats settings kept).
  let nats: NatsConfig | undefined = deployment.nats;
  if (values['nats-url']) nats = { ...nats, url: checkUrlScheme('--nats-url', values['nats-url'], 'NATS') };
  else if (nats) checkUrlScheme('nats.url', nats.url, 'NATS');
  if (values['postgres-url']) clusters.push({ name: 'postgres', type: 'POSTGRES', url: checkUrlScheme('--postgres-url', values['postgres-url'], 'POSTGRES') });
  if (values['redis-url']) clusters.push({ name: 'redis', type: 'REDIS', url: checkUrlScheme('--redis-url', values['redis-url'], 'REDIS') });
  const cassandra = cassandraFromFlags(values);
  if (cassandra) clusters.push(cassandra);
  for (const c of clusters) if (c.type !== 'CASSANDRA') checkUrlScheme(`cluster "${c.name}" url`, c.url, c.type);

  if (workers > 1 && clusters.length === 0) {
    throw new Error(
      `--workers ${workers}: embedded SQLite serves from one process only (its stores are not shared: write holds, ` +
        'live windows and best-effort counters live in that process); several workers need shared stores ' +
        '(--postgres-url with --redis-url, docs/operations.md "Several workers")',
    );
  }
  const worker = workers > 1 ? workerLink() : undefined;
  const log = worker ? createLogger(level).child({ worker: worker.id }) : createLogger(level);
  const clock = new SystemClock();
  const security = values.config ? readSecuritySections(values.config) : { allowedOrigins: [] };
  const tokens = security.auth !== undefined ? new TokenStore(clock, security.auth) : undefined;
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const tls = values['tls-cert'] && values['tls-key'] ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } : undefined;
  if (workers > 1 && cluster.isPrimary) {
    // The primary serves no call: no V8 choice to make there.
    runPrimary({ workers, log, scheme: tls ? 'https' : 'http', host: values.host });
    return;
  }
  // Before the stores open and the first call is served (v8-flags.ts). With clusters the
  // default store is the first PostgreSQL one, which is shared.
  const pretenuring = choosePretenuring(clusters.length > 0, pretenuringForced);
  const v8Flags = applyPretenuring(pretenuring);
  const pageTokenSecret = process.env['DGW_PAGE_TOKEN_SECRET'];
  const server = await startServer({
    port: httpPort,
    host: values.host,
    dataDir,
    sqliteWriterThread: values['sqlite-writer-thread'],
    sqliteReaderThreads: readerThreads,
    ...(nearCacheMs !== undefined ? { nearCacheMs } : {}),
    ...(rollupTimeoutMs !== undefined ? { rollupTimeoutMs } : {}),
    clock,
    log,
    clusters,
    ...(nats ? { nats } : {}),
    ...(pageTokenSecret ? { pageTokenSecret } : {}),
    ...(grpcPort !== undefined ? { grpcPort } : {}),
    ...(tokens ? { tokens } : {}),
    ...(tls ? { tls } : {}),
    allowedOrigins: security.allowedOrigins,
    allowUnauthenticated: values['allow-unauthenticated'],
    connectionLimits,
    // The system clock: measured against the shared stores' clocks (issue 15).
    clockOffsets: skewMargin === undefined ? {} : { marginMicros: skewMargin },
    // The default budget is the machine's share for the whole server: N workers split it.
    ...(memoryBudgetBytes !== undefined ? { memoryBudgetBytes } : worker ? { memoryBudgetBytes: Math.floor(defaultMemoryBudget().bytes / workers) } : {}),
    ...(lifecycleMicros !== undefined ? { lifecycleIntervalSeconds: lifecycleMicros / 1e6 } : {}),
    ...(security.shedding !== undefined ? { shedding: security.shedding } : {}),
    ...(worker ? { worker } : {}),
  });
  const defaultStore = server.catalog.defaultKey;
  if (worker && !server.catalog.capabilities(defaultStore, 'events').shared) {
    await server.close();
    throw new Error(`--workers ${workers}: store "${defaultStore}" is not shared by several processes`);
  }
  if (tokens && !tls && !isLoopbackHost(values.host)) {
    log.warn({ host: values.host }, `serving ${values.host} with bearer tokens but without TLS: tokens cross the network in clear (--tls-cert/--tls-key)`);
  }
  // Revocation without restart: SIGHUP or an edit of the config file re-reads the tokens.
  const watcher = tokens && values.config ? new TokenFileWatcher(values.config, tokens, (m) => log.warn(m)) : undefined;
  process.on('SIGHUP', () => {
    if (watcher?.reload()) log.info({ tokens: tokens?.size ?? 0 }, `SIGHUP: ${tokens?.size ?? 0} tokens loaded`);
  });

  const info = buildInfo();
  log.info({ version: info.version, node: info.node, pid: process.pid }, `dgw ${info.version} starting`);
  log.info({ v8Pretenuring: pretenuring.pretenuring, v8Flags }, `V8 allocation-site pretenuring ${pretenuring.pretenuring}: ${pretenuring.reason}`);
  log.info(
    {
      stores: server.catalog.keys(),
      defaultStore: server.catalog.defaultKey,
      clusters: clusters.map((c) => ({ name: c.name, type: c.type, at: c.type === 'CASSANDRA' ? clusterAddress(c) : redactUrl(c.url) })),
      dataDir: clusters.length > 0 ? undefined : dataDir,
    },
    clusters.length > 0 ? `stores: ${server.catalog.keys().join(', ')}` : `stores: embedded SQLite in ${dataDir}`,
  );
  if (nats) log.info({ nats: redactUrl(nats.url), stream: nats.stream ?? 'DGW_ROLLUP' }, `rollup queue: NATS JetStream at ${redactUrl(nats.url)}`);
  log.info(
    { memoryBudgetBytes: server.memoryBudget.limitBytes },
    `memory budget for bodies and write buffers: ${Math.round(server.memoryBudget.limitBytes / 2 ** 20)} MiB${memoryBudgetBytes === undefined ? ' (default, sized to the machine)' : ''}`,
  );
  if (server.grpcPort !== undefined) log.info({ grpcPort: server.grpcPort }, `dgw serving gRPC on ${values.host}:${server.grpcPort}`);
  const scheme = tls ? 'https' : 'http';
  // A worker's own line does not say "serving on": the primary says it once every worker serves.
  log.info(
    { httpPort: server.port, host: values.host, tls: tls !== undefined, tokens: tokens !== undefined },
    `${worker ? `worker ${worker.id} (pid ${process.pid}) listening` : 'dgw serving'} on ${scheme}://${values.host}:${server.port}${tokens ? ' (bearer tokens required)' : ''}`,
  );
  worker?.ready(server.port, server.grpcPort);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    watcher?.close();
    log.info({ signal }, `${signal} received, draining and shutting down`);
    server.close().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.fatal({ err }, 'shutdown failed');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `--near-cache-ms`: a whole number of milliseconds from 0 (off) to 60,000. */
export function parseNearCacheMs(value: string): number {
  return parseWhole('--near-cache-ms', value, 0, 60_000, 'milliseconds');
}

/** `--rollup-timeout-ms`: a whole number of milliseconds from 1 to 3,600,000 (an hour). */
export function parseRollupTimeoutMs(value: string): number {
  return parseWhole('--rollup-timeout-ms', value, 1, 3_600_000, 'milliseconds');
}

/** A flag's whole number of `unit` in `[min, max]`; an error naming the flag otherwise. */
function parseWhole(flag: string, value: string, min: number, max: number, unit: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${flag}: "${value}" is not a whole number of ${unit} from ${min} to ${max}`);
  }
  return n;
}

/**
 * `--sqlite-reader-threads`: a whole number from 0 to 64, or `auto`: one thread when each
 * worker process has more than two cores to itself, else none. Measured on 2 cores
 * (BENCHMARKS.md, issue 9 sixth pass): the hand-off to a thread costs a read more CPU than
 * the thread saves when it competes with the main thread and the clients for the cores.
 */
export function parseReaderThreads(value: string, workers: number, cores: number): number {
  if (value.trim() === 'auto') return cores > 2 * workers ? 1 : 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 64) {
    throw new Error(`--sqlite-reader-threads: "${value}" is not auto or a whole number of threads from 0 to 64`);
  }
  return n;
}
