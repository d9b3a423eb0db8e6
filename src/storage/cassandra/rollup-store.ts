/**
 * The Cassandra RollupStore (DESIGN 4.3): a table per counter namespace (`r_<tag>`), one
 * partition per counter, so dropping a namespace is a DROP TABLE (no tombstones that could
 * shadow later writes of a re-created namespace).
 *
 * Write marks need max/min without a read: `last_write_ts` is written `USING TIMESTAMP
 * eventTime` and `first_write_ts` `USING TIMESTAMP 2^62 - eventTime`, so Cassandra's own
 * last-write-wins keeps the largest and the smallest event time on every replica, whatever
 * the order of concurrent marks from several instances.
 *
 * The checkpoint moves only forward under concurrent rollups on several instances: it is
 * written by a lightweight transaction `UPDATE ... IF rollup_ts < ?` (Paxos), never by a
 * plain write, so two instances cannot both apply and an older checkpoint never lands.
 *
 * Write claims and holds (issue 15) are read-then-LWT loops: the LWT's condition is the
 * state read (`IF rollup_ts = ? AND hold_ts = ? AND hold_until = ?`), so a concurrent
 * claim or advance makes it retry on fresh state. The holds' clock is the coordinator's
 * (`currentTimestamp()`, millisecond resolution).
 */
import type { Clock } from '../../kernel/clock.js';
import { DgwError } from '../../kernel/errors.js';
import type { CounterWriteMark, RollupAdvance, RollupCheckpoint, RollupRead, RollupRow, RollupStore } from '../contracts.js';
import { checkInt64 } from '../rollup-rules.js';
import type { BoundStatement, CassandraDb } from './database.js';
import { TableMissingError } from './database.js';
import type { DdlLease } from './ddl-lease.js';
import { forEachLimited } from './event-store.js';
import { rollupTable } from './names.js';
import { rollupTableDdl } from './schema.js';

const INVERT_BASE = 2n ** 62n;
const PARALLEL = 32;
const LWT_ATTEMPTS = 8;

/** A row's checkpoint and hold as read, nulls kept (LWT conditions compare them). */
interface HoldState {
  rollupTs: bigint | null;
  firstWrite: bigint | null;
  holdTs: bigint | null;
  holdUntil: bigint | null;
  nowMicros: number;
}

/** `col = ?` or `col = null` for each seen value: the LWT applies only on unchanged state. */
function unchanged(seen: Record<string, bigint | null>): { cql: string; params: bigint[] } {
  const parts: string[] = [];
  const params: bigint[] = [];
  for (const [col, v] of Object.entries(seen)) {
    if (v === null) parts.push(`${col} = null`);
    else {
      parts.push(`${col} = ?`);
      params.push(v);
    }
  }
  return { cql: parts.join(' AND '), params };
}

/** RollupStore on Cassandra; see the file header. */
export class CassandraRollupStore implements RollupStore {
  /** Namespaces whose table this process has seen exist. */
  private readonly known = new Set<string>();

  /** `holdClock` replaces the coordinator's clock for holds (tests on a manual clock only). */
  constructor(
    private readonly db: CassandraDb,
    private readonly lease: DdlLease,
    private readonly holdClock?: Pick<Clock, 'nowMicros'>,
  ) {}

  /** The holds' clock: the coordinator's, unless a test injected one. */
  private async storeNowMicros(): Promise<number> {
    if (this.holdClock) return this.holdClock.nowMicros();
    const rs = await this.db.execute('SELECT toUnixTimestamp(currentTimestamp()) AS now FROM system.local', [], { idempotent: true });
    return Number(rs.first()?.get('now') as bigint) * 1000;
  }

  /** Creates the namespace's table when missing (under the schema lease). */
  private async ensureTable(namespace: string): Promise<string> {
    const table = rollupTable(namespace);
    if (this.known.has(namespace)) return this.db.table(table);
    if (!(await this.db.tableExists(table))) {
      await this.lease.run(`rollup table ${namespace}`, async () => {
        if (!(await this.db.tableExists(table))) await this.db.schemaChange(rollupTableDdl(this.db.table(table)));
      });
    }
    this.known.add(namespace);
    return this.db.table(table);
  }

  /** Runs `work`; when the table was dropped by another instance meanwhile, re-creates it once. */
  private async withTable<T>(namespace: string, work: (table: string) => Promise<T>): Promise<T> {
    const name = rollupTable(namespace);
    try {
      const table = await this.ensureTable(namespace);
      return await this.db.onTable(name, () => work(table));
    } catch (err) {
      if (!(err instanceof TableMissingError)) throw err;
      this.known.delete(namespace);
      return work(await this.ensureTable(namespace));
    }
  }

  async recordWrites(marks: readonly CounterWriteMark[]): Promise<void> {
    const byCounter = new Map<string, { namespace: string; counter: string; min: number; max: number }>();
    for (const m of marks) {
      const key = `${m.namespace}\u0000${m.counter}`;
      const cur = byCounter.get(key);
      if (!cur) byCounter.set(key, { namespace: m.namespace, counter: m.counter, min: m.eventTimeMicros, max: m.eventTimeMicros });
      else {
        cur.min = Math.min(cur.min, m.eventTimeMicros);
        cur.max = Math.max(cur.max, m.eventTimeMicros);
      }
    }
    await forEachLimited([...byCounter.values()], PARALLEL, async (c) => {
      await this.withTable(c.namespace, async (table) => {
        const statements: BoundStatement[] = [
          { query: `UPDATE ${table} USING TIMESTAMP ? SET last_write_ts = ? WHERE counter = ?`, params: [BigInt(c.max), BigInt(c.max), c.counter] },
          { query: `UPDATE ${table} USING TIMESTAMP ? SET first_write_ts = ? WHERE counter = ?`, params: [INVERT_BASE - BigInt(c.min), BigInt(c.min), c.counter] },
        ];
        await this.db.batch(statements, true);
      });
    });
  }

  /** Checkpoint and hold of a counter plus the coordinator's clock; undefined without a row or table. */
  private async holdState(namespace: string, counter: string): Promise<{ row: RollupRead; state: HoldState } | undefined> {
    const table = this.db.table(rollupTable(namespace));
    let rs;
    try {
      rs = await this.db.onTable(rollupTable(namespace), () =>
        this.db.execute(
          `SELECT rollup_count, rollup_ts, last_write_ts, first_write_ts, hold_ts, hold_until, toUnixTimestamp(currentTimestamp()) AS now
             FROM ${table} WHERE counter = ?`,
          [counter],
          { idempotent: true },
        ),
      );
    } catch (err) {
      if (err instanceof TableMissingError) return undefined;
      throw err;
    }
    const r = rs.first();
    if (!r) return undefined;
    const big = (col: string) => (r.get(col) as bigint | null | undefined) ?? null;
    const state: HoldState = {
      rollupTs: big('rollup_ts'),
      firstWrite: big('first_write_ts'),
      holdTs: big('hold_ts'),
      holdUntil: big('hold_until'),
      nowMicros: this.holdClock ? this.holdClock.nowMicros() : Number(r.get('now') as bigint) * 1000,
    };
    return {
      state,
      row: {
        lastRollupCount: big('rollup_count') ?? 0n,
        lastRollupTsMicros: Number(state.rollupTs ?? 0n),
        lastWriteTsMicros: Number(big('last_write_ts') ?? 0n),
        firstWriteTsMicros: Number(big('first_write_ts') ?? 0n),
        holdTsMicros: Number(state.holdTs ?? 0n),
        holdUntilMicros: Number(state.holdUntil ?? 0n),
        readAtMicros: state.nowMicros,
      },
    };
  }

  async readForRollup(namespace: string, counter: string): Promise<RollupRead | undefined> {
    return (await this.holdState(namespace, counter))?.row;
  }

  async claimWrites(marks: readonly CounterWriteMark[], holdMicros: number): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const m of marks) out.push(await this.claim(m, holdMicros));
    return out;
  }

  private async claim(m: CounterWriteMark, holdMicros: number): Promise<boolean> {
    const t = BigInt(m.eventTimeMicros);
    for (let attempt = 0; attempt < LWT_ATTEMPTS; attempt++) {
      const seen = await this.holdState(m.namespace, m.counter);
      const s = seen?.state;
      if (s?.rollupTs !== null && s?.rollupTs !== undefined && s.rollupTs >= t) return false;
      const now = BigInt(s?.nowMicros ?? (await this.storeNowMicros()));
      const active = s?.holdUntil !== null && s?.holdUntil !== undefined && s.holdUntil > now && s.holdTs !== null;
      const holdTs = active && s.holdTs! < t ? s.holdTs! : t;
      const until = now + BigInt(holdMicros);
      const holdUntil = s?.holdUntil !== null && s?.holdUntil !== undefined && s.holdUntil > until ? s.holdUntil : until;
      const cond = unchanged({ rollup_ts: s?.rollupTs ?? null, hold_ts: s?.holdTs ?? null, hold_until: s?.holdUntil ?? null });
      const applied = await this.withTable(m.namespace, async (table) => {
        const rs = await this.db.execute(`UPDATE ${table} SET hold_ts = ?, hold_until = ? WHERE counter = ? IF ${cond.cql}`, [
          holdTs,
          holdUntil,
          m.counter,
          ...cond.params,
        ]);
        return rs.first()?.get('[applied]') === true;
      });
      if (applied) {
        await this.recordWrites([m]);
        return true;
      }
    }
    throw new DgwError('UNAVAILABLE', `claim ${m.namespace}/${m.counter}: too much contention on the rollup row`);
  }

  async get(namespace: string, counter: string): Promise<RollupRow | undefined> {
    const table = this.db.table(rollupTable(namespace));
    let rs;
    try {
      rs = await this.db.onTable(rollupTable(namespace), () =>
        this.db.execute(`SELECT rollup_count, rollup_ts, last_write_ts, first_write_ts FROM ${table} WHERE counter = ?`, [counter], { idempotent: true }),
      );
    } catch (err) {
      if (err instanceof TableMissingError) return undefined;
      throw err;
    }
    const r = rs.first();
    if (!r) return undefined;
    return {
      lastRollupCount: (r.get('rollup_count') as bigint | null) ?? 0n,
      lastRollupTsMicros: Number((r.get('rollup_ts') as bigint | null) ?? 0n),
      lastWriteTsMicros: Number((r.get('last_write_ts') as bigint | null) ?? 0n),
      firstWriteTsMicros: Number((r.get('first_write_ts') as bigint | null) ?? 0n),
    };
  }

  /**
   * One read per counter, in parallel: the counter is the partition key, so an `IN` would
   * only move the fan-out to the coordinator.
   */
  getMany(namespace: string, counters: readonly string[]): Promise<(RollupRow | undefined)[]> {
    return Promise.all(counters.map((c) => this.get(namespace, c)));
  }

  async advance(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros?: number, firstWriteTsMicros?: number): Promise<boolean> {
    checkInt64(next.count, 'advance');
    if (!Number.isSafeInteger(next.rollupTsMicros)) throw new DgwError('INVALID_ARGUMENT', 'next.rollupTsMicros: must be integer microseconds');
    if (readAtMicros !== undefined) return this.guardedAdvance(namespace, counter, next, readAtMicros, firstWriteTsMicros);
    return this.withTable(namespace, async (table) => {
      const values = [next.count, BigInt(next.rollupTsMicros), counter];
      // A missing row or one made by write marks only has no checkpoint: `< ?` is false on
      // null, so that case takes the `= null` condition; contention between the two retries.
      for (let attempt = 0; attempt < 8; attempt++) {
        const rs = await this.db.execute(`UPDATE ${table} SET rollup_count = ?, rollup_ts = ? WHERE counter = ? IF rollup_ts < ?`, [...values, BigInt(next.rollupTsMicros)]);
        const row = rs.first();
        if (row?.get('[applied]') === true) return true;
        if (row?.get('rollup_ts') !== null && row?.get('rollup_ts') !== undefined) return false;
        const first = await this.db.execute(`UPDATE ${table} SET rollup_count = ?, rollup_ts = ? WHERE counter = ? IF rollup_ts = null`, values);
        if (first.first()?.get('[applied]') === true) return true;
      }
      throw new DgwError('UNAVAILABLE', `advance ${namespace}/${counter}: too much contention on the checkpoint`);
    });
  }

  /** An advance refused while a hold active at or since `readAtMicros` protects a time at or before it. */
  private async guardedAdvance(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros: number, firstWriteTsMicros?: number): Promise<boolean> {
    const ts = BigInt(next.rollupTsMicros);
    for (let attempt = 0; attempt < LWT_ATTEMPTS; attempt++) {
      const seen = await this.holdState(namespace, counter);
      // The rollup read a row: gone means dropped with its namespace since, not made again (issue 15).
      if (!seen) return false;
      const s = seen.state;
      if (firstWriteTsMicros !== undefined && seen.row.firstWriteTsMicros !== firstWriteTsMicros) return false;
      if (s.rollupTs !== null && s.rollupTs >= ts) return false;
      if (s.holdUntil !== null && s.holdTs !== null && Number(s.holdUntil) > readAtMicros && s.holdTs <= ts) return false;
      const cond = unchanged({ rollup_ts: s.rollupTs, first_write_ts: s.firstWrite, hold_ts: s.holdTs, hold_until: s.holdUntil });
      const applied = await this.withTable(namespace, async (table) => {
        const rs = await this.db.execute(`UPDATE ${table} SET rollup_count = ?, rollup_ts = ? WHERE counter = ? IF ${cond.cql}`, [
          next.count,
          ts,
          counter,
          ...cond.params,
        ]);
        return rs.first()?.get('[applied]') === true;
      });
      if (applied) return true;
    }
    throw new DgwError('UNAVAILABLE', `advance ${namespace}/${counter}: too much contention on the checkpoint`);
  }

  async advanceMany(items: readonly RollupAdvance[]): Promise<boolean[]> {
    for (const item of items) checkInt64(item.next.count, 'advanceMany');
    // In order per counter (a counter listed twice sees its first item), parallel across counters.
    const chains = new Map<string, number[]>();
    items.forEach((item, i) => {
      const key = `${item.namespace}\u0000${item.counter}`;
      const chain = chains.get(key);
      if (chain) chain.push(i);
      else chains.set(key, [i]);
    });
    const applied = new Array<boolean>(items.length).fill(false);
    await forEachLimited([...chains.values()], PARALLEL, async (chain) => {
      for (const i of chain) {
        const item = items[i]!;
        applied[i] = await this.advance(item.namespace, item.counter, item.next, item.readAtMicros, item.firstWriteTsMicros);
      }
    });
    return applied;
  }

  /**
   * Lagging counters in token order (the order Cassandra stores partitions in), resuming
   * after `afterCounter`'s token: each call reads forward from where the previous page
   * ended, in chunks, and stops once it has `limit` names, so a whole sweep reads the table
   * once (a name-ordered page would scan and sort the whole table on every call). Two
   * counters sharing a token are ordered by their bytes, as Cassandra orders them.
   */
  async laggingCounters(namespace: string, afterCounter: string, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const table = this.db.table(rollupTable(namespace));
    const cols = `token(counter) AS t, counter, rollup_ts, last_write_ts`;
    const query = afterCounter === '' ? `SELECT ${cols} FROM ${table}` : `SELECT ${cols} FROM ${table} WHERE token(counter) >= token(?)`;
    const params = afterCounter === '' ? [] : [afterCounter];
    const afterBytes = Buffer.from(afterCounter, 'utf8');
    const lagging: string[] = [];
    try {
      await this.db.onTable(rollupTable(namespace), async () => {
        lagging.length = 0;
        // The cursor's own token (its row exists: rollup rows are only dropped with the
        // table); without it, every row at or past the token counts (a repeat is harmless).
        let afterToken: bigint | undefined;
        if (afterCounter !== '') {
          const own = await this.db.execute(`SELECT token(counter) AS t FROM ${table} WHERE counter = ?`, [afterCounter], { idempotent: true });
          const t = own.first()?.get('t') as unknown;
          if (t !== undefined && t !== null) afterToken = BigInt(String(t));
        }
        let pageState: string | undefined;
        do {
          const rs = await this.db.execute(query, params, {
            idempotent: true,
            fetchSize: Math.min(Math.max(limit, 100), 5000),
            ...(pageState ? { pageState } : {}),
          });
          for (const r of rs.rows) {
            const counter = r.get('counter') as string;
            if (afterCounter !== '') {
              // Rows of the cursor's own token: only those whose key sorts after it.
              if (afterToken !== undefined && BigInt(String(r.get('t'))) === afterToken && Buffer.compare(Buffer.from(counter, 'utf8'), afterBytes) <= 0) continue;
            }
            const lastWrite = (r.get('last_write_ts') as bigint | null) ?? 0n;
            const rolled = (r.get('rollup_ts') as bigint | null) ?? 0n;
            if (lastWrite > rolled) lagging.push(counter);
            if (lagging.length >= limit) return;
          }
          pageState = rs.pageState ?? undefined;
        } while (pageState);
      });
    } catch (err) {
      if (err instanceof TableMissingError) return [];
      throw err;
    }
    return lagging;
  }

  async dropNamespace(namespace: string): Promise<void> {
    await this.lease.run(`drop rollups ${namespace}`, async () => {
      await this.db.schemaChange(`DROP TABLE IF EXISTS ${this.db.table(rollupTable(namespace))}`);
    });
    this.known.delete(namespace);
  }
}
