/**
 * The Redis caches: best-effort counters (DESIGN 4.2) and the rollup cache (DESIGN 4.3).
 *
 * Keys (prefix default `dgw:`):
 * - `<prefix>counter:<key>`: a Redis integer, the best-effort count, with the namespace TTL.
 * - `<prefix>rollup:<namespace>`: a hash, field = counter, value = `"<checkpointMicros>:<count>"`,
 *   so count and checkpoint are always read and written together.
 */
import type { Redis } from 'ioredis';
import { DgwError } from '../../kernel/errors.js';
import type { CounterCache, RollupCache, RollupCheckpoint } from '../contracts.js';
import { checkInt64 } from '../rollup-rules.js';
import { ADD_SCRIPT, PUT_ROLLUP_SCRIPT, runScript } from './scripts.js';

/** Runs one Redis operation: fails fast when not connected, translates errors. */
export type RedisCall = <T>(op: (client: Redis) => Promise<T>) => Promise<T>;

function parseCount(reply: unknown, what: string): bigint {
  if (reply === null || reply === undefined) return 0n;
  const text = String(reply);
  if (!/^-?\d+$/.test(text)) throw new DgwError('INTERNAL', `${what}: Redis holds a non-integer value "${text}"`);
  return BigInt(text);
}

/** Best-effort counters on Redis: INCRBY and PEXPIRE in one script (one round trip). */
export class RedisCounterCache implements CounterCache {
  constructor(
    private readonly call: RedisCall,
    private readonly prefix: string,
  ) {}

  async add(key: string, delta: bigint, ttlMicros?: number): Promise<bigint> {
    checkInt64(delta, 'counterCache.add delta');
    const ttlMs = ttlMicros === undefined || ttlMicros <= 0 ? '' : String(Math.max(1, Math.ceil(ttlMicros / 1000)));
    const reply = await this.call((c) => runScript(c, ADD_SCRIPT, [this.key(key)], [delta.toString(), ttlMs]));
    return parseCount(reply, `counter ${key}`);
  }

  async get(key: string): Promise<bigint> {
    return parseCount(await this.call((c) => c.get(this.key(key))), `counter ${key}`);
  }

  async delete(key: string): Promise<void> {
    await this.call((c) => c.del(this.key(key)));
  }

  /** SCAN for the prefix (glob characters escaped) and UNLINK what it finds, 1,000 keys a step. */
  async deletePrefix(prefix: string): Promise<void> {
    const pattern = `${this.key(prefix).replace(/[*?[\]\\]/g, (ch) => `\\${ch}`)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.call((c) => c.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      if (keys.length > 0) await this.call((c) => c.unlink(...keys));
      cursor = next;
    } while (cursor !== '0');
  }

  private key(key: string): string {
    return `${this.prefix}counter:${key}`;
  }
}

/** The rollup cache on Redis: one hash per namespace, "put only if newer" by script. */
export class RedisRollupCache implements RollupCache {
  constructor(
    private readonly call: RedisCall,
    private readonly prefix: string,
  ) {}

  async get(namespace: string, counter: string): Promise<RollupCheckpoint | undefined> {
    const value = await this.call((c) => c.hget(this.key(namespace), counter));
    if (value === null) return undefined;
    const sep = value.indexOf(':');
    const ts = Number(value.slice(0, sep));
    if (sep < 0 || !Number.isSafeInteger(ts)) return undefined; // not ours: treat as a miss
    return { rollupTsMicros: ts, count: parseCount(value.slice(sep + 1), `rollup ${namespace}/${counter}`) };
  }

  async put(namespace: string, counter: string, value: RollupCheckpoint): Promise<void> {
    if (!Number.isSafeInteger(value.rollupTsMicros)) {
      throw new DgwError('INVALID_ARGUMENT', `rollupCache.put: checkpoint ${value.rollupTsMicros} is not integer micros`);
    }
    await this.call((c) =>
      runScript(c, PUT_ROLLUP_SCRIPT, [this.key(namespace)], [counter, String(value.rollupTsMicros), value.count.toString()]),
    );
  }

  async dropNamespace(namespace: string): Promise<void> {
    await this.call((c) => c.del(this.key(namespace)));
  }

  private key(namespace: string): string {
    return `${this.prefix}rollup:${namespace}`;
  }
}
