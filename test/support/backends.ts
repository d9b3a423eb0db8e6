/**
 * Test policy for the real backends (issue 4): PostgreSQL and Redis run on development and
 * CI machines (NATS JetStream too). When one is unreachable, a CI run (`CI=true`) FAILS; elsewhere the backend's
 * tests are skipped with a loud banner naming the server and its address.
 *
 * Addresses: `DGW_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/test) and
 * `DGW_TEST_REDIS_URL` (default redis://127.0.0.1:6379), `DGW_TEST_CASSANDRA_URL` (a contact
 * point, default 127.0.0.1:9042).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';

/** PostgreSQL the backend tests use. */
export const POSTGRES_URL = process.env.DGW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Redis the backend tests use. */
export const REDIS_URL = process.env.DGW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Cassandra contact point (`host:port`) the backend tests use; scripts/cassandra.sh starts one. */
export const CASSANDRA_URL = process.env.DGW_TEST_CASSANDRA_URL ?? '127.0.0.1:9042';

/** NATS (JetStream) the backend tests use. */
export const NATS_URL = process.env.DGW_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** The backends with a test policy. */
export type BackendName = 'postgres' | 'redis' | 'nats' | 'cassandra';

const PROBE_TIMEOUT_MS = 2000;

/** Whether PostgreSQL answers `SELECT 1` at `url` within 2 s. */
export async function postgresAvailable(url: string = POSTGRES_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether Redis answers PING at `url` within 2 s. */
export async function redisAvailable(url: string = REDIS_URL): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Whether a NATS server greets with its INFO line at `url` within 2 s. */
export async function natsAvailable(url: string = NATS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 4222) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1').startsWith('INFO')));
  });
}

/** Whether Cassandra's CQL port at `contact` (`host:port`) accepts a connection within 2 s. */
export async function cassandraAvailable(contact: string = CASSANDRA_URL): Promise<boolean> {
  const [host, port] = contact.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: host ?? '127.0.0.1', port: Number(port ?? 9042) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

const BACKENDS: Record<BackendName, { server: string; url: string; available(url: string): Promise<boolean> }> = {
  postgres: { server: 'PostgreSQL', url: POSTGRES_URL, available: postgresAvailable },
  redis: { server: 'Redis', url: REDIS_URL, available: redisAvailable },
  nats: { server: 'NATS', url: NATS_URL, available: natsAvailable },
  cassandra: { server: 'Cassandra', url: CASSANDRA_URL, available: cassandraAvailable },
};

/** What a backend test file passes to `describe(name, { skip }, ...)`. */
export interface BackendGate {
  /** false when the server is reachable; otherwise the skip reason. */
  skip: string | false;
  /** The address tests connect to. */
  url: string;
}

function banner(lines: string[]): string {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const rule = '!'.repeat(width);
  return ['', rule, ...lines.map((l) => `! ${l.padEnd(width - 4)} !`), rule, ''].join('\n');
}

/**
 * The policy for one backend's tests. Reachable: `{ skip: false }`. Unreachable with
 * `CI=true`: registers a failing test (the run fails) and skips the rest. Unreachable
 * elsewhere: prints a loud banner and skips.
 */
export async function backendTest(name: BackendName): Promise<BackendGate> {
  const { server, url, available } = BACKENDS[name];
  if (await available(url)) return { skip: false, url };
  const reason = `${server} is not reachable at ${url}`;
  if (process.env.CI === 'true') {
    test(`${server} backend is reachable (required when CI=true)`, () => {
      throw new Error(`${reason}: CI requires it (start it, see .ci/run and docs/backends.md)`);
    });
  } else {
    console.warn(
      banner([
        `SKIPPING ${server.toUpperCase()} BACKEND TESTS`,
        reason,
        `Start ${server} (see docs/backends.md${name === 'cassandra' ? ', scripts/cassandra.sh start' : ''}) or set DGW_TEST_${name.toUpperCase()}_URL.`,
        'With CI=true this is a failure, not a skip.',
      ]),
    );
  }
  return { skip: reason, url };
}

/** A fresh name for one test's schema or key prefix: `<base>_<random hex>`. */
export function uniqueName(base: string): string {
  return `${base}_${randomBytes(5).toString('hex')}`;
}

/** Drops a PostgreSQL schema and everything in it (test cleanup). */
export async function dropPostgresSchema(schema: string, url: string = POSTGRES_URL): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`refusing to drop schema "${schema}"`);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SET client_min_messages = warning');
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Deletes every Redis key under a prefix (test cleanup). */
export async function deleteRedisPrefix(prefix: string, url: string = REDIS_URL): Promise<void> {
  if (prefix.length < 4) throw new Error(`refusing to delete prefix "${prefix}"`);
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Drops a Cassandra keyspace and everything in it (test cleanup). */
export async function dropCassandraKeyspace(keyspace: string, contact: string = CASSANDRA_URL): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(keyspace)) throw new Error(`refusing to drop keyspace "${keyspace}"`);
  const { default: cassandra } = await import('cassandra-driver');
  const client = new cassandra.Client({ contactPoints: [contact], localDataCenter: 'datacenter1' });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}
