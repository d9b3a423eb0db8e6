/**
 * Redis error translation for dgw, in one place. Connection failures (refused, closed,
 * not yet reconnected, offline queue disabled, retries exhausted) become UNAVAILABLE with
 * the server address; a command timeout becomes DEADLINE_EXCEEDED; integer range errors
 * OUT_OF_RANGE; anything else by its socket code, or INTERNAL ({@link redisErrorTranslator},
 * handed to the store wrapper, is the adapter's one translator).
 */
import { DgwError } from '../../kernel/errors.js';
import { errorTranslator, socketErrors, type ErrorTranslator } from '../native-errors.js';

const LOST_CONNECTION =
  /Stream isn't writeable|Connection is closed|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|connect ETIMEDOUT|LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN/i;

/** Short words for a lost Redis connection: the client never reads the driver's message. */
export function lostReason(message: string): string {
  const token = LOST_CONNECTION.exec(message)?.[0]?.toUpperCase();
  switch (token) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ETIMEDOUT':
    case 'CONNECT ETIMEDOUT':
      return 'connection timed out';
    case 'LOADING':
      return 'loading its data set';
    case 'MASTERDOWN':
    case 'CLUSTERDOWN':
    case 'TRYAGAIN':
      return 'cluster not ready';
    case 'READONLY':
      return 'read-only replica';
    default:
      return 'connection lost';
  }
}

/** Builds the UNAVAILABLE error of a Redis that cannot serve now. */
export function redisUnavailable(address: string, reason: string, cause?: unknown): DgwError {
  return new DgwError(
    'UNAVAILABLE',
    `Redis at ${address} is unavailable (${reason}); best-effort counters and the rollup cache cannot be used until it is back`,
    { cause },
  );
}

/** Translates an ioredis error; returns it unchanged when it is not a Redis-specific case. */
export function translateRedisError(err: unknown, address: string): unknown {
  if (err instanceof DgwError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/Command timed out/i.test(message)) {
    return new DgwError('DEADLINE_EXCEEDED', `Redis at ${address} did not answer in time`, { cause: err });
  }
  if (/not an integer or out of range|would overflow/i.test(message)) {
    return new DgwError('OUT_OF_RANGE', `Redis at ${address}: counter value out of the int64 range`, { cause: err });
  }
  if (/^OOM/.test(message)) {
    return new DgwError('RESOURCE_EXHAUSTED', `Redis at ${address} is out of memory`, { cause: err });
  }
  if (LOST_CONNECTION.test(message) || (err instanceof Error && err.name === 'MaxRetriesPerRequestError')) {
    return redisUnavailable(address, lostReason(message), err);
  }
  return err;
}

/** The Redis adapter's translator, for the server at `address` ("host:port"). */
export function redisErrorTranslator(address: string): ErrorTranslator {
  const bySocketCode = errorTranslator(socketErrors);
  return (err, where) => {
    const translated = translateRedisError(err, address);
    return translated instanceof DgwError ? translated : bySocketCode(translated, where);
  };
}
