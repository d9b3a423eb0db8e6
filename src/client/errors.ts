/**
 * The SDK's one error type. Every failed call rejects with a {@link DgwClientError}
 * carrying the server's stable code (gRPC status names, as in the server's
 * `{ error: { code, message, details } }` body), or a code the client derived itself:
 * UNAVAILABLE for a network failure, DEADLINE_EXCEEDED when the call's deadline passed,
 * CANCELLED when the caller aborted it.
 */

/** The status codes dgw answers (gRPC status names). */
export const CLIENT_ERROR_CODES = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** One of {@link CLIENT_ERROR_CODES}. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** One entry of an error's `details` (the server sends `{ field, reason }` for bad input). */
export type ClientErrorDetail = Readonly<Record<string, unknown>>;

/** Codes a call may be retried on (when the operation is idempotent, see docs/client.md). */
export const RETRYABLE_CODES: ReadonlySet<ClientErrorCode> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);

/** HTTP status to code, for answers without a dgw error body (a proxy's 502, ...). */
const CODE_FOR_STATUS: Readonly<Record<number, ClientErrorCode>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** A failed dgw call. */
export class DgwClientError extends Error {
  override readonly name = 'DgwClientError';

  constructor(
    /** Stable code (gRPC status name). */
    readonly code: ClientErrorCode,
    message: string,
    /** The server's details (field and reason for INVALID_ARGUMENT), else empty. */
    readonly details: readonly ClientErrorDetail[] = [],
    extra: {
      /** HTTP status of the answer, when there was one. */
      httpStatus?: number;
      /** The server's `Retry-After` (or details' `retryAfterSeconds`), in milliseconds. */
      retryAfterMs?: number;
      /** The server's bound on retries of this refusal (details' `maxRetries`, load shedding). */
      maxRetries?: number;
      /** The base URL that answered (or failed). */
      baseUrl?: string;
      /** How many attempts the call made in all (retries and hedges included). */
      attempts?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.httpStatus = extra.httpStatus;
    this.retryAfterMs = extra.retryAfterMs;
    this.maxRetries = extra.maxRetries;
    this.baseUrl = extra.baseUrl;
    this.attempts = extra.attempts;
  }

  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly maxRetries: number | undefined;
  readonly baseUrl: string | undefined;
  attempts: number | undefined;

  /** True for the codes a retry may cure (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). */
  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }
}

/** True when `value` names a known code. */
export function isClientErrorCode(value: unknown): value is ClientErrorCode {
  return typeof value === 'string' && (CLIENT_ERROR_CODES as readonly string[]).includes(value);
}

/** The code for an HTTP status without a dgw error body. */
export function codeForStatus(status: number): ClientErrorCode {
  return CODE_FOR_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'UNKNOWN');
}
