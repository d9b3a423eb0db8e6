/**
 * PostgreSQL namespace registry: one row per (kind, name) with the canonical config as
 * JSONB and a version bumped on every change. A deleted namespace stays as a tombstone
 * row, so re-creating it continues its version sequence and other instances caching by
 * version never mistake the new config for the old one.
 */
import type { NamespaceKind, NamespaceRecord, NamespaceRegistry } from '../contracts.js';
import type { PgDb } from './database.js';

interface Row {
  kind: NamespaceKind;
  name: string;
  config: Record<string, unknown>;
  version: number;
  updated_at_micros: string;
}

function toRecord(row: Row): NamespaceRecord {
  return { kind: row.kind, name: row.name, config: row.config, version: row.version, updatedAtMicros: Number(row.updated_at_micros) };
}

const COLUMNS = 'kind, name, config, version, updated_at_micros';

/** `namespaces.kind` of a server-wide setting (not a NamespaceKind: never listed). */
const SETTING_KIND = 'setting';

/** The NamespaceRegistry of the PostgreSQL adapter. */
export class PgNamespaceRegistry implements NamespaceRegistry {
  private readonly namespaces: string;

  constructor(private readonly db: PgDb) {
    this.namespaces = db.table('namespaces');
  }

  async put(kind: NamespaceKind, name: string, config: Record<string, unknown>, nowMicros: number): Promise<NamespaceRecord> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO ${this.namespaces} AS n (kind, name, config, version, updated_at_micros, deleted)
         VALUES ($1, $2, $3::jsonb, 1, $4, false)
         ON CONFLICT (kind, name) DO UPDATE
           SET config = EXCLUDED.config, version = n.version + 1,
               updated_at_micros = EXCLUDED.updated_at_micros, deleted = false
         RETURNING ${COLUMNS}`,
      [kind, name, JSON.stringify(config), nowMicros],
      true,
    );
    return toRecord(rows[0] as Row);
  }

  async get(kind: NamespaceKind, name: string): Promise<NamespaceRecord | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.namespaces} WHERE kind = $1 AND name = $2 AND NOT deleted`,
      [kind, name],
      true,
    );
    return rows[0] && toRecord(rows[0]);
  }

  async list(kind: NamespaceKind): Promise<NamespaceRecord[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.namespaces} WHERE kind = $1 AND NOT deleted ORDER BY name`,
      [kind],
      true,
    );
    return rows.map(toRecord);
  }

  async delete(kind: NamespaceKind, name: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE ${this.namespaces} SET deleted = true, version = version + 1
         WHERE kind = $1 AND name = $2 AND NOT deleted`,
      [kind, name],
    );
    return rowCount === 1;
  }

  /** Settings are rows of kind {@link SETTING_KIND}; the first insert wins, every instance reads it. */
  async claimSetting(name: string, candidate: string): Promise<string> {
    await this.db.query(
      `INSERT INTO ${this.namespaces} (kind, name, config, version, updated_at_micros, deleted)
         VALUES ($1, $2, $3::jsonb, 1, 0, false) ON CONFLICT (kind, name) DO NOTHING`,
      [SETTING_KIND, name, JSON.stringify({ value: candidate })],
    );
    const { rows } = await this.db.query<{ config: { value: string } }>(
      `SELECT config FROM ${this.namespaces} WHERE kind = $1 AND name = $2`,
      [SETTING_KIND, name],
    );
    return rows[0]!.config.value;
  }
}
