/**
 * Request bodies reserve from the server memory budget (core/memory-budget.ts) before a
 * byte of them is read: an HTTP `onRequest` hook reserves `BODY_MEMORY_FACTOR` times the
 * declared length (a body without a length: times the body limit) and releases it when
 * the response is closed; gRPC reserves the same for the received message while the call
 * runs. A body that does not fit is refused with RESOURCE_EXHAUSTED (429 + Retry-After).
 */
import type { FastifyInstance } from 'fastify';
import type { MemoryBudget } from '../../core/memory-budget.js';

/**
 * Peak bytes held per body byte while a request is served: the received chunks, the body
 * text, the parsed JSON (base64 strings, objects) and the decoded events coexist for a
 * while. Measured on an 8 MiB WriteEventRecords body (docs/operations.md "Memory budget").
 */
export const BODY_MEMORY_FACTOR = 4;

/** Bytes a body of `length` bytes (undefined: unknown, up to `limit`) reserves. */
export function bodyReservationBytes(length: number | undefined, limit: number): number {
  const n = length === undefined || !Number.isFinite(length) || length < 0 ? limit : Math.min(length, limit);
  return n * BODY_MEMORY_FACTOR;
}

/** Adds the hook reserving each request body's memory (requests with no body reserve nothing). */
export function installBodyReservations(app: FastifyInstance, budget: MemoryBudget, bodyLimit: number): void {
  app.addHook('onRequest', (req, reply, done) => {
    const declared = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (declared === undefined || declared === '0')) {
      done();
      return;
    }
    const length = chunked ? undefined : Number(declared);
    let release: () => void;
    try {
      release = budget.reserve(bodyReservationBytes(length, bodyLimit), `a request body of ${length ?? 'unknown'} bytes`).release;
    } catch (err) {
      done(err as Error);
      return;
    }
    // 'close' fires once the response is done or the connection dropped, whichever first.
    if (reply.raw.writableFinished || reply.raw.destroyed) release();
    else reply.raw.once('close', release);
    done();
  });
}
