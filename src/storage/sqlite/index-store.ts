/**
 * The SQLite IndexStore (DESIGN 3.4): `index_docs` holds each indexed event with its items
 * (binary, see item-codec.ts) in search order; `index_fields` holds one value row per field
 * (canonical text and number) plus one token row per distinct token of TEXT fields, each
 * with its document's namespace, time and ids, which `index_fields_posting` orders for a
 * string equals to walk (schema v5, issue 9). Each document also keeps its event's wire
 * JSON text (schema v6), the packed search's answer per row.
 */
import type {
  DistinctValue,
  EventRecord,
  IndexDistinct,
  IndexDoc,
  IndexSearch,
  IndexStore,
} from '../contracts.js';
import { canonicalIndexText, textTokens } from '../index-text.js';
import { encodeItems } from '../item-codec.js';
import { emptyJoinedJson, eventJson, type JoinedEventJson } from '../../domain/event-json.js';
import { itemsOf, shortHexSql } from './hex-bytes.js';
import { packedSearch } from './packed-reads.js';
import type { SqliteReaderPool } from './reader-pool.js';
import { FIELD_TOKEN, FIELD_VALUE } from './schema.js';
import { compilePostings, compileSearch, type CompiledSql } from './search-sql.js';
import type { SqliteDatabase } from './database.js';

type SearchRow = [string, number, string, string | Buffer];

/** Encoded items up to this size come back as hex (hex-bytes.ts: no Buffer per found event). */
const ITEMS_HEX_MAX_BYTES = 256;

/**
 * Namespace, interval and cursor conditions on the row aliased `t` (`d`, a document, or
 * `f`, a posting row: both carry the document's namespace, time and ids), with their parameters.
 */
function scope(nsId: number, s: Omit<IndexSearch, 'limit'>, t = 'd'): { sql: string; params: unknown[] } {
  let hi = s.toMicros - 1;
  const params: unknown[] = [nsId, s.fromMicros];
  let sql = `${t}.namespace_id = ? AND ${t}.event_time >= ? AND ${t}.event_time <= ?`;
  if (s.after) {
    const a = s.after;
    hi = Math.min(hi, a.eventTimeMicros);
    sql +=
      ` AND (${t}.event_time < ? OR ${t}.time_series_id > ? OR (${t}.time_series_id = ? AND ${t}.event_id > ?))`;
    params.push(hi, a.eventTimeMicros, a.timeSeriesId, a.timeSeriesId, a.eventId);
  } else {
    params.push(hi);
  }
  return { sql, params };
}

/**
 * The statement of a search in namespace `nsId`: rows (time_series_id, event_time,
 * event_id, items as {@link shortHexSql}) in search order, at most `limit`; `packed`: each
 * row's first column is one text (see {@link PACKED_ROW}) and the other three order it
 * (read with `pluck`: only the text crosses into JS).
 */
export function searchSql(nsId: number, search: IndexSearch, packed = false): CompiledSql {
  // The LIMIT is written into the text (one statement per page size in use): bound, the
  // same search cost ~12 % more (micro, 100,000 documents, page of 101: 250-264 vs 218-230 µs).
  const limit = Math.floor(search.limit);
  const columns = (t: string) =>
    packed
      ? `${PACKED_ROW(t)} AS r, ${t}.time_series_id, ${t}.event_time, ${t}.event_id`
      : `${t}.time_series_id, ${t}.event_time, ${t}.event_id, ${shortHexSql('d.items', ITEMS_HEX_MAX_BYTES)}`;
  const walks = compilePostings(search.query);
  if (walks) {
    // A string equals: each walk reads its posting rows in search order from
    // index_fields_posting and their documents by rowid; the walks (KEYWORD, TEXT) are
    // merged by SQLite without a sort (EXPLAIN QUERY PLAN: MERGE (UNION ALL), no temp
    // B-tree). A page reads about `limit` rows, not every document up to the limit-th match.
    const where = scope(nsId, search, 'f');
    const arms = walks.map(
      (w) =>
        `SELECT ${columns('f')} FROM index_fields f CROSS JOIN index_docs d ` +
        `ON d.doc_id = f.doc_id WHERE ${where.sql} AND f.key = ? AND f.kind = ${w.kind} AND f.txt = ? AND ${w.sql}`,
    );
    return {
      sql: `${arms.join(' UNION ALL ')} ORDER BY ${packed ? '3 DESC, 2, 4' : '2 DESC, 1, 3'} LIMIT ${limit}`,
      params: walks.flatMap((w) => [...where.params, w.key, w.txt, ...w.params]),
    };
  }
  const where = scope(nsId, search);
  const expr = compileSearch(search.query);
  return {
    sql:
      `SELECT ${columns('d')} FROM index_docs d WHERE ${where.sql} ` +
      `AND ${expr.sql} ORDER BY d.event_time DESC, d.time_series_id, d.event_id LIMIT ${limit}`,
    params: [...where.params, ...expr.params],
  };
}

/**
 * A found event as one text (issue 9): the document's stored wire JSON (`d.json`, schema
 * v6, starts with `{`), or for a document indexed before v6 (`d.json` NULL) its columns as
 * `json_quote(series) U+001F time U+001F json_quote(id) U+001F hex(items)` (starts with
 * `"`), which packed-reads.ts `packedSearch` turns into the same JSON. A page of documents indexed
 * since v6 costs SQLite no function call per row and JS no work per event but the join.
 */
const PACKED_ROW = (t: string) =>
  `coalesce(d.json, json_quote(${t}.time_series_id) || char(31) || ${t}.event_time || char(31) || ` +
  `json_quote(${t}.event_id) || char(31) || hex(d.items))`;

/** An IndexStore on a SqliteDatabase. */
export class SqliteIndexStore implements IndexStore {
  /** @param readers the reader threads that run packed searches; without them they run inline. */
  constructor(
    private readonly sql: SqliteDatabase,
    private readonly readers?: SqliteReaderPool,
  ) {}

  async indexEvents(docs: readonly IndexDoc[]): Promise<void> {
    this.indexNow(docs);
  }

  /** {@link indexEvents}, synchronously; inside a caller's transaction it joins that commit. */
  indexNow(docs: readonly IndexDoc[]): void {
    if (docs.length === 0) return;
    const ids = docs.map((d) => this.sql.namespaceId(d.namespace, true));
    const insertDoc = this.sql.stmt(
      'INSERT OR IGNORE INTO index_docs (namespace_id, event_time, time_series_id, event_id, items, json) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertField = this.sql.stmt(
      'INSERT OR IGNORE INTO index_fields (doc_id, key, kind, type, num, txt, namespace_id, event_time, time_series_id, event_id) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.sql.transaction(() => {
      docs.forEach((d, n) => {
        const e = d.event;
        const result = insertDoc.run(ids[n], e.eventTimeMicros, e.timeSeriesId, e.eventId, encodeItems(e.items), eventJson(e));
        if (result.changes === 0) return; // already indexed: first write wins
        const docId = result.lastInsertRowid;
        const ns = ids[n];
        const seen = new Set<string>();
        for (const f of d.fields) {
          if (seen.has(f.key)) continue;
          seen.add(f.key);
          const num = typeof f.value === 'boolean' ? (f.value ? 1 : 0) : typeof f.value === 'number' ? f.value : null;
          const text = canonicalIndexText(f.type, f.value);
          insertField.run(docId, f.key, FIELD_VALUE, f.type, num, text, ns, e.eventTimeMicros, e.timeSeriesId, e.eventId);
          if (f.type === 'TEXT') {
            for (const token of textTokens(String(f.value))) {
              insertField.run(docId, f.key, FIELD_TOKEN, f.type, null, token, ns, e.eventTimeMicros, e.timeSeriesId, e.eventId);
            }
          }
        }
      });
    });
  }

  async search(search: IndexSearch): Promise<EventRecord[]> {
    const nsId = this.sql.namespaceId(search.namespace, false);
    if (nsId === undefined || search.limit < 1 || search.toMicros <= search.fromMicros) return [];
    const { sql, params } = searchSql(nsId, search);
    const rows = this.sql.stmt(sql).raw(true).all(...params) as SearchRow[];
    return rows.map(([timeSeriesId, eventTimeMicros, eventId, items]) => ({
      timeSeriesId,
      eventTimeMicros,
      eventId,
      items: itemsOf(items),
    }));
  }

  /** The events of {@link search} as their wire JSON texts, joined: the same statement, each row its document's stored text. */
  async searchJson(search: IndexSearch): Promise<JoinedEventJson> {
    const nsId = this.sql.namespaceId(search.namespace, false);
    if (nsId === undefined || search.limit < 1 || search.toMicros <= search.fromMicros) return emptyJoinedJson();
    const statement = searchSql(nsId, search, true);
    // On a reader thread when there are some (file databases), else inline: the same function.
    return this.readers ? this.readers.search(statement) : packedSearch(this.sql, statement);
  }

  async distinct(d: IndexDistinct): Promise<DistinctValue[]> {
    const nsId = this.sql.namespaceId(d.namespace, false);
    if (nsId === undefined || d.limit < 1 || d.toMicros <= d.fromMicros) return [];
    const where = scope(nsId, d);
    const expr = compileSearch(d.query);
    const after = d.afterValue === undefined ? '' : 'AND v.txt > ? ';
    const rows = this.sql
      .stmt(
        'SELECT v.txt, COUNT(*) FROM index_docs d JOIN index_fields v ' +
          `ON v.doc_id = d.doc_id AND v.key = ? AND v.kind = ${FIELD_VALUE} WHERE ${where.sql} ${after}` +
          `AND ${expr.sql} GROUP BY v.txt ORDER BY v.txt LIMIT ?`,
      )
      .raw(true)
      .all(d.key, ...where.params, ...(d.afterValue === undefined ? [] : [d.afterValue]), ...expr.params, d.limit) as [
      string,
      number,
    ][];
    return rows.map(([text, count]) => ({ text, count }));
  }

  async count(search: Omit<IndexSearch, 'after' | 'limit'>): Promise<number> {
    const nsId = this.sql.namespaceId(search.namespace, false);
    if (nsId === undefined || search.toMicros <= search.fromMicros) return 0;
    const where = scope(nsId, search);
    const expr = compileSearch(search.query);
    const row = this.sql
      .stmt(`SELECT COUNT(*) FROM index_docs d WHERE ${where.sql} AND ${expr.sql}`)
      .raw(true)
      .get(...where.params, ...expr.params) as [number];
    return row[0];
  }

  async dropBefore(namespace: string, beforeMicros: number): Promise<void> {
    const nsId = this.sql.namespaceId(namespace, false);
    if (nsId === undefined) return;
    this.sql.transaction(() => {
      this.sql
        .stmt(
          'DELETE FROM index_fields WHERE doc_id IN ' +
            '(SELECT doc_id FROM index_docs WHERE namespace_id = ? AND event_time < ?)',
        )
        .run(nsId, beforeMicros);
      this.sql.stmt('DELETE FROM index_docs WHERE namespace_id = ? AND event_time < ?').run(nsId, beforeMicros);
    });
  }

  async dropNamespace(namespace: string): Promise<void> {
    const nsId = this.sql.namespaceId(namespace, false);
    if (nsId === undefined) return;
    this.sql.transaction(() => {
      this.sql
        .stmt('DELETE FROM index_fields WHERE doc_id IN (SELECT doc_id FROM index_docs WHERE namespace_id = ?)')
        .run(nsId);
      this.sql.stmt('DELETE FROM index_docs WHERE namespace_id = ?').run(nsId);
    });
  }
}
