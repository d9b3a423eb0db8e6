/**
 * Request ids (issue 11): a caller's `x-request-id` is kept when it is a short printable
 * token (it ends up in log lines, so nothing that could forge or split one), otherwise a
 * fresh UUID is made. The same rule serves HTTP and gRPC.
 */
import { randomUUID } from 'node:crypto';

/** The header (and gRPC metadata key) carrying the request id both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTABLE = /^[A-Za-z0-9._:\-/+=]{1,128}$/;

/** The caller's id when acceptable, else a new one. */
export function requestIdFrom(offered: unknown): string {
  const value = Array.isArray(offered) ? offered[0] : offered;
  return typeof value === 'string' && ACCEPTABLE.test(value) ? value : randomUUID();
}
