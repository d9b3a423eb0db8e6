/**
 * The SQLite schema as numbered migrations (STYLE: SQL in one module per adapter). A
 * database records the highest migration applied in `schema_version`; opening one written
 * by a newer dgw fails fast instead of guessing. Slice tables are not here: they are
 * created per time slice by the event store (see sliceTableDdl).
 */
import type Database from 'better-sqlite3';
import { DgwError } from '../../kernel/errors.js';
import { TIME_ORDERED_LAYOUT, type SliceLayout } from '../slice-rules.js';

/** One step of the schema; applied in order, each in its own transaction. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Every migration, by ascending version. Append only: never edit a released step. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'namespace ids, slice metadata, index, rollups, namespace registry',
    sql: `
      CREATE TABLE namespace_ids (
        id        INTEGER PRIMARY KEY,
        namespace TEXT NOT NULL UNIQUE
      );
      CREATE TABLE slices (
        namespace_id            INTEGER NOT NULL,
        slice_id                INTEGER NOT NULL,
        start_micros            INTEGER NOT NULL,
        end_micros              INTEGER NOT NULL,
        status                  TEXT    NOT NULL,
        seconds_per_time_bucket INTEGER NOT NULL,
        event_buckets           INTEGER NOT NULL,
        PRIMARY KEY (namespace_id, slice_id)
      ) WITHOUT ROWID;
      CREATE TABLE index_docs (
        doc_id         INTEGER PRIMARY KEY,
        namespace_id   INTEGER NOT NULL,
        event_time     INTEGER NOT NULL,
        time_series_id TEXT    NOT NULL,
        event_id       TEXT    NOT NULL,
        items          BLOB    NOT NULL
      );
      CREATE UNIQUE INDEX index_docs_order
        ON index_docs (namespace_id, event_time DESC, time_series_id, event_id);
      CREATE TABLE index_fields (
        doc_id INTEGER NOT NULL,
        key    TEXT    NOT NULL,
        kind   INTEGER NOT NULL,
        type   TEXT    NOT NULL,
        num    REAL,
        txt    TEXT    NOT NULL,
        PRIMARY KEY (doc_id, key, kind, txt)
      ) WITHOUT ROWID;
      CREATE TABLE rollups (
        namespace         TEXT    NOT NULL,
        counter           TEXT    NOT NULL,
        last_rollup_count INTEGER NOT NULL,
        last_rollup_ts    INTEGER NOT NULL,
        last_write_ts     INTEGER NOT NULL,
        PRIMARY KEY (namespace, counter)
      ) WITHOUT ROWID;
      CREATE TABLE namespaces (
        kind       TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        config     TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'rollups.first_write_ts: the first rollup scans from the first write, not the epoch',
    sql: `ALTER TABLE rollups ADD COLUMN first_write_ts INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 3,
    description: 'rollups.hold_ts, hold_until: claimed late writes hold rollups back (issue 15)',
    sql: `ALTER TABLE rollups ADD COLUMN hold_ts INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE rollups ADD COLUMN hold_until INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 4,
    description: 'index_outbox: index documents for an index in another store, committed with their events (storage/index-outbox.ts)',
    sql: `CREATE TABLE index_outbox (
            seq            INTEGER PRIMARY KEY,
            namespace      TEXT    NOT NULL,
            event_time     INTEGER NOT NULL,
            time_series_id TEXT    NOT NULL,
            event_id       TEXT    NOT NULL,
            doc            TEXT    NOT NULL
          );
          CREATE UNIQUE INDEX index_outbox_event ON index_outbox (namespace, event_time, time_series_id, event_id);`,
  },
  {
    version: 5,
    description:
      'index_fields carries its document\'s namespace, time and ids, with index_fields_posting in search order per ' +
      '(key, kind, txt): a string equals walks only its matches, newest first (issue 9)',
    // UPDATE ... FROM sets the rows of existing documents (a field row without its document,
    // which no write leaves, keeps namespace 0: no namespace has id 0).
    sql: `ALTER TABLE index_fields ADD COLUMN namespace_id INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE index_fields ADD COLUMN event_time INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE index_fields ADD COLUMN time_series_id TEXT NOT NULL DEFAULT '';
          ALTER TABLE index_fields ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
          UPDATE index_fields
             SET namespace_id = d.namespace_id, event_time = d.event_time, time_series_id = d.time_series_id, event_id = d.event_id
            FROM index_docs d WHERE d.doc_id = index_fields.doc_id;
          CREATE INDEX index_fields_posting
            ON index_fields (namespace_id, key, kind, txt, event_time DESC, time_series_id, event_id, type);`,
  },
  {
    version: 6,
    description:
      'index_docs.json: each document\'s event as its wire JSON text, written once when indexed, so a search page ' +
      'is its rows joined (issue 9); NULL for documents indexed before, which a search still packs from their columns',
    sql: `ALTER TABLE index_docs ADD COLUMN json TEXT;`,
  },
  {
    version: 7,
    description:
      'slices.layout: the key of the slice\'s table; tables created from now on are keyed without the event ' +
      'bucket (one time-ordered range per time bucket, no merge on reads; issue 9), older ones keep theirs',
    sql: `ALTER TABLE slices ADD COLUMN layout INTEGER NOT NULL DEFAULT 0;`,
  },
];

/** The schema version this build writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** `index_fields.kind` of the row holding a field's whole value (canonical text, number). */
export const FIELD_VALUE = 0;
/** `index_fields.kind` of the rows holding a TEXT field's tokens. */
export const FIELD_TOKEN = 1;

/** The physical table name of a slice: from the numeric namespace id, never the raw name. */
export function sliceTableName(namespaceId: number, sliceId: number): string {
  return `ev_${namespaceId}_${sliceId < 0 ? `m${-sliceId}` : sliceId}`;
}

// The key of a slice table (`slices.layout`, schema version 7): storage/slice-rules.ts.
export { BUCKETED_LAYOUT, TIME_ORDERED_LAYOUT, type SliceLayout } from '../slice-rules.js';

/** A live slice table: its name and its key. Plain data (it crosses to reader threads). */
export interface SliceTable {
  name: string;
  layout: SliceLayout;
}

/** DDL of one slice table with key `layout` (storage/slice-rules.ts `SliceLayout`). */
export function sliceTableDdl(table: string, layout: SliceLayout): string {
  const key = layout === TIME_ORDERED_LAYOUT ? 'time_series_id, time_bucket' : 'time_series_id, time_bucket, event_bucket';
  return `CREATE TABLE IF NOT EXISTS "${table}" (
    time_series_id   TEXT    NOT NULL,
    time_bucket      INTEGER NOT NULL,
    event_bucket     INTEGER NOT NULL,
    event_time       INTEGER NOT NULL,
    event_id         TEXT    NOT NULL,
    event_item_key   TEXT    NOT NULL,
    event_item_value BLOB    NOT NULL,
    value_metadata   TEXT,
    PRIMARY KEY (${key}, event_time DESC, event_id, event_item_key)
  ) WITHOUT ROWID`;
}

/**
 * Brings the database to SCHEMA_VERSION. Throws FAILED_PRECONDITION when the file carries a
 * newer version than this build knows (written by a newer dgw: refuse rather than corrupt).
 */
export function migrate(db: Database.Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as
    | { version: number | null }
    | undefined;
  const current = row?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new DgwError(
      'FAILED_PRECONDITION',
      `${file}: database schema version ${current} is newer than the ${SCHEMA_VERSION} this dgw supports; ` +
        'upgrade dgw or point it at another data directory',
      { details: [{ reason: 'SCHEMA_TOO_NEW', found: current, supported: SCHEMA_VERSION }] },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
    })();
  }
}
