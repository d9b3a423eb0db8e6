/**
 * PostgreSQL index store (DESIGN 3.4): one `index_docs` row per indexed event (identity,
 * items) and one `index_fields` row per extracted field (typed value, TEXT tokens,
 * canonical text). Searches compile to SQL (search-sql.ts); documents of all namespaces
 * share the tables, keyed by the namespace's numeric id.
 */
import type {
  DistinctValue,
  EventRecord,
  IndexDistinct,
  IndexDoc,
  IndexSearch,
  IndexStore,
  PackedSeriesEvents,
} from '../contracts.js';
import { emptyPackedSeries } from '../../domain/packed-events.js';
import { packedItemsOf } from '../item-hex.js';
import { canonicalIndexText, textTokens } from '../index-text.js';
import { decodeItems, encodeItems } from '../item-codec.js';
import type { PgDb, Sql } from './database.js';
import { compileSearch, numericValue, Params } from './search-sql.js';

interface DocRow {
  event_time: string;
  time_series_id: string;
  event_id: string;
  items: Buffer;
}

/** The IndexStore of the PostgreSQL adapter. */
export class PgIndexStore implements IndexStore {
  private readonly docs: string;
  private readonly fields: string;

  constructor(private readonly db: PgDb) {
    this.docs = db.table('index_docs');
    this.fields = db.table('index_fields');
  }

  async indexEvents(docs: readonly IndexDoc[]): Promise<void> {
    if (docs.length === 0) return;
    const write = await this.prepareIndex(docs);
    await this.db.transaction(write);
  }

  /**
   * Resolves the namespaces' ids (outside any transaction) and returns the statements that
   * index `docs` on a given connection: the event store runs them inside its own
   * transaction so events and index documents commit together.
   */
  async prepareIndex(docs: readonly IndexDoc[]): Promise<(sql: Sql) => Promise<void>> {
    const nsIds = new Map<string, number>();
    for (const doc of docs) {
      if (!nsIds.has(doc.namespace)) nsIds.set(doc.namespace, (await this.db.namespaceId(doc.namespace, true)) as number);
    }
    // First write wins, also within the batch.
    const byIdentity = new Map<string, IndexDoc>();
    for (const doc of docs) {
      const e = doc.event;
      const id = `${nsIds.get(doc.namespace)}\u0000${e.eventTimeMicros}\u0000${e.timeSeriesId}\u0000${e.eventId}`;
      if (!byIdentity.has(id)) byIdentity.set(id, doc);
    }
    const unique = [...byIdentity.entries()];
    return async (sql: Sql) => {
      const inserted = await sql.query<{ doc_id: string; ns_id: number; event_time: string; time_series_id: string; event_id: string }>(
        `INSERT INTO ${this.docs} (ns_id, event_time, time_series_id, event_id, items)
           SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[], $4::text[], $5::bytea[])
           ON CONFLICT DO NOTHING
           RETURNING doc_id, ns_id, event_time, time_series_id, event_id`,
        [
          unique.map(([, d]) => nsIds.get(d.namespace)),
          unique.map(([, d]) => d.event.eventTimeMicros),
          unique.map(([, d]) => d.event.timeSeriesId),
          unique.map(([, d]) => d.event.eventId),
          unique.map(([, d]) => encodeItems(d.event.items)),
        ],
        true,
      );
      const cols: [unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[]] = [[], [], [], [], [], [], []];
      for (const row of inserted.rows) {
        const doc = byIdentity.get(`${row.ns_id}\u0000${row.event_time}\u0000${row.time_series_id}\u0000${row.event_id}`);
        if (!doc) continue;
        for (const field of doc.fields) {
          const isString = field.type === 'KEYWORD' || field.type === 'TEXT';
          cols[0].push(row.doc_id);
          cols[1].push(field.key);
          cols[2].push(field.type);
          cols[3].push(isString ? String(field.value) : null);
          cols[4].push(isString ? null : numericValue(field.value));
          // Tokens are alphanumeric, so a space-joined string round-trips through string_to_array.
          cols[5].push(field.type === 'TEXT' ? textTokens(String(field.value)).join(' ') : null);
          cols[6].push(canonicalIndexText(field.type, field.value));
        }
      }
      if (cols[0].length === 0) return;
      await sql.query(
        `INSERT INTO ${this.fields} (doc_id, key, type, txt, num, tokens, canon)
           SELECT d, k, t, x, n, CASE WHEN tk IS NULL THEN NULL ELSE string_to_array(tk, ' ') END, c
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[])
               AS u(d, k, t, x, n, tk, c)`,
        cols,
        true,
      );
    };
  }

  async search(search: IndexSearch): Promise<EventRecord[]> {
    const nsId = await this.db.namespaceId(search.namespace, false);
    if (nsId === undefined || search.limit < 1) return [];
    const { text, values } = this.searchSql(nsId, search, 'd.items');
    const { rows } = await this.db.query<DocRow>(text, values);
    return rows.map((r) => ({
      timeSeriesId: r.time_series_id,
      eventTimeMicros: Number(r.event_time),
      eventId: r.event_id,
      items: decodeItems(r.items),
    }));
  }

  /**
   * {@link search} in packed form (domain/packed-events.ts, issue 9): the same statement in
   * array row mode with the items as hex text, packed without a Buffer per event or value.
   */
  async searchPacked(search: IndexSearch): Promise<PackedSeriesEvents> {
    const out = emptyPackedSeries();
    const nsId = await this.db.namespaceId(search.namespace, false);
    if (nsId === undefined || search.limit < 1) return out;
    const { text, values } = this.searchSql(nsId, search, "encode(d.items, 'hex')");
    for (const row of await this.db.rows(text, values, false)) {
      out.times.push(Number(row[0] as string));
      out.series.push(JSON.stringify(row[1] as string));
      out.ids.push(JSON.stringify(row[2] as string));
      out.items.push(packedItemsOf((row[3] as string).toUpperCase()));
    }
    return out;
  }

  /** The search statement: rows `event_time, time_series_id, event_id, <items>` in search order. */
  private searchSql(nsId: number, search: IndexSearch, items: string): { text: string; values: unknown[] } {
    const params = new Params([nsId, search.fromMicros, search.toMicros]);
    let cursor = '';
    if (search.after) {
      const t = params.add(search.after.eventTimeMicros);
      const s = params.add(search.after.timeSeriesId);
      const e = params.add(search.after.eventId);
      cursor = `AND (d.event_time < ${t} OR (d.event_time = ${t} AND (d.time_series_id, d.event_id) > (${s}, ${e})))`;
    }
    const where = this.where(compileSearch(search.query, params));
    const limit = params.add(search.limit);
    const text = `SELECT d.event_time, d.time_series_id, d.event_id, ${items} AS items FROM ${this.docs} d
        WHERE ${where} ${cursor}
        ORDER BY d.event_time DESC, d.time_series_id, d.event_id LIMIT ${limit}`;
    return { text, values: params.values };
  }

  async distinct(distinct: IndexDistinct): Promise<DistinctValue[]> {
    const nsId = await this.db.namespaceId(distinct.namespace, false);
    if (nsId === undefined || distinct.limit < 1) return [];
    const params = new Params([nsId, distinct.fromMicros, distinct.toMicros]);
    const key = params.add(distinct.key);
    const after = distinct.afterValue === undefined ? '' : `AND v.canon > ${params.add(distinct.afterValue)}`;
    const where = this.where(compileSearch(distinct.query, params));
    const limit = params.add(distinct.limit);
    const { rows } = await this.db.query<{ canon: string; n: string }>(
      `SELECT v.canon, count(DISTINCT d.doc_id) AS n
         FROM ${this.docs} d JOIN ${this.fields} v ON v.doc_id = d.doc_id AND v.key = ${key}
        WHERE ${where} ${after}
        GROUP BY v.canon ORDER BY v.canon LIMIT ${limit}`,
      params.values,
    );
    return rows.map((r) => ({ text: r.canon, count: Number(r.n) }));
  }

  async count(search: Omit<IndexSearch, 'after' | 'limit'>): Promise<number> {
    const nsId = await this.db.namespaceId(search.namespace, false);
    if (nsId === undefined) return 0;
    const params = new Params([nsId, search.fromMicros, search.toMicros]);
    const where = this.where(compileSearch(search.query, params));
    const { rows } = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.docs} d WHERE ${where}`, params.values);
    return Number(rows[0]?.n ?? 0);
  }

  async dropBefore(namespace: string, beforeMicros: number): Promise<void> {
    const nsId = await this.db.namespaceId(namespace, false);
    if (nsId === undefined) return;
    await this.db.query(`DELETE FROM ${this.docs} WHERE ns_id = $1 AND event_time < $2`, [nsId, beforeMicros]);
  }

  async dropNamespace(namespace: string): Promise<void> {
    const nsId = await this.db.namespaceId(namespace, false);
    if (nsId === undefined) return;
    await this.db.query(`DELETE FROM ${this.docs} WHERE ns_id = $1`, [nsId]);
  }

  /** The base condition ($1 namespace id, $2..$3 interval) and the compiled query. */
  private where(condition: string): string {
    return `d.ns_id = $1 AND d.event_time >= $2 AND d.event_time < $3 AND ${condition.replaceAll('{fields}', this.fields)}`;
  }
}
