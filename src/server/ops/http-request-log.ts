/**
 * One log line per HTTP request (issue 11), as Fastify hooks so it slots into the
 * server's hook chain next to metrics and deadlines: request id (the caller's
 * `x-request-id` or a new one, always returned in the response header), method, route
 * pattern, namespace, status and latency. A 5xx line carries the error with its stack
 * and causes; the client got only the error envelope.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';
import type { RequestRates } from './request-rates.js';
import { namespaceInBody } from '../http/guard-hooks.js';

/** Fastify's `genReqId`: the caller's acceptable `x-request-id`, else a UUID. */
export function genReqId(req: { headers: Record<string, string | string[] | undefined> }): string {
  return requestIdFrom(req.headers[REQUEST_ID_HEADER]);
}

/** The namespace a request is about: the `:ns` route parameter or the body's `namespace`. */
function namespaceOf(req: FastifyRequest): string | undefined {
  const params = req.params as { ns?: unknown } | undefined;
  if (typeof params?.ns === 'string') return params.ns;
  return namespaceOfBody(req.body);
}

/** The `namespace` of a parsed request body, as the log line shows it (at most 256 characters). */
export function namespaceOfBody(body: unknown): string | undefined {
  return namespaceInBody(body)?.slice(0, 256);
}

/** One finished HTTP request, as its log line and the request rates see it. */
export interface FinishedRequest {
  id: string;
  method: string;
  /** The route pattern, or `unmatched`. */
  route: string | undefined;
  status: number;
  elapsedMs: number;
  /** The namespace (asked only when a line is written). */
  namespace(): string | undefined;
  /** The failure of a 5xx, if one was remembered. */
  failure(): unknown;
  /** `${method} ${route}`, when the caller keeps it (the fast path, per route). */
  rateKey?: string;
}

/**
 * Counts a finished request in `rates` and writes its line to `log`: the one place both the
 * Fastify hook below and the counter fast path (http/fast-routes.ts) report a request.
 */
export function reportFinished(log: Logger | undefined, rates: RequestRates | undefined, r: FinishedRequest): void {
  const { status } = r;
  rates?.record(r.rateKey ?? `${r.method} ${r.route}`, r.elapsedMs, status >= 500);
  // The line is not built when its level is off (`--quiet`: warn): issue 9.
  if (!log || !log.isLevelEnabled(status >= 500 ? 'error' : 'info')) return;
  const line: Record<string, unknown> = {
    reqId: r.id,
    method: r.method,
    route: r.route,
    status,
    latencyMs: Math.round(r.elapsedMs * 1000) / 1000,
  };
  const ns = r.namespace();
  if (ns !== undefined) line.namespace = ns;
  if (status >= 500) {
    const err = r.failure();
    if (err !== undefined) line.err = err;
    log.error(line, 'request failed');
  } else log.info(line, 'request');
}

const failures = new WeakMap<FastifyRequest, unknown>();

/** Called by the error handler: the error goes into the request's log line. */
export function rememberFailure(req: FastifyRequest, err: unknown): void {
  failures.set(req, err);
}

/**
 * Adds the request-id header and the per-request log line to `app`; with `rates`, also
 * counts the request there (by "METHOD route") for GET /v1/status and the status page.
 */
export function registerRequestLog(app: FastifyInstance, log: Logger | undefined, rates?: RequestRates): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    reportFinished(log, rates, {
      id: req.id,
      method: req.method,
      route: req.is404 ? 'unmatched' : req.routeOptions.url,
      status: reply.statusCode,
      elapsedMs: reply.elapsedTime,
      namespace: () => namespaceOf(req),
      failure: () => failures.get(req),
    });
    done();
  });
}
