/**
 * The one error type of dgw. Every failure that reaches a client is a DgwError with a
 * stable `code` (the gRPC status names), a message that says what was wrong and where,
 * optional structured `details`, and the underlying `cause` when there is one.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'OUT_OF_RANGE',
  'FAILED_PRECONDITION',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'RESOURCE_EXHAUSTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
] as const;

/** A gRPC status name used as dgw's error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One structured detail of an error, e.g. the field that was wrong. */
export interface ErrorDetail {
  field?: string;
  reason?: string;
  [key: string]: unknown;
}

/** The error every layer of dgw throws at its boundary. */
export class DgwError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetail[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DgwError';
    this.code = code;
    this.details = options.details ?? [];
  }
}

/** HTTP status and gRPC status number for each code: the one mapping table (DESIGN 2). */
export const STATUS_FOR_CODE: Readonly<Record<ErrorCode, { http: number; grpc: number }>> = {
  INVALID_ARGUMENT: { http: 400, grpc: 3 },
  OUT_OF_RANGE: { http: 400, grpc: 11 },
  FAILED_PRECONDITION: { http: 400, grpc: 9 },
  UNAUTHENTICATED: { http: 401, grpc: 16 },
  PERMISSION_DENIED: { http: 403, grpc: 7 },
  NOT_FOUND: { http: 404, grpc: 5 },
  ALREADY_EXISTS: { http: 409, grpc: 6 },
  RESOURCE_EXHAUSTED: { http: 429, grpc: 8 },
  INTERNAL: { http: 500, grpc: 13 },
  UNAVAILABLE: { http: 503, grpc: 14 },
  DEADLINE_EXCEEDED: { http: 504, grpc: 4 },
};

/** Shorthand for an INVALID_ARGUMENT naming the offending field. */
export function invalidArgument(field: string, problem: string): DgwError {
  return new DgwError('INVALID_ARGUMENT', `${field}: ${problem}`, { details: [{ field, reason: problem }] });
}

/** Shorthand for a NOT_FOUND of a namespace or other named thing. */
export function notFound(what: string): DgwError {
  return new DgwError('NOT_FOUND', what);
}

/** True when `err` is a DgwError (also across module copies). */
export function isDgwError(err: unknown): err is DgwError {
  return err instanceof DgwError;
}
