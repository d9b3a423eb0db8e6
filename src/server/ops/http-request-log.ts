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

/** Fastify's `genReqId`: the caller's acceptable `x-request-id`, else a UUID. */
export function genReqId(req: { headers: Record<string, string | string[] | undefined> }): string {
  return requestIdFrom(req.headers[REQUEST_ID_HEADER]);
}

/** The namespace a request is about: the `:ns` route parameter or the body's `namespace`. */
function namespaceOf(req: FastifyRequest): string | undefined {
  const params = req.params as { ns?: unknown } | undefined;
  if (typeof params?.ns === 'string') return params.ns;
  const body = req.body as { namespace?: unknown } | null | undefined;
  return body && typeof body === 'object' && typeof body.namespace === 'string' ? body.namespace.slice(0, 256) : undefined;
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
    const status = reply.statusCode;
    const route = req.is404 ? 'unmatched' : req.routeOptions.url;
    rates?.record(`${req.method} ${route}`, reply.elapsedTime, status >= 500);
    if (!log) return done();
    const line: Record<string, unknown> = {
      reqId: req.id,
      method: req.method,
      route,
      status,
      latencyMs: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    const ns = namespaceOf(req);
    if (ns !== undefined) line.namespace = ns;
    if (status >= 500) {
      const err = failures.get(req);
      if (err !== undefined) line.err = err;
      log.error(line, 'request failed');
    } else log.info(line, 'request');
    done();
  });
}
