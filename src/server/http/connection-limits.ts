/**
 * Time and connection limits of the HTTP server (issue 14 hardening): without them a
 * client held a connection forever by stalling mid-body (40 connections, 7 MiB each) or by
 * dribbling its headers a byte at a time (500 sockets). Each limit is a `dgw serve` flag.
 */

/** Limits of the HTTP listener. */
export interface HttpConnectionLimits {
  /** Whole header section within this many ms of the connection's request start (408 after). */
  headersTimeoutMs: number;
  /** Whole request (headers and body) within this many ms (408 after). */
  receiveTimeoutMs: number;
  /** An idle keep-alive connection is closed after this many ms. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic at all for this many ms is destroyed. */
  idleTimeoutMs: number;
  /** Most simultaneous connections; more are closed on accept. */
  maxConnections: number;
}

/**
 * Defaults: headers in 10 s, an 8 MiB body at ~300 KB/s within 30 s, keep-alive 5 s
 * (Node's own default), no traffic for 60 s, and 10,000 connections (well under the usual
 * 65,536 file-descriptor limit, leaving room for store connections and files).
 */
export const DEFAULT_CONNECTION_LIMITS: Readonly<HttpConnectionLimits> = {
  headersTimeoutMs: 10_000,
  receiveTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 10_000,
};

/** Limits completed with the defaults, each checked to be a positive integer. */
export function connectionLimits(partial: Partial<HttpConnectionLimits> = {}): HttpConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${key}: ${String(value)} must be a positive integer`);
  }
  // Node checks header and request timeouts only every connectionsCheckingInterval, and
  // requires headersTimeout <= requestTimeout.
  limits.headersTimeoutMs = Math.min(limits.headersTimeoutMs, limits.receiveTimeoutMs);
  return limits;
}

/** Options for Fastify (and, through `http`/`https`, Node's server constructor). */
export function fastifyServerOptions(limits: HttpConnectionLimits): {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  serverOptions: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.receiveTimeoutMs,
    serverOptions: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.receiveTimeoutMs,
      // Timeouts are enforced by a periodic sweep; Node's default (30 s) would let a
      // stalled connection live 30 s past its limit.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
    },
  };
}
