/**
 * One open SQLite database shared by the SQLite parts: connection, pragmas, migrations,
 * a bounded cache of prepared statements and the namespace -> numeric id map.
 */
import Database from 'better-sqlite3';
import { loadPageJson } from './page-json-extension.js';
import { migrate } from './schema.js';

const MAX_CACHED_STATEMENTS = 2000;

/** Options of a {@link SqliteDatabase}. */
export interface SqliteDatabaseOptions {
  /** Bring the schema to this build's version (default true; the writer thread's second connection skips it). */
  migrate?: boolean;
  /** Open read-only (the reader threads' connections; the file must exist and be migrated). */
  readonly?: boolean;
  /** Load the page-JSON extension when it was built (default true; page-json-extension.ts). */
  pageJson?: boolean;
}

/** The connection and helpers every SQLite part shares. */
export class SqliteDatabase {
  readonly db: Database.Database;
  /** Whether this connection has `dgw_page_json` (page-json-extension.ts): reads then write their pages in SQLite. */
  readonly pageJson: boolean;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly namespaceIds = new Map<string, number>();

  /** Opens (creating if needed) and migrates `file`; `:memory:` for throwaway databases. */
  constructor(readonly file: string, options: SqliteDatabaseOptions = {}) {
    this.db = options.readonly === true ? new Database(file, { readonly: true, fileMustExist: true }) : new Database(file);
    try {
      if (file !== ':memory:' && options.readonly !== true) this.db.pragma('journal_mode = WAL');
      // FULL: a committed transaction is on disk when commit returns (DESIGN 3.3 durability).
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      // Measured: a 64 MiB page cache and checkpointing every ~40 MiB of WAL (not 4 MiB)
      // double small-batch write throughput; each commit touches one leaf page per partition.
      this.db.pragma('cache_size = -65536');
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.pragma('journal_size_limit = 67108864');
      this.db.pragma('foreign_keys = OFF');
      if (options.migrate !== false) migrate(this.db, file);
      this.pageJson = options.pageJson !== false && loadPageJson(this.db);
      this.immediate = this.db.transaction((fn: () => unknown) => fn()).immediate;
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /**
   * better-sqlite3's BEGIN IMMEDIATE wrapper, built once: `db.transaction(fn)` builds four
   * wrappers and their properties on every call (issue 9); this one runs any `fn`.
   */
  private readonly immediate: (fn: () => unknown) => unknown;

  /** The prepared statement for `sql`, prepared once and reused (bounded, LRU). */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s) {
      this.statements.delete(sql);
      this.statements.set(sql, s);
      return s;
    }
    s = this.db.prepare(sql);
    this.statements.set(sql, s);
    if (this.statements.size > MAX_CACHED_STATEMENTS) {
      const oldest = this.statements.keys().next();
      if (!oldest.done) this.statements.delete(oldest.value);
    }
    return s;
  }

  /** Forgets cached statements naming `table` (it was dropped). */
  forgetTable(table: string): void {
    const quoted = `"${table}"`;
    for (const sql of this.statements.keys()) if (sql.includes(quoted)) this.statements.delete(sql);
  }

  /**
   * Runs `fn` in one transaction (one commit, one fsync); a nested call is a savepoint of
   * the outer one. BEGIN IMMEDIATE: the write lock is taken up front, waiting out the
   * other connection (the writer thread) under busy_timeout. A deferred transaction that
   * read first could not wait: SQLite refuses its upgrade at once (SQLITE_BUSY_SNAPSHOT)
   * when the other connection committed since the read.
   */
  transaction<T>(fn: () => T): T {
    return this.immediate(fn) as T;
  }

  /** The numeric id of a namespace, allocating one when `create` is set. */
  namespaceId(namespace: string, create: true): number;
  namespaceId(namespace: string, create: false): number | undefined;
  namespaceId(namespace: string, create: boolean): number | undefined {
    const cached = this.namespaceIds.get(namespace);
    if (cached !== undefined) return cached;
    const row = this.stmt('SELECT id FROM namespace_ids WHERE namespace = ?').get(namespace) as
      | { id: number }
      | undefined;
    let id = row?.id;
    if (id === undefined && create) {
      id = Number(this.stmt('INSERT INTO namespace_ids (namespace) VALUES (?)').run(namespace).lastInsertRowid);
    }
    if (id !== undefined) this.namespaceIds.set(namespace, id);
    return id;
  }

  /** Closes the connection (statements become unusable). */
  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
