/**
 * The one place where anything thrown inside a gRPC call becomes a gRPC status
 * (DESIGN 2): a DgwError keeps its code (mapped through STATUS_FOR_CODE) and message; the
 * stable code name and the structured details travel in trailing metadata
 * (`dgw-error-code`, `dgw-error-details-bin` holding JSON). Anything else is INTERNAL.
 */
import { Metadata, type StatusObject, type status } from '@grpc/grpc-js';
import { DgwError, STATUS_FOR_CODE, type ErrorCode } from '../../kernel/errors.js';

/** Metadata key of the dgw error code name (e.g. "INVALID_ARGUMENT"). */
export const ERROR_CODE_KEY = 'dgw-error-code';
/** Metadata key of the error details, UTF-8 JSON of the DgwError's `details` array. */
export const ERROR_DETAILS_KEY = 'dgw-error-details-bin';

/** A status ready for a grpc-js unary callback; `internal` is true when it should be logged as a bug. */
export interface GrpcError {
  status: Pick<StatusObject, 'code' | 'details' | 'metadata'>;
  code: ErrorCode;
  internal: boolean;
}

/** Maps any thrown value to a gRPC status. */
export function toGrpcError(err: unknown): GrpcError {
  // An INTERNAL DgwError may quote a store's words: logged, never sent.
  if (err instanceof DgwError && err.code !== 'INTERNAL') return build(err.code, err.message, err.details, false);
  return build('INTERNAL', 'internal error; see the server log', [], true);
}

function build(code: ErrorCode, message: string, details: unknown[], internal: boolean): GrpcError {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, code);
  if (details.length > 0) metadata.set(ERROR_DETAILS_KEY, Buffer.from(JSON.stringify(details), 'utf8'));
  // A shed call (docs/overload.md) also says when to retry, as HTTP's Retry-After does.
  const retryAfter = (details[0] as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (code === 'RESOURCE_EXHAUSTED' && typeof retryAfter === 'number') metadata.set('retry-after', String(retryAfter));
  return { status: { code: STATUS_FOR_CODE[code].grpc as status, details: message, metadata }, code, internal };
}
