/** The SQLite NamespaceRegistry: canonical configs as JSON text with a per-name version. */
import type { NamespaceKind, NamespaceRecord, NamespaceRegistry } from '../contracts.js';
import type { SqliteDatabase } from './database.js';

type Row = [string, string, string, number, number];

function toRecord([kind, name, config, version, updatedAt]: Row): NamespaceRecord {
  return {
    kind: kind as NamespaceKind,
    name,
    config: JSON.parse(config) as Record<string, unknown>,
    version,
    updatedAtMicros: updatedAt,
  };
}

const COLUMNS = 'kind, name, config, version, updated_at';

/** `namespaces.kind` of a server-wide setting (not a NamespaceKind: never listed). */
const SETTING_KIND = 'setting';

/** A NamespaceRegistry on a SqliteDatabase. */
export class SqliteNamespaceRegistry implements NamespaceRegistry {
  constructor(private readonly sql: SqliteDatabase) {}

  async put(kind: NamespaceKind, name: string, config: Record<string, unknown>, nowMicros: number): Promise<NamespaceRecord> {
    const row = this.sql
      .stmt(
        `INSERT INTO namespaces (${COLUMNS}) VALUES (?, ?, ?, 1, ?) ON CONFLICT (kind, name) DO UPDATE SET ` +
          `config = excluded.config, version = namespaces.version + 1, updated_at = excluded.updated_at RETURNING ${COLUMNS}`,
      )
      .raw(true)
      .get(kind, name, JSON.stringify(config), nowMicros) as Row;
    return toRecord(row);
  }

  async get(kind: NamespaceKind, name: string): Promise<NamespaceRecord | undefined> {
    const row = this.sql
      .stmt(`SELECT ${COLUMNS} FROM namespaces WHERE kind = ? AND name = ?`)
      .raw(true)
      .get(kind, name) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  async list(kind: NamespaceKind): Promise<NamespaceRecord[]> {
    const rows = this.sql
      .stmt(`SELECT ${COLUMNS} FROM namespaces WHERE kind = ? ORDER BY name`)
      .raw(true)
      .all(kind) as Row[];
    return rows.map(toRecord);
  }

  async delete(kind: NamespaceKind, name: string): Promise<boolean> {
    return this.sql.stmt('DELETE FROM namespaces WHERE kind = ? AND name = ?').run(kind, name).changes > 0;
  }

  /** Settings are rows of kind {@link SETTING_KIND}, which no NamespaceKind lists. */
  async claimSetting(name: string, candidate: string): Promise<string> {
    this.sql
      .stmt(`INSERT INTO namespaces (${COLUMNS}) VALUES (?, ?, ?, 1, 0) ON CONFLICT (kind, name) DO NOTHING`)
      .run(SETTING_KIND, name, JSON.stringify({ value: candidate }));
    const row = this.sql.stmt('SELECT config FROM namespaces WHERE kind = ? AND name = ?').raw(true).get(SETTING_KIND, name) as [string];
    return (JSON.parse(row[0]) as { value: string }).value;
  }
}
