/**
 * Operator routes on the HTTP server: GET /v1/status (the report `dgw status` and the
 * status page read; see status.ts) and the status page itself (/ui/).
 */
import type { FastifyInstance } from 'fastify';
import { collectStatus, type StatusSources } from './status.js';
import { registerStatusPage } from './status-page.js';

/** Registers the operator routes. */
export function registerOpsRoutes(app: FastifyInstance, sources: StatusSources): void {
  app.get('/v1/status', async () => collectStatus(sources));
  registerStatusPage(app);
}
