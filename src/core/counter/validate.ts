/**
 * Validation of counter requests in core, so every front end (HTTP, gRPC, SDK tests)
 * refuses the same inputs with the same INVALID_ARGUMENT naming the wire field.
 */
import { invalidArgument } from '../../kernel/errors.js';
import { checkStorableText } from '../text.js';
import { isInt64 } from './int64.js';
import type { AddCountRequest, ClearCountRequest, IdempotencyToken } from './types.js';

/** Longest counter name and token (the TimeSeries id limit: they become timeSeriesId and eventId). */
export const MAX_COUNTER_NAME_LENGTH = 256;
export const MAX_TOKEN_LENGTH = 256;

/** Checks a counter name: a non-empty string of at most 256 characters. */
export function validateCounterName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument('counter_name', 'is required (a non-empty string)');
  if (name.length > MAX_COUNTER_NAME_LENGTH) {
    throw invalidArgument('counter_name', `longer than ${MAX_COUNTER_NAME_LENGTH} characters`);
  }
  // Two names differing only in lone surrogates would be stored as one counter.
  checkStorableText('counter_name', name);
  return name;
}

/** Checks an idempotency token: non-empty token, integral positive generation time. */
export function validateToken(token: IdempotencyToken | undefined): IdempotencyToken | undefined {
  if (token === undefined) return undefined;
  if (typeof token.token !== 'string' || token.token.length === 0) {
    throw invalidArgument('idempotency_token.token', 'is required (a non-empty string)');
  }
  if (token.token.length > MAX_TOKEN_LENGTH) {
    throw invalidArgument('idempotency_token.token', `longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  // Two tokens differing only in lone surrogates would collapse: the second add lost.
  checkStorableText('idempotency_token.token', token.token);
  const t = token.generationTimeMicros;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t <= 0) {
    throw invalidArgument('idempotency_token.generation_time', 'must be a timestamp after the Unix epoch');
  }
  return token;
}

/** Checks an add request; returns it unchanged. */
export function validateAdd(request: AddCountRequest): AddCountRequest {
  validateCounterName(request.counterName);
  if (typeof request.delta !== 'bigint') throw invalidArgument('delta', 'must be an integer');
  if (!isInt64(request.delta)) throw invalidArgument('delta', 'out of the int64 range');
  validateToken(request.token);
  return request;
}

/** Checks a clear request; returns it unchanged. */
export function validateClear(request: ClearCountRequest): ClearCountRequest {
  validateCounterName(request.counterName);
  validateToken(request.token);
  return request;
}
