/**
 * The Redis adapter: a shared, non-durable store with native TTL providing the best-effort
 * counter cache and the rollup cache. Calls never wait for a lost connection: while Redis
 * is unreachable they fail at once with UNAVAILABLE, and the client reconnects by itself
 * in the background (backoff up to {@link MAX_RECONNECT_DELAY_MS}).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DgwError } from '../../kernel/errors.js';
import type { StoreSet } from '../contracts.js';
import { wrapStoreSet } from '../store-wrapper.js';
import { RedisCounterCache, RedisRollupCache, type RedisCall } from './caches.js';
import { RedisStoreClock } from './clock.js';
import { lostReason, redisErrorTranslator, redisUnavailable } from './errors.js';

/** Default server when neither `url` nor `client` is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Time allowed to open a connection, and for one command to answer (then DEADLINE_EXCEEDED). */
export const DEFAULT_REDIS_TIMEOUT_MS = 2000;
/** Upper bound of the reconnection backoff. */
export const MAX_RECONNECT_DELAY_MS = 2000;

/** Options of {@link createRedisStores}. */
export interface RedisStoresOptions {
  /** `redis://[user:password@]host:port[/db]`; default {@link DEFAULT_REDIS_URL}. Ignored with `client`. */
  url?: string;
  /** A client the caller owns (not closed by `close()`); its own retry and queue settings apply. */
  client?: Redis;
  /** Prefix of every key dgw writes; default `dgw:`. */
  keyPrefix?: string;
  /** Connect and command timeout in ms for a client this factory creates (default {@link DEFAULT_REDIS_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * The client settings dgw uses: no offline queue, no retries of a command whose reply was
 * lost (an INCRBY may have been applied: not idempotent), bounded connect and command
 * time, endless reconnection with capped backoff. Exported so a caller building its own
 * client (`client` option) can keep the same failure behaviour.
 */
export function redisClientOptions(timeoutMs: number = DEFAULT_REDIS_TIMEOUT_MS): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // Commands issued in one turn of the event loop (the GetCounts of every request read in
    // it) go to Redis in one socket write, not one write each (issue 9: one write per GET
    // was 12 % of a GetCount profile on PostgreSQL + Redis).
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
  };
}

function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'the configured server';
  }
}

/** Resolves once the client is ready, or after `ms`, whichever comes first (never rejects). */
function settleConnect(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
    client.once('error', done);
  });
}

/**
 * Returns the Redis store set. It does not fail when Redis is down at startup: the caches
 * are optional (DESIGN 4.3), so calls (and `ping`) answer UNAVAILABLE until the background
 * reconnection succeeds. Capabilities: not durable, shared, native TTL.
 */
export async function createRedisStores(options: RedisStoresOptions = {}): Promise<StoreSet> {
  const prefix = options.keyPrefix ?? 'dgw:';
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  const ownsClient = options.client === undefined;
  const url = options.url ?? DEFAULT_REDIS_URL;
  const client =
    options.client ??
new Redis(url, redisClientOptions(timeoutMs));
  const address = options.client ? `${options.client.options.host ?? '127.0.0.1'}:${options.client.options.port ?? 6379}` : describe(url);
  let lastError = 'not connected yet';
  // Without a listener, ioredis prints every failed reconnection attempt; keep the last one
  // for the UNAVAILABLE message instead.
  const onError = (err: Error): void => {
    lastError = err.message || err.name;
  };
  client.on('error', onError);

  // Native failures are translated once, by the store wrapper (errors.ts).
  const call: RedisCall = async (op) => {
    if (client.status !== 'ready') throw redisUnavailable(address, `connection ${client.status}; last error: ${lastError === 'not connected yet' ? lastError : lostReason(lastError)}`, lastError);
    return op(client);
  };

  if (ownsClient) await settleConnect(client, timeoutMs);
  return wrapStoreSet({
    name: 'redis',
    capabilities: { durable: false, shared: true, ttl: true },
    translate: redisErrorTranslator(address),
    parts: {
      counterCache: new RedisCounterCache(call, prefix),
      rollupCache: new RedisRollupCache(call, prefix),
      clock: new RedisStoreClock(call),
    },
    ping: async () => {
      const reply = await call((c) => c.ping());
      if (reply !== 'PONG') throw new DgwError('UNAVAILABLE', `Redis at ${address} answered PING with "${reply}"`);
    },
    close: async () => {
      // An owned client keeps its listener while it quits (see the PostgreSQL pool's close).
      if (!ownsClient) {
        client.off('error', onError);
        return;
      }
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  });
}
