/**
 * One HTTP exchange with one dgw instance, on `fetch` (Node 20 and browsers alike):
 * JSON in, JSON out, dgw's error body and `Retry-After` turned into a
 * {@link DgwClientError}. Retries, hedges and deadlines are the caller's (call-runner.ts).
 */
import { codeForStatus, DgwClientError, isClientErrorCode, type ClientErrorDetail } from './errors.js';
import type { Json } from './codec.js';

/** HTTP methods dgw serves. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One request to one instance. */
export interface TransportRequest {
  baseUrl: string;
  method: HttpMethod;
  /** Path with a leading slash, e.g. `/v1/counter/AddCount`. */
  path: string;
  /** A JSON object: the proto3 JSON of the operation's request message (wire.gen.ts). */
  body?: object;
  /** Aborts the exchange; its `reason` (a DgwClientError) is what the exchange rejects with. */
  signal: AbortSignal;
}

/** Sends one request; resolves with the JSON answer, rejects with a DgwClientError. */
export type Transport = (request: TransportRequest) => Promise<Json>;

/** The `fetch` signature the transport needs (the global one, or e.g. undici's with a dispatcher). */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  /** Headers sent on every request (authorization, priority, ...). */
  headers?: Record<string, string>;
  /** Wall clock in ms for HTTP-date `Retry-After` values; defaults to Date.now. */
  now?: () => number;
}

/** A fetch-based {@link Transport}. */
export function createHttpTransport(options: HttpTransportOptions = {}): Transport {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const baseHeaders = options.headers ?? {};
  const now = options.now ?? Date.now;
  return async (req) => {
    const headers: Record<string, string> = { accept: 'application/json', ...baseHeaders };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    let status = 0;
    let text: string;
    let retryAfter: string | null = null;
    try {
      const res = await doFetch(req.baseUrl.replace(/\/+$/, '') + req.path, {
        method: req.method,
        headers,
        signal: req.signal,
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
      if (res.ok) return text === '' ? {} : parseJson(text, req, status);
    } catch (err) {
      if (req.signal.aborted) throw abortReason(req.signal);
      if (err instanceof DgwClientError) throw err;
      // fetch rejects with a TypeError for refused, reset or unreachable connections.
      throw new DgwClientError('UNAVAILABLE', `${req.method} ${req.path}: ${req.baseUrl} unreachable (${describe(err)})`, [], { baseUrl: req.baseUrl, cause: err });
    }
    throw errorFromAnswer(req, status, text, retryAfterMs(retryAfter, now()));
  };
}

function parseJson(text: string, req: TransportRequest, status: number): Json {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  } catch {
    // fall through
  }
  throw new DgwClientError('INTERNAL', `${req.method} ${req.path}: ${req.baseUrl} answered ${status} with a body that is not a JSON object`, [], { httpStatus: status, baseUrl: req.baseUrl });
}

/** The error of a non-2xx answer: dgw's `{ error: { code, message, details } }`, else the status. */
function errorFromAnswer(req: TransportRequest, status: number, text: string, retryAfter: number | undefined): DgwClientError {
  let code = codeForStatus(status);
  let message = `${req.method} ${req.path}: HTTP ${status} from ${req.baseUrl}`;
  let details: ClientErrorDetail[] = [];
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const e = body.error;
    if (e !== undefined && isClientErrorCode(e.code)) {
      code = e.code;
      if (typeof e.message === 'string') message = e.message;
      if (Array.isArray(e.details)) details = e.details.filter((d): d is ClientErrorDetail => typeof d === 'object' && d !== null);
    }
  } catch {
    // not JSON: keep the status-derived code
  }
  // Load shedding (DESIGN 8) also says it in the details: { maxRetries, retryAfterSeconds }.
  const hint = details.find((d) => typeof d['retryAfterSeconds'] === 'number' || typeof d['maxRetries'] === 'number');
  const fromDetails = typeof hint?.['retryAfterSeconds'] === 'number' ? Math.round(hint['retryAfterSeconds'] * 1000) : undefined;
  const after = retryAfter ?? fromDetails;
  const maxRetries = hint?.['maxRetries'];
  return new DgwClientError(code, message, details, {
    httpStatus: status,
    baseUrl: req.baseUrl,
    ...(after === undefined ? {} : { retryAfterMs: after }),
    ...(typeof maxRetries === 'number' && Number.isInteger(maxRetries) && maxRetries >= 0 ? { maxRetries } : {}),
  });
}

/** `Retry-After` as delay-seconds or an HTTP-date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function abortReason(signal: AbortSignal): DgwClientError {
  const reason: unknown = signal.reason;
  return reason instanceof DgwClientError ? reason : new DgwClientError('CANCELLED', 'call cancelled', [], { cause: reason });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? `: ${cause.message}` : '';
    return `${err.message}${inner}`;
  }
  return String(err);
}
