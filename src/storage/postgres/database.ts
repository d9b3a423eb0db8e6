/**
 * The PostgreSQL adapter's handle on its database: the pool, the schema, parameterised
 * (and, on hot paths, named prepared) statements, transactions, bounded one-statement
 * appends on their own small pool, per-schema advisory locks and the namespace → numeric
 * id map that physical table names are built from.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DgwError } from '../../kernel/errors.js';
import { nativeCodeOf } from '../native-errors.js';

/** SQLSTATE of a statement cancelled by statement_timeout (or a cancel request). */
const STATEMENT_CANCELLED = '57014';

/**
 * The fixed session `statement_timeout` (T) of the append pool's connections (issue 9): a
 * bounded append sent there as one autocommit statement is cancelled, uncommitted, by
 * PostgreSQL itself T after it starts. 2 s: a counter event reaches the store with about
 * 4 s of its window left (accept limit 5 s less the 1 s skew margin), less after a slow
 * group commit, so T + {@link ONE_TRIP_MARGIN_MS} must stay well under 4 s for most
 * appends to qualify; and an append the healthy server commits in milliseconds that has
 * not finished in 2 s is stalled (a lock, a saturated disk). Such an append, cancelled at
 * T with nothing stored, goes on in a transaction with what is left of its bound, so it
 * still succeeds or fails when it did before (issue 9: no change in behaviour).
 */
export const ONE_TRIP_TIMEOUT_MS = 2000;

/**
 * Time beyond {@link ONE_TRIP_TIMEOUT_MS} a bound must leave for the one-trip path. The
 * server's timer starts when it starts the statement, and an autocommit statement that
 * ends just inside T flushes its commit record after that; the margin covers both ends:
 * before, the send and the server's scheduling on a loaded box (a millisecond on a LAN,
 * tens of milliseconds on a saturated 2-core VM); after, the commit's WAL flush (about a
 * millisecond on an SSD, tens on a slow or shared disk). 200 ms covers their sum with room
 * to spare and costs only the appends with 2.0-2.2 s left, which take the transaction path.
 */
export const ONE_TRIP_MARGIN_MS = 200;

/** Something statements can run on: the pool, or one client inside a transaction. */
export interface Sql {
  /**
   * Runs one parameterised statement. With `prepare`, the statement is a named prepared
   * statement (parsed and planned once per connection); use it for hot, fixed-text SQL.
   */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[], prepare?: boolean): Promise<pg.QueryResult<R>>;
}

/** Valid schema names: a plain lower-case SQL identifier, so it never needs escaping. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Statement names by text: a hot statement's text is hashed once, not on every call (issue 9). */
const statementNames = new Map<string, string>();
/** Bound of {@link statementNames}: texts built from namespace ids are few, but not fixed. */
const MAX_STATEMENT_NAMES = 4096;

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    // Derived from the text, so every store sharing a pool agrees on names (pg refuses one name
    // used for two different texts on a connection).
    name = `dgw_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (statementNames.size >= MAX_STATEMENT_NAMES) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/** The adapter's database handle. */
export class PgDb implements Sql {
  private readonly nsIds = new Map<string, number>();

  constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    /** "host:port/database" for messages (no credentials). */
    readonly address: string,
    private readonly statementTimeoutMs: number | undefined,
    /**
     * Connections whose session `statement_timeout` is {@link ONE_TRIP_TIMEOUT_MS} (or the
     * configured statement timeout when shorter), serving {@link boundedStatement} only:
     * reads, DDL and rollups never run there. Undefined: no one-trip path.
     */
    private readonly appendPool?: pg.Pool,
  ) {}

  /** A table of this schema, quoted and qualified. */
  table(name: string): string {
    return `"${this.schema}"."${name}"`;
  }

  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], prepare = false): Promise<pg.QueryResult<R>> {
    // Native errors go up untranslated: the adapter's code may test their SQLSTATE, and the
    // store wrapper translates them once (errors.ts).
    return this.pool.query<R>(prepare ? { name: statementName(text), text, values } : { text, values });
  }

  /**
   * Runs one statement and returns its rows as arrays of column values (pg's `rowMode:
   * 'array'`): no object per row, for hot reads (issue 9). A named prepared statement unless
   * `prepare` is false (texts that vary with a query's shape).
   */
  async rows(text: string, values: unknown[], prepare = true): Promise<unknown[][]> {
    const result = await this.pool.query<unknown[]>(prepare ? { name: statementName(text), text, values, rowMode: 'array' } : { text, values, rowMode: 'array' });
    return result.rows;
  }

  /**
   * Runs `fn` in one transaction on one connection; commits when it resolves, rolls back
   * when it rejects. A connection that failed mid-transaction is discarded, not reused.
   *
   * With `timeoutMs`, the transaction commits within that time or not at all: the wait for
   * a connection counts, every statement runs under a `statement_timeout` of what is left
   * (PostgreSQL itself cancels a statement stalled on a lock), and COMMIT is never sent
   * once the time is spent: it rolls back and rejects with `onTimeout()`'s error.
   */
  async transaction<T>(fn: (sql: Sql) => Promise<T>, bound?: { timeoutMs: number; onTimeout(cause?: unknown): Error }): Promise<T> {
    const deadline = bound === undefined ? undefined : performance.now() + bound.timeoutMs;
    const left = () => (deadline === undefined ? Infinity : Math.floor(deadline - performance.now()));
    if (bound !== undefined && left() <= 0) throw bound.onTimeout();
    // Native errors go up untranslated (the store wrapper translates them once, errors.ts).
    const client = await this.pool.connect();
    const sql: Sql = {
      query: <R extends pg.QueryResultRow>(text: string, values: unknown[] = [], prepare = false) =>
        client.query<R>(prepare ? { name: statementName(text), text, values } : { text, values }),
    };
    // A connection lost between statements makes the checked-out client emit 'error';
    // without a listener that would crash the process. The next statement fails instead.
    const onError = (): void => {};
    client.on('error', onError);
    let broken: Error | undefined;
    // Whether the bound, not the configured statement timeout, set the transaction's timeout.
    let boundTimesOut = false;
    try {
      if (bound !== undefined) {
        const untilDeadline = deadline! - performance.now();
        if (untilDeadline < 1) throw bound.onTimeout();
        // Rounded up: PostgreSQL's cancel must not come before the deadline it stands for.
        const ms = Math.min(Math.ceil(untilDeadline), this.statementTimeoutMs ?? Infinity);
        boundTimesOut = ms === Math.ceil(untilDeadline);
        // One round trip: BEGIN and the transaction's own statement timeout.
        await sql.query(`BEGIN; SET LOCAL statement_timeout = ${ms}`);
      } else {
        await sql.query('BEGIN');
      }
      let result: T;
      try {
        result = await fn(sql);
      } catch (err) {
        // A statement cancelled by the bound's own timeout is the bound running out, even
        // when the cancel's answer arrives a hair before the deadline by this process's clock.
        const cancelledByBound = boundTimesOut && nativeCodeOf(err) === STATEMENT_CANCELLED;
        throw bound !== undefined && (left() <= 0 || cancelledByBound) ? bound.onTimeout(err) : err;
      }
      // Never commit past the bound: a caller may already have been told "too old".
      if (bound !== undefined && left() <= 0) throw bound.onTimeout();
      await sql.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Runs `fn`, which sends exactly ONE statement, as its own transaction (autocommit) on the
   * append pool, bounded by the session timeout T there (issue 9: one round trip instead of
   * {@link transaction}'s three). Returns false, running nothing, when there is no append
   * pool or when, once a connection is in hand, less than T + {@link ONE_TRIP_MARGIN_MS} is
   * left of the bound: the caller then takes {@link transaction} with what is left.
   *
   * A statement cancelled by T is rolled back (PostgreSQL commits an autocommit statement
   * only after it ends, with the timeout already disarmed): nothing of it is stored, so it
   * answers false too, and the caller goes on with {@link transaction} and what is left of
   * the bound, as if the one-trip attempt had not been made (a stalled append still waits
   * until its bound, not only T). Other errors go up untranslated.
   */
  async boundedStatement(fn: (sql: Sql) => Promise<void>, bound: { timeoutMs: number }): Promise<boolean> {
    const pool = this.appendPool;
    if (pool === undefined) return false;
    const deadline = performance.now() + bound.timeoutMs;
    const needed = ONE_TRIP_TIMEOUT_MS + ONE_TRIP_MARGIN_MS;
    if (bound.timeoutMs < needed) return false;
    const client = await pool.connect();
    // See transaction(): a checked-out client losing its connection must not crash the process.
    const onError = (): void => {};
    client.on('error', onError);
    try {
      // The wait for the connection counts; from here to the send is synchronous.
      if (deadline - performance.now() < needed) return false;
      let sent = false;
      const sql: Sql = {
        query: <R extends pg.QueryResultRow>(text: string, values: unknown[] = [], prepare = false) => {
          // A second statement would be a second transaction with its own T: not atomic.
          if (sent) throw new DgwError('INTERNAL', 'postgres boundedStatement: more than one statement');
          sent = true;
          return client.query<R>(prepare ? { name: statementName(text), text, values } : { text, values });
        },
      };
      await fn(sql);
      return true;
    } catch (err) {
      if (nativeCodeOf(err) === STATEMENT_CANCELLED && this.appendTimeoutIsT()) return false;
      throw err;
    } finally {
      client.off('error', onError);
      // No transaction is left open to roll back; pg-pool discards a client that lost its connection.
      client.release();
    }
  }

  /** Whether the append pool's timeout is T (not a shorter configured statement timeout). */
  private appendTimeoutIsT(): boolean {
    return (this.statementTimeoutMs ?? Infinity) >= ONE_TRIP_TIMEOUT_MS;
  }

  /**
   * Takes this schema's transaction-scoped advisory lock number `key` (0: migrations,
   * n > 0: DDL of the namespace with id n), serialising DDL across dgw instances.
   */
  async lock(sql: Sql, key: number): Promise<void> {
    await sql.query('SELECT pg_advisory_xact_lock(hashtext($1), $2)', [`dgw:${this.schema}`, key]);
  }

  /**
   * The numeric id of a namespace (physical names are built from it, never from the raw
   * string). Ids are never reused or changed, so they are cached forever. With `create`
   * false, an unknown namespace gives undefined.
   */
  async namespaceId(namespace: string, create: boolean): Promise<number | undefined> {
    const cached = this.nsIds.get(namespace);
    if (cached !== undefined) return cached;
    const ids = this.table('namespace_ids');
    let rows = (await this.query<{ id: number }>(`SELECT id FROM ${ids} WHERE namespace = $1`, [namespace], true)).rows;
    if (rows.length === 0 && create) {
      rows = (
        await this.query<{ id: number }>(
          `INSERT INTO ${ids} (namespace) VALUES ($1) ON CONFLICT (namespace) DO NOTHING RETURNING id`,
          [namespace],
        )
      ).rows;
      // Lost a race with another instance: its row is committed now, read it.
      if (rows.length === 0) {
        rows = (await this.query<{ id: number }>(`SELECT id FROM ${ids} WHERE namespace = $1`, [namespace])).rows;
      }
    }
    const id = rows[0]?.id;
    if (id !== undefined) this.nsIds.set(namespace, id);
    return id;
  }
}
