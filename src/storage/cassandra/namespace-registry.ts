/**
 * The Cassandra NamespaceRegistry: one partition per kind, one row per namespace with the
 * canonical config as JSON text and a version. Versions only grow: every change is a
 * lightweight transaction conditioned on the version read (`IF version = ?`), retried on
 * contention, so two instances changing one namespace never both get the same version.
 * A deleted namespace stays as a tombstone row (`deleted = true`), as in the PostgreSQL
 * registry, so re-creating it continues its version sequence.
 */
import { DgwError } from '../../kernel/errors.js';
import type { NamespaceKind, NamespaceRecord, NamespaceRegistry } from '../contracts.js';
import type { CassandraDb } from './database.js';
import { NAMESPACES_TABLE } from './schema.js';

const COLUMNS = 'kind, name, config, version, updated_at_micros, deleted';
/** `kind` of a server-wide setting (not a NamespaceKind: never listed). */
const SETTING_KIND = 'setting';
const ATTEMPTS = 20;

interface Stored {
  record: NamespaceRecord;
  deleted: boolean;
}

/** NamespaceRegistry on Cassandra; see the file header. */
export class CassandraNamespaceRegistry implements NamespaceRegistry {
  constructor(private readonly db: CassandraDb) {}

  private get table(): string {
    return this.db.table(NAMESPACES_TABLE);
  }

  private async read(kind: NamespaceKind, name: string): Promise<Stored | undefined> {
    const rs = await this.db.execute(`SELECT ${COLUMNS} FROM ${this.table} WHERE kind = ? AND name = ?`, [kind, name], { idempotent: true });
    const r = rs.first();
    return r ? toStored(r) : undefined;
  }

  async put(kind: NamespaceKind, name: string, config: Record<string, unknown>, nowMicros: number): Promise<NamespaceRecord> {
    const json = JSON.stringify(config);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.read(kind, name);
      const version = (current?.record.version ?? 0) + 1;
      const rs = current
        ? await this.db.execute(
            `UPDATE ${this.table} SET config = ?, version = ?, updated_at_micros = ?, deleted = false WHERE kind = ? AND name = ? IF version = ?`,
            [json, BigInt(version), BigInt(nowMicros), kind, name, BigInt(current.record.version)],
          )
        : await this.db.execute(
            `INSERT INTO ${this.table} (kind, name, config, version, updated_at_micros, deleted) VALUES (?, ?, ?, 1, ?, false) IF NOT EXISTS`,
            [kind, name, json, BigInt(nowMicros)],
          );
      if (rs.first()?.get('[applied]') === true) return { kind, name, config, version, updatedAtMicros: nowMicros };
    }
    throw new DgwError('UNAVAILABLE', `namespace ${kind}/${name}: too many concurrent changes, try again`);
  }

  async get(kind: NamespaceKind, name: string): Promise<NamespaceRecord | undefined> {
    const stored = await this.read(kind, name);
    return stored && !stored.deleted ? stored.record : undefined;
  }

  async list(kind: NamespaceKind): Promise<NamespaceRecord[]> {
    const rs = await this.db.execute(`SELECT ${COLUMNS} FROM ${this.table} WHERE kind = ?`, [kind], { idempotent: true });
    // Clustering order is UTF-8 byte order; the contract orders by name (code units).
    return rs.rows
      .map(toStored)
      .filter((s) => !s.deleted)
      .map((s) => s.record)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(kind: NamespaceKind, name: string): Promise<boolean> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.read(kind, name);
      if (!current || current.deleted) return false;
      const rs = await this.db.execute(
        `UPDATE ${this.table} SET deleted = true, version = ? WHERE kind = ? AND name = ? IF version = ?`,
        [BigInt(current.record.version + 1), kind, name, BigInt(current.record.version)],
      );
      if (rs.first()?.get('[applied]') === true) return true;
    }
    throw new DgwError('UNAVAILABLE', `namespace ${kind}/${name}: too many concurrent changes, try again`);
  }

  /** A lightweight transaction: the first claim wins; a losing one reads the winner's value back. */
  async claimSetting(name: string, candidate: string): Promise<string> {
    const rs = await this.db.execute(
      `INSERT INTO ${this.table} (kind, name, config, version, updated_at_micros, deleted) VALUES (?, ?, ?, 1, 0, false) IF NOT EXISTS`,
      [SETTING_KIND, name, JSON.stringify({ value: candidate })],
    );
    const row = rs.first();
    if (!row || row.get('[applied]') === true) return candidate;
    return (JSON.parse(row.get('config') as string) as { value: string }).value;
  }
}

function toStored(r: { get(column: string): unknown }): Stored {
  return {
    deleted: r.get('deleted') === true,
    record: {
      kind: r.get('kind') as NamespaceKind,
      name: r.get('name') as string,
      config: JSON.parse(r.get('config') as string) as Record<string, unknown>,
      version: Number(r.get('version')),
      updatedAtMicros: Number(r.get('updated_at_micros')),
    },
  };
}
