/**
 * The HTTP server (Fastify): body parsing, the error mapping, request metrics, the guard
 * hooks, the probes, /openapi.json, and the routes of the operation table
 * (operation-routes.ts), each a thin handler over the shared operation chain.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type onResponseHookHandler } from 'fastify';
import type { Registry } from 'prom-client';
import cors from '@fastify/cors';
import type { Clock } from '../../kernel/clock.js';
import type { NamespaceManager } from '../../core/control/namespace-manager.js';
import type { TimeSeriesEngine } from '../../core/timeseries/service.js';
import type { CounterEngine } from '../../core/counter/service.js';
import type { NamespaceRegistry } from '../../storage/contracts.js';
import { answerClientError, errorAnswer, toHttpError } from './errors.js';
import { DgwError } from '../../kernel/errors.js';
import { connectionLimits, fastifyServerOptions, type HttpConnectionLimits } from './connection-limits.js';
import { parseBody } from './json-body.js';
import type { OperationChain } from '../operations/chain.js';
import { openApiDocument } from '../operations/openapi.js';
import { OPERATIONS } from '../operations/table.js';
import { registerOperationRoutes } from './operation-routes.js';
import { CallGuard } from '../call-guard.js';
import { installGuardHooks } from './guard-hooks.js';
import { PRIORITY_HEADER } from '../shedding/shedder.js';
import { REQUEST_ID_HEADER } from '../ops/request-id.js';
import { genReqId, registerRequestLog, rememberFailure } from '../ops/http-request-log.js';
import type { Logger } from '../ops/logger.js';
import type { RequestRates } from '../ops/request-rates.js';
import { allowedMethods, registerRetryAfter } from '../ops/http-conventions.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import { installBodyReservations } from '../memory/body-reservations.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FastRoutes, setFastRoutes } from './fast-routes.js';
import { HttpRouteMetrics, type RouteLabels } from './route-metrics.js';

/** What the HTTP app serves. */
export interface HttpAppDeps {
  clock: Clock;
  engine: TimeSeriesEngine;
  counters: CounterEngine;
  namespaces: NamespaceManager;
  registry: NamespaceRegistry;
  metrics: Registry;
  /** The text GET /metrics answers; default `metrics.metrics()` (a `--workers` worker: every worker's, server/workers.ts). */
  metricsText?: () => Promise<string>;
  /** Rejects when the server cannot serve (a store is down); used by /readyz. */
  ready(): Promise<void>;
  /** The operation chain every data and control call runs through (shared with gRPC). */
  chain: OperationChain;
  /** Header, body and idle timeouts and the connection cap (defaults: DEFAULT_CONNECTION_LIMITS). */
  connectionLimits?: Partial<HttpConnectionLimits>;
  /** Called with the cause of every 500 (server side only; the client sees a bare INTERNAL). */
  onInternalError?: (err: unknown, where: string) => void;
  /** Authentication, authorization and shedding (docs/security.md, docs/overload.md); default: none. */
  guard?: CallGuard;
  /** Browser origins allowed to call; any other `Origin` is refused (403). Default: none. */
  allowedOrigins?: readonly string[];
  /** TLS certificate and key (PEM); HTTPS instead of HTTP when set. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Gets one line per request (request id, method, route, namespace, status, latency). */
  log?: Logger;
  /** Gets every finished request (GET /v1/status, the status page). */
  rates?: RequestRates;
  /** Server memory budget request bodies reserve from before they are read; none: unbounded. */
  memoryBudget?: MemoryBudget;
  /**
   * Serve the hot counter calls through the node:http fast path (fast-routes.ts); default
   * true. Off with TLS or allowed origins (CORS headers are Fastify's), and in tests that
   * compare both paths.
   */
  fastPath?: boolean;
}

/** Longest path parameter the router accepts (namespace names: up to 128 characters). */
const MAX_PARAM_LENGTH = 1024;

/** Builds the Fastify app (not listening yet). */
export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const bodyLimit = deps.engine.limits.maxBodyBytes;
  const onInternalError = deps.onInternalError ?? (() => {});
  const connection = connectionLimits(deps.connectionLimits);
  const server = fastifyServerOptions(connection);
  // Set once the metrics exist (below); no request arrives before listen().
  let fast: FastRoutes | undefined;
  const allowedOrigins = deps.allowedOrigins ?? [];
  const useFastPath = deps.fastPath !== false && !deps.tls && allowedOrigins.length === 0;
  const app = Fastify({
    bodyLimit,
    genReqId,
    // Namespace names are up to 128 characters (namespace-name.ts); a longer one gets the
    // name validator's 400 naming the field, not the router's 414.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors Fastify raises before a route runs (bad URL, parameter too long) and those of
    // the HTTP parser use the one envelope too.
    frameworkErrors: (err, _req, reply) => {
      const mapped = toHttpError(err, bodyLimit);
      void (reply as FastifyReply).code(mapped.status).send(mapped.body);
    },
    clientErrorHandler: answerClientError,
    connectionTimeout: server.connectionTimeout,
    keepAliveTimeout: server.keepAliveTimeout,
    requestTimeout: server.requestTimeout,
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, ...server.serverOptions } } : useFastPath ? {} : { http: server.serverOptions }),
    // The fast path sees each request first; the server is set up as Fastify's own would be
    // (fastify/lib/server.js getServerInstance).
    ...(useFastPath
      ? {
          serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
            const s = createServer(server.serverOptions, (req, res) => {
              if (fast === undefined || !fast.take(req, res)) handler(req, res);
            });
            s.keepAliveTimeout = server.keepAliveTimeout;
            s.requestTimeout = server.requestTimeout;
            s.setTimeout(server.connectionTimeout);
            return s;
          },
        }
      : {}),
  }) as unknown as FastifyInstance;
  app.server.maxConnections = connection.maxConnections;
  registerRequestLog(app, deps.log, deps.rates);
  if (deps.memoryBudget) installBodyReservations(app, deps.memoryBudget, bodyLimit);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (req, text, done) => {
    try {
      done(null, parseBody(req.url, String(text)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Route patterns, not raw URLs, so label cardinality stays bounded. Each route records
  // its own requests with its labels built once (a route-level hook, registered below);
  // the global hook only records what no route matched.
  const routeMetrics = new HttpRouteMetrics(deps.metrics);
  const observe = (labels: RouteLabels, statusCode: number, elapsedMs: number) => routeMetrics.observe(labels, statusCode, elapsedMs);
  app.addHook('onResponse', (req, reply, done) => {
    if (req.is404) routeMetrics.observeOnce({ method: req.method.length <= 8 ? req.method : 'OTHER', route: 'unmatched' }, reply.statusCode, reply.elapsedTime);
    done();
  });

  app.addHook('onRoute', (route) => {
    const labels = new Map<string, RouteLabels>();
    const onResponse: onResponseHookHandler = (req, reply, done) => {
      let l = labels.get(req.method);
      if (l === undefined) labels.set(req.method, (l = { method: req.method, route: route.url }));
      observe(l, reply.statusCode, reply.elapsedTime);
      done();
    };
    const own = route.onResponse;
    route.onResponse = own === undefined ? [onResponse] : Array.isArray(own) ? [...own, onResponse] : [own, onResponse];
  });

  app.setErrorHandler((err, req, reply) => {
    rememberFailure(req, err); // logged with the request's line, causes and stack included
    const answer = errorAnswer(err, bodyLimit);
    if (answer.internal) onInternalError(err, `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`);
    for (const [name, value] of Object.entries(answer.headers)) void reply.header(name, value);
    void reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allow = allowedMethods(app, path);
    if (allow.length > 0) {
      const message = `${req.method} ${path}: method not allowed; use ${allow.join(', ')}`;
      void reply.code(405).header('allow', allow.join(', ')).send({ error: { code: 'INVALID_ARGUMENT', message, details: [] } });
      return;
    }
    void reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${path}`, details: [] } });
  });
  registerRetryAfter(app);

  const guard = deps.guard ?? new CallGuard({});
  installGuardHooks(app, { guard, allowedOrigins });
  if (allowedOrigins.length > 0) registerCors(app, allowedOrigins);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.ready();
      return { status: 'ready' };
    } catch (err) {
      // Not ready whatever the failure; the body is the usual envelope (no driver text).
      const { body } = toHttpError(err instanceof DgwError ? err : new DgwError('UNAVAILABLE', 'readiness probe failed', { cause: err }), bodyLimit);
      return reply.code(503).send({ status: 'unavailable', ...body });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await (deps.metricsText ? deps.metricsText() : deps.metrics.metrics());
    return reply.type(deps.metrics.contentType).send(text);
  });

  // The API description, built once from the operation table (checked in as openapi.json).
  const openapi = JSON.stringify(openApiDocument());
  app.get('/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));

  registerOperationRoutes(app, OPERATIONS, deps.chain);
  if (useFastPath) {
    fast = new FastRoutes({
      chain: deps.chain,
      guard,
      operations: OPERATIONS,
      bodyLimit,
      memoryBudget: deps.memoryBudget,
      log: deps.log,
      rates: deps.rates,
      observe,
      onInternalError,
    });
    setFastRoutes(app, fast);
    // Closing: Fastify answers new requests 503 (and drains); let it see them all.
    app.addHook('preClose', (done) => {
      fast?.close();
      done();
    });
  }
  return app;
}

/**
 * CORS for the allowed origins (docs/security.md): a browser page on an allowed origin may
 * call dgw directly (the SDK in a browser): preflights from it are approved for the
 * methods and headers dgw reads, and answers carry `Access-Control-Allow-Origin` with the
 * headers a client needs exposed. Other origins get no approval (and their requests a 403
 * from the cross-site check). No cookies are involved: tokens travel in `Authorization`.
 */
function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  const allowed = new Set(allowedOrigins);
  void app.register(cors, {
    origin: (origin, cb) => cb(null, origin !== undefined && (allowed.has('*') || allowed.has(origin))),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['content-type', 'authorization', PRIORITY_HEADER, REQUEST_ID_HEADER],
    exposedHeaders: ['retry-after', REQUEST_ID_HEADER, 'www-authenticate'],
    maxAge: 600,
    credentials: false,
    strictPreflight: true,
  });
}
