/**
 * Cross-site request refusal (DESIGN 7). A web page can make a browser send a "simple"
 * request to any address (form posts, `text/plain`, or no content type at all) without
 * asking the server first, and a data-gateway POST changes state. So:
 * - a POST must declare `application/json` (a type a page cannot send cross-site without
 *   a CORS preflight, which dgw never approves); a missing content type is refused too,
 *   since `fetch` with a Blob body sends none. PUT and DELETE are never "simple" requests
 *   (a browser always asks first, and dgw never approves), so they keep reading any body
 *   as JSON and `curl -X PUT -d '{}'` works as before;
 * - a request carrying an `Origin` not in the allowed list is refused (403), whatever its
 *   method; non-browser clients (curl, SDKs) send no Origin and are unaffected.
 */
import { DgwError } from '../../kernel/errors.js';

/** A refusal: HTTP status and the error to send. */
export interface CrossSiteRefusal {
  status: 403 | 415;
  error: DgwError;
}

/** True when a Content-Type header value names JSON (`application/json`, parameters allowed). */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

/** Checks one HTTP request; undefined when it may proceed. */
export function checkCrossSite(
  method: string,
  headers: { origin?: string | undefined; contentType?: string | undefined },
  allowedOrigins: ReadonlySet<string>,
): CrossSiteRefusal | undefined {
  const origin = headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin) && !allowedOrigins.has('*')) {
    return {
      status: 403,
      error: new DgwError('PERMISSION_DENIED', `origin: requests from ${JSON.stringify(origin)} are not allowed (server config allowedOrigins)`, {
        details: [{ field: 'origin', reason: 'origin not allowed' }],
      }),
    };
  }
  if (method === 'POST' && !isJsonContentType(headers.contentType)) {
    const got = headers.contentType === undefined ? 'none' : JSON.stringify(headers.contentType);
    return {
      status: 415,
      error: new DgwError('INVALID_ARGUMENT', `content-type: ${got}; send "content-type: application/json"`, {
        details: [{ field: 'content-type', reason: 'must be application/json' }],
      }),
    };
  }
  return undefined;
}
