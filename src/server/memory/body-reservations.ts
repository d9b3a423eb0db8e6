/**
 * Request bodies reserve from the server memory budget (core/memory-budget.ts) as they
 * arrive: `BODY_MEMORY_FACTOR` times each received chunk, held until the response is
 * closed. A body whose declared length cannot fit now is refused in `onRequest`, before a
 * byte of it is read; one that runs out of room while arriving (a chunked body, or others
 * arrived first) is refused then. Either way: RESOURCE_EXHAUSTED (429 + Retry-After).
 * Reserving what arrived rather than what is declared keeps a client that declares 8 MiB
 * and stalls from holding budget it never uses. Small bodies (a declared length up to
 * {@link SMALL_BODY_BYTES}, most data calls) reserve their declared length at once in
 * `onRequest` instead, and skip the per-request counting stream: a stalled client can hold
 * at most that little, and the stream cost more than the body. gRPC reserves for the
 * received message while the call runs (grpc/server.ts).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { MemoryBudget, MemoryReservation } from '../../core/memory-budget.js';
import { releaseOnClose } from '../http/guard-hooks.js';

/**
 * Peak bytes held per body byte while a request is served: the received chunks, the body
 * text, the parsed JSON (base64 strings, objects) and the decoded events coexist for a
 * while (docs/operations.md "Memory budget").
 */
export const BODY_MEMORY_FACTOR = 4;

/** Bodies up to this declared length reserve it at once (see the module comment). */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Bytes a body of `length` bytes (undefined: unknown, up to `limit`) reserves. */
export function bodyReservationBytes(length: number | undefined, limit: number): number {
  const n = length === undefined || !Number.isFinite(length) || length < 0 ? limit : Math.min(length, limit);
  return n * BODY_MEMORY_FACTOR;
}

/** Adds the hooks reserving each request body's memory (requests with no body reserve nothing). */
export function installBodyReservations(app: FastifyInstance, budget: MemoryBudget, bodyLimit: number): void {
  const reservedUpFront = new WeakSet<object>();
  app.addHook('onRequest', (req, reply, done) => {
    const declared = req.headers['content-length'];
    if (declared === undefined || declared === '0' || req.headers['transfer-encoding'] !== undefined) {
      done();
      return;
    }
    const length = Number(declared);
    try {
      const reservation = budget.reserve(bodyReservationBytes(length, bodyLimit), `a request body of ${length} bytes`);
      if (length <= SMALL_BODY_BYTES) {
        // Held until the response is closed; the body is not counted again as it arrives.
        reservedUpFront.add(req);
        releaseOnClose(reply.raw, () => reservation.release());
      } else {
        // Refused now when the whole body could not fit; nothing is held yet.
        reservation.release();
      }
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });

  app.addHook('preParsing', (req, reply, payload, done) => {
    if (reservedUpFront.has(req)) {
      done(null, payload);
      return;
    }
    const held: MemoryReservation[] = [];
    const release = () => {
      for (const r of held.splice(0)) r.release();
    };
    releaseOnClose(reply.raw, release);
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        received += chunk.length;
        try {
          held.push(budget.reserve(chunk.length * BODY_MEMORY_FACTOR, `a request body (${received} bytes received so far)`));
        } catch (err) {
          callback(err as Error);
          return;
        }
        callback(null, chunk);
      },
    });
    payload.on('error', (err) => counted.destroy(err));
    done(null, payload.pipe(counted));
  });
}
