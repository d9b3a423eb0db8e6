/**
 * dgw's TypeScript client SDK (`import { DgwClient } from 'dgw/client'`): typed calls for
 * every operation, deadlines, safe retries, SLO hedging, partial reads, page iterators.
 * Guarantees and a quick start: docs/client.md.
 */
export { DgwClient, type CallOptions, type DgwClientOptions, type ReadAllOptions, type ReadOptions } from './client.js';
export { DgwClientError, RETRYABLE_CODES, CLIENT_ERROR_CODES, type ClientErrorCode, type ClientErrorDetail } from './errors.js';
export type { CallEvent, BackoffOptions } from './call-runner.js';
export type { FetchLike, Transport, TransportRequest, HttpMethod } from './http-transport.js';
export type { NamespaceOverrides, SloMs } from './namespace-info.js';
export type * from './types.js';
