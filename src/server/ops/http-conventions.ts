/**
 * HTTP conventions (issue 11): a known path asked with the wrong verb answers 405 with
 * an `Allow` header instead of 404; every 429 and 503 says when to retry (`Retry-After`,
 * seconds), keeping a more precise value a route or the load shedder already set.
 */
import type { FastifyInstance } from 'fastify';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/** Default `Retry-After` of a 429 or 503 that did not set one, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** The methods that have a route for `path` (empty when none does). */
export function allowedMethods(app: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

/** Adds the Retry-After default to 429 and 503 answers. */
export function registerRetryAfter(app: FastifyInstance): void {
  app.addHook('onSend', (_req, reply, payload, done) => {
    const code = reply.statusCode;
    if ((code === 429 || code === 503) && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(DEFAULT_RETRY_AFTER_SECONDS));
    done(null, payload);
  });
}
