/**
 * The Cassandra session every part of the adapter shares: prepared statements at the
 * configured consistency, unlogged single-partition batches, idempotent reads marked for
 * speculative execution, and schema changes that wait for (and check) schema agreement.
 * Token-aware routing comes from the driver's default load-balancing policy, which routes
 * a prepared statement to a replica of its partition key.
 */
import cassandra from 'cassandra-driver';
import { DgwError } from '../../kernel/errors.js';

/** One bound statement of a batch. */
export interface BoundStatement {
  query: string;
  params: unknown[];
}

/** Per-call options of {@link CassandraDb.execute}. */
export interface ExecuteOptions {
  /** Safe to run twice: enables speculative execution and retries on another host. */
  idempotent?: boolean;
  /** Page size; with `pageState`, resumes a paged read. */
  fetchSize?: number;
  pageState?: string;
  /** Serial consistency for a lightweight transaction (`IF ...`) of this call. */
  serial?: 'SERIAL' | 'LOCAL_SERIAL';
}

const CONSISTENCY: Readonly<Record<string, number>> = {
  ONE: cassandra.types.consistencies.one,
  LOCAL_ONE: cassandra.types.consistencies.localOne,
  QUORUM: cassandra.types.consistencies.quorum,
  LOCAL_QUORUM: cassandra.types.consistencies.localQuorum,
  EACH_QUORUM: cassandra.types.consistencies.eachQuorum,
  ALL: cassandra.types.consistencies.all,
  SERIAL: cassandra.types.consistencies.serial,
  LOCAL_SERIAL: cassandra.types.consistencies.localSerial,
};

/** Consistency level names accepted in configuration. */
export const CONSISTENCY_NAMES = Object.keys(CONSISTENCY);

/** The driver's consistency code for a configured name (INVALID_ARGUMENT when unknown). */
export function consistencyCode(name: string, field: string): number {
  const code = CONSISTENCY[name];
  if (code === undefined) {
    throw new DgwError('INVALID_ARGUMENT', `${field}: "${name}" is not one of ${CONSISTENCY_NAMES.join(', ')}`);
  }
  return code;
}

/** A keyspace-bound session over one driver client. */
export class CassandraDb {
  constructor(
    readonly client: cassandra.Client,
    readonly keyspace: string,
    private readonly consistency: number,
    private readonly serialConsistency: number,
  ) {}

  /** `keyspace.table`, both names already validated. */
  table(name: string): string {
    return `${this.keyspace}.${name}`;
  }

  /** Runs a prepared statement at the configured consistency. */
  execute(query: string, params: unknown[], options: ExecuteOptions = {}): Promise<cassandra.types.ResultSet> {
    return this.client.execute(query, params, {
      prepare: true,
      consistency: this.consistency,
      serialConsistency: options.serial ? consistencyOf(options.serial) : this.serialConsistency,
      isIdempotent: options.idempotent ?? false,
      ...(options.fetchSize === undefined ? {} : { fetchSize: options.fetchSize }),
      ...(options.pageState === undefined ? {} : { pageState: options.pageState }),
    });
  }

  /**
   * An UNLOGGED batch: callers put one partition's statements in it, so it is atomic and
   * isolated on that partition without the batch log's extra round trips.
   */
  async batch(statements: readonly BoundStatement[], idempotent: boolean): Promise<void> {
    if (statements.length === 0) return;
    if (statements.length === 1) {
      await this.execute(statements[0]!.query, statements[0]!.params, { idempotent });
      return;
    }
    await this.client.batch(statements as BoundStatement[], {
      prepare: true,
      logged: false,
      consistency: this.consistency,
      isIdempotent: idempotent,
    });
  }

  /**
   * Runs one schema change (CREATE/DROP) and waits for every live node to agree on the new
   * schema. Disagreement after the driver's wait is reported as UNAVAILABLE naming the
   * versions seen: writing to a table some nodes do not know would fail on those nodes.
   */
  async schemaChange(cql: string): Promise<void> {
    const rs = await this.client.execute(cql, [], { isIdempotent: true });
    if ((rs.info as { isSchemaInAgreement?: boolean }).isSchemaInAgreement === false) await this.requireSchemaAgreement(`after "${cql.slice(0, 80)}"`);
  }

  /** Throws UNAVAILABLE (with the versions each node reports) unless the live nodes agree. */
  async requireSchemaAgreement(when: string): Promise<void> {
    if (await this.schemaAgrees()) return;
    const versions = await this.schemaVersions();
    throw new DgwError('UNAVAILABLE', `cassandra schema disagreement ${when}: ${versions}`, {
      details: [{ reason: 'SCHEMA_DISAGREEMENT' }],
    });
  }

  /** Whether every live node reports the same schema version (false when it cannot tell). */
  schemaAgrees(): Promise<boolean> {
    // Typed loosely in the driver's .d.ts; documented in its API as returning a Promise<boolean>.
    return (this.client.metadata as unknown as { checkSchemaAgreement(): Promise<boolean> }).checkSchemaAgreement();
  }

  /** `host=version` for the local node and its peers, for reports. */
  async schemaVersions(): Promise<string> {
    const local = await this.client.execute('SELECT schema_version FROM system.local', [], { isIdempotent: true });
    const peers = await this.client.execute('SELECT peer, schema_version FROM system.peers', [], { isIdempotent: true });
    const coordinator = local.info.queriedHost;
    const parts = [`${String(coordinator)}=${String(local.first()?.get('schema_version'))}`];
    for (const row of peers.rows) parts.push(`${String(row.get('peer'))}=${String(row.get('schema_version'))}`);
    return parts.join(', ');
  }

  /**
   * Runs `work` (statements on `table`); when it fails in a way that may mean the table is
   * gone, checks the schema: gone → {@link TableMissingError}; there → retries until the
   * statements work, for at most {@link TABLE_SETTLE_MS}. A table another instance has
   * just created can be in `system_schema` while statements on it still get "table ...
   * does not exist" (seen on one node: Cassandra 5.0 writes the schema tables before it
   * merges them into the schema it checks statements against, and a prepare begun earlier
   * may still be answered): test/integration/cassandra-new-table.cassandra.test.ts, 2-4
   * tries 20-60 ms apart. Still failing after that: UNAVAILABLE (retryable), never the
   * driver's raw error (INTERNAL).
   */
  async onTable<T>(table: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!maybeMissingTable(err)) throw err;
      if (!(await this.tableExists(table))) throw new TableMissingError(table, err);
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (again) {
          if (!maybeMissingTable(again)) throw again;
          if (performance.now() - started >= TABLE_SETTLE_MS) {
            throw new DgwError('UNAVAILABLE', `cassandra table ${this.keyspace}.${table} is in the schema but the node still refuses statements on it after ${TABLE_SETTLE_MS} ms; retry`, {
              cause: again,
            });
          }
          await new Promise((r) => setTimeout(r, Math.min(20 * attempt, 200)));
        }
      }
    }
  }

  /** Whether a table of this keyspace exists, from the driver's schema metadata. */
  async tableExists(name: string): Promise<boolean> {
    const rs = await this.client.execute(
      'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
      [this.keyspace, name],
      { prepare: true, consistency: cassandra.types.consistencies.one, isIdempotent: true },
    );
    return rs.rowLength > 0;
  }
}

function consistencyOf(serial: 'SERIAL' | 'LOCAL_SERIAL'): number {
  return serial === 'SERIAL' ? cassandra.types.consistencies.serial : cassandra.types.consistencies.localSerial;
}

/** Thrown by {@link CassandraDb.onTable} when the table is gone (dropped or never made). */
export class TableMissingError extends Error {
  constructor(readonly table: string, cause: unknown) {
    super(`table ${table} does not exist`, { cause });
    this.name = 'TableMissingError';
  }
}

const UNPREPARED = 0x2500;

/** How long {@link CassandraDb.onTable} waits for a table in the schema to take statements. */
export const TABLE_SETTLE_MS = 3000;

/**
 * Whether a driver error may mean that the table is gone: Cassandra's "unconfigured table",
 * or, for a statement prepared before a DROP TABLE, "prepared query not found" on every
 * host (the driver's re-prepare fails), or "Unknown CF <table id>" (a statement still bound
 * to the id of a table dropped and made again under the same name; seen as 500 INTERNAL on
 * rollups of a re-created counter namespace). Callers confirm with the schema before concluding.
 */
function maybeMissingTable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; innerErrors?: Record<string, unknown> } | null;
  if (typeof e?.message === 'string' && /unconfigured table|table .* does not exist|unknown table|Unknown CF /i.test(e.message)) return true;
  if (e?.code === UNPREPARED) return true;
  const inner = e?.innerErrors ? Object.values(e.innerErrors) : [];
  return inner.length > 0 && inner.every(maybeMissingTable);
}
