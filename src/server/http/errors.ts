/**
 * The one place where anything thrown inside a request becomes the wire error
 * `{ error: { code, message, details } }` with its HTTP status (DESIGN 2).
 */
import { DgwError, STATUS_FOR_CODE, type ErrorCode } from '../../core/errors.js';

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

/** Maps any thrown value to an HTTP error; `internal` is true when it should be logged as a bug. */
export function toHttpError(err: unknown, bodyLimit: number): HttpError & { internal: boolean } {
  if (err instanceof DgwError) {
    return { status: STATUS_FOR_CODE[err.code].http, body: wire(err.code, err.message, err.details), internal: err.code === 'INTERNAL' };
  }
  const e = (err ?? {}) as FastifyLikeError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: wire('RESOURCE_EXHAUSTED', `body: larger than the limit of ${bodyLimit} bytes`), internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: wire('INVALID_ARGUMENT', 'body: empty; a JSON document is required'), internal: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: wire('INVALID_ARGUMENT', 'content-type: unsupported; send application/json'), internal: false };
    case 'FST_ERR_NOT_FOUND':
      return { status: 404, body: wire('NOT_FOUND', e.message ?? 'route not found'), internal: false };
    default:
      break;
  }
  if (err instanceof SyntaxError) {
    return { status: 400, body: wire('INVALID_ARGUMENT', `body: malformed JSON (${err.message})`), internal: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: wire('INVALID_ARGUMENT', e.message ?? 'bad request'), internal: false };
  }
  return { status: 500, body: wire('INTERNAL', 'internal error; see the server log'), internal: true };
}

function wire(code: ErrorCode, message: string, details: unknown[] = []): HttpError['body'] {
  return { error: { code, message, details } };
}
