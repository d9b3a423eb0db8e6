/**
 * Request deadlines: a call answers DEADLINE_EXCEEDED once its time is up, whatever the
 * stores are doing, so a stalled dependency never hangs a client (or a graceful shutdown).
 */
import { DgwError } from '../kernel/errors.js';

/** Resolves like `work`, or rejects with DEADLINE_EXCEEDED after `ms` milliseconds. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DgwError('DEADLINE_EXCEEDED', `${what}: no answer within ${ms} ms`)), ms);
  });
  // The late result of `work` is dropped; a late failure must not be an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
