/**
 * The one place where anything thrown inside a request becomes the wire error
 * `{ error: { code, message, details } }` with its HTTP status (DESIGN 2): dgw's own
 * errors, Fastify's (body too large, bad URL, parameter too long, ...) and the Node HTTP
 * parser's (malformed request, header overflow, timeouts). Nothing of a driver message,
 * SQL text or stack reaches the client: an unexpected error is a bare INTERNAL, logged
 * with its cause on the server.
 */
import { DgwError, STATUS_FOR_CODE, type ErrorCode } from '../../kernel/errors.js';
import type { Socket } from 'node:net';

/** An error body and status ready to send. */
export interface HttpError {
  status: number;
  body: { error: { code: ErrorCode; message: string; details: unknown[] } };
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** The gRPC-style code of a 4xx status Fastify (or Node) chose. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 408:
      return 'DEADLINE_EXCEEDED';
    case 409:
      return 'ALREADY_EXISTS';
    case 413:
    case 429:
    case 431:
      return 'RESOURCE_EXHAUSTED';
    default:
      return 'INVALID_ARGUMENT';
  }
}

/** Maps any thrown value to an HTTP error; `internal` is true when it should be logged as a bug. */
export function toHttpError(err: unknown, bodyLimit: number): HttpError & { internal: boolean } {
  if (err instanceof DgwError) {
    // An INTERNAL DgwError may carry a store's text in its message: never sent.
    const message = err.code === 'INTERNAL' ? 'internal error; see the server log' : err.message;
    return { status: STATUS_FOR_CODE[err.code].http, body: wire(err.code, message, err.code === 'INTERNAL' ? [] : err.details), internal: err.code === 'INTERNAL' };
  }
  const e = (err ?? {}) as FastifyLikeError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: wire('RESOURCE_EXHAUSTED', `body: larger than the limit of ${bodyLimit} bytes`), internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: wire('INVALID_ARGUMENT', 'body: empty; a JSON document is required'), internal: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: wire('INVALID_ARGUMENT', 'content-type: unsupported; send application/json'), internal: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: wire('INVALID_ARGUMENT', 'content-length: does not match the body received'), internal: false };
    case 'FST_ERR_NOT_FOUND':
      return { status: 404, body: wire('NOT_FOUND', e.message ?? 'route not found'), internal: false };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: wire('INVALID_ARGUMENT', 'url: not a valid URL (bad percent-encoding)'), internal: false };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, body: wire('INVALID_ARGUMENT', 'url: a path parameter is longer than the server accepts'), internal: false };
    default:
      break;
  }
  if (err instanceof SyntaxError) {
    return { status: 400, body: wire('INVALID_ARGUMENT', `body: malformed JSON (${err.message.slice(0, 200)})`), internal: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors (a fixed message of the framework, never a driver's).
    return { status: e.statusCode, body: wire(codeForStatus(e.statusCode), e.message ?? 'bad request'), internal: false };
  }
  return { status: 500, body: wire('INTERNAL', 'internal error; see the server log'), internal: true };
}

/** The answer to a failed request: status, the headers it adds, the envelope. */
export interface ErrorAnswer extends HttpError {
  /** `retry-after` (a shed call's advice) and `www-authenticate` (a 401), when they apply. */
  headers: Record<string, string>;
  internal: boolean;
}

/**
 * {@link toHttpError} plus the headers the error calls for: `Retry-After` from a shed
 * call's details, `WWW-Authenticate` on a 401 (RFC 6750: it names the scheme to use).
 * Used by the Fastify error handler (app.ts) and the counter fast path (fast-routes.ts).
 */
export function errorAnswer(err: unknown, bodyLimit: number): ErrorAnswer {
  const mapped = toHttpError(err, bodyLimit);
  const headers: Record<string, string> = {};
  const retryAfter = retryAfterSeconds(err);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if (err instanceof DgwError && err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="dgw"';
  return { ...mapped, headers };
}

/** The `retryAfterSeconds` of a shed call's error details (sent as `Retry-After`). */
function retryAfterSeconds(err: unknown): number | undefined {
  if (!(err instanceof DgwError) || err.code !== 'RESOURCE_EXHAUSTED') return undefined;
  const s = err.details[0]?.retryAfterSeconds;
  return typeof s === 'number' ? s : undefined;
}

function wire(code: ErrorCode, message: string, details: unknown[] = []): HttpError['body'] {
  return { error: { code, message, details } };
}

/** What the Node HTTP parser reports before any route runs (Fastify's clientErrorHandler). */
function clientError(err: { code?: string }): HttpError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, body: wire('DEADLINE_EXCEEDED', 'request: not received in time (body or headers too slow)') };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, body: wire('RESOURCE_EXHAUSTED', 'headers: larger than the server accepts (URL included)') };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, body: wire('RESOURCE_EXHAUSTED', 'body: chunk extensions larger than the server accepts') };
    default:
      return { status: 400, body: wire('INVALID_ARGUMENT', 'request: malformed HTTP') };
  }
}

/**
 * Answers a request the HTTP parser refused (malformed, headers too large, too slow) in
 * the error envelope, then closes the connection (Node's own behaviour).
 */
export function answerClientError(err: { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { status, body } = clientError(err);
    const text = JSON.stringify(body);
    const reason = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : status === 413 ? 'Payload Too Large' : 'Bad Request';
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}
