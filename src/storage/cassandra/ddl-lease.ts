/**
 * One schema writer at a time per keyspace. Concurrent `CREATE TABLE` of the same table
 * on several coordinators gives it different ids and corrupts the schema, so every slice
 * and rollup table change runs under a lease: a row taken with a lightweight transaction
 * (`INSERT ... IF NOT EXISTS USING TTL`) at SERIAL consistency (schema is cluster-wide,
 * so the lease is too), released with `DELETE ... IF owner = ?` (retried: a release lost to
 * Paxos contention would hold every other instance for the TTL). The TTL frees the lease
 * of a dgw instance that died holding it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DgwError } from '../../kernel/errors.js';
import type { CassandraDb } from './database.js';

/** Base table holding the lease row. */
export const LEASE_TABLE = 'dgw_ddl_lease';

/** Attempts to release a lease before leaving it to its TTL. */
const RELEASE_TRIES = 8;

/** Options of {@link DdlLease}. */
export interface DdlLeaseOptions {
  /** Seconds after which a lease left by a dead holder expires (default 60). */
  ttlSeconds?: number;
  /** How long to wait for the lease before failing with UNAVAILABLE (default 60 s). */
  waitMs?: number;
}

/** Serialises schema changes of one keyspace across every dgw instance. */
export class DdlLease {
  private readonly ttlSeconds: number;
  private readonly waitMs: number;
  /** In-process queue: one holder per process, so instances contend only with each other. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: CassandraDb,
    options: DdlLeaseOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? 60;
    this.waitMs = options.waitMs ?? 60_000;
  }

  /** Runs `work` while holding the keyspace's schema lease. */
  async run<T>(what: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      const owner = randomUUID();
      await this.acquire(owner, what);
      try {
        return await work();
      } finally {
        await this.release(owner).catch(() => undefined); // the TTL frees it otherwise
      }
    } finally {
      done();
    }
  }

  private async acquire(owner: string, what: string): Promise<void> {
    const table = this.db.table(LEASE_TABLE);
    const started = Date.now();
    let pause = 20;
    for (;;) {
      let holder: unknown;
      try {
        const rs = await this.db.execute(
          `INSERT INTO ${table} (name, owner, what) VALUES ('ddl', ?, ?) IF NOT EXISTS USING TTL ${this.ttlSeconds}`,
          [owner, what],
          { serial: 'SERIAL' },
        );
        const row = rs.first();
        // Applied, or applied by our own earlier attempt whose answer timed out.
        if (row?.get('[applied]') === true || row?.get('owner') === owner) return;
        holder = row?.get('what');
      } catch (err) {
        // A Paxos round lost to contention times out (outcome unknown): try again; the
        // owner check above recognises a lease that attempt did take.
        if (Date.now() - started > this.waitMs) throw err;
        holder = `unknown: ${(err as Error).message}`;
      }
      if (Date.now() - started > this.waitMs) {
        throw new DgwError('UNAVAILABLE', `cassandra schema lease: still held by another instance (${String(holder)}) after ${this.waitMs} ms`);
      }
      await sleep(pause + Math.floor(Math.random() * pause));
      pause = Math.min(pause * 2, 500);
    }
  }

  /**
   * Deletes the lease row if it is still ours. Its Paxos round competes with the other
   * instances' acquire rounds and can time out under that contention; a release given up
   * would leave every other instance waiting out the TTL (as long as their whole wait), so
   * it is retried (`DELETE ... IF owner = ?` is idempotent) for up to {@link RELEASE_TRIES}
   * attempts before the TTL is left to free it.
   */
  private async release(owner: string): Promise<void> {
    let pause = 20;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.execute(`DELETE FROM ${this.db.table(LEASE_TABLE)} WHERE name = 'ddl' IF owner = ?`, [owner], { serial: 'SERIAL' });
        return;
      } catch (err) {
        if (attempt >= RELEASE_TRIES) throw err;
        await sleep(pause + Math.floor(Math.random() * pause));
        pause = Math.min(pause * 2, 500);
      }
    }
  }
}
