/**
 * Compiles a SearchExpr to an SQL boolean expression over `index_docs d`: one EXISTS
 * subquery per leaf into `index_fields` (a primary-key lookup by doc_id and key), composed
 * with AND/OR/NOT; and a string `equals` (alone or in an AND) to walks of its posting rows
 * (compilePostings). Mirrors memory/search-eval.ts; the conformance suite keeps them equal.
 */
import type { RangeBound, SearchExpr } from '../contracts.js';
import { classOfValue, textTokens, type ValueClass } from '../index-text.js';
import { FIELD_TOKEN, FIELD_VALUE } from './schema.js';

/** SQL text and its positional parameters. */
export interface CompiledSql {
  sql: string;
  params: unknown[];
}

const TYPES_OF_CLASS: Record<ValueClass, string> = {
  string: "('KEYWORD','TEXT')",
  number: "('INTEGER','LONG','DOUBLE','DATE')",
  boolean: "('BOOLEAN')",
};

const FIELD = (cond: string): string =>
  `EXISTS (SELECT 1 FROM index_fields f WHERE f.doc_id = d.doc_id AND f.key = ? AND ${cond})`;

function bind(value: string | number | boolean): string | number {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

function equalsSql(key: string, value: string | number | boolean, params: unknown[]): string {
  const cls = classOfValue(value);
  if (cls !== 'string') {
    params.push(key, bind(value));
    return FIELD(`f.kind = ${FIELD_VALUE} AND f.type IN ${TYPES_OF_CLASS[cls]} AND f.num = ?`);
  }
  // KEYWORD: the whole value; TEXT: every query token among the field's tokens. One lookup
  // of the field's value row decides which applies (a field has one value row per
  // document): a document without a match costs one primary-key seek, not one per branch
  // (issue 9: most documents a search walks do not match).
  params.push(key, value);
  const tokens: string[] = [];
  for (const token of textTokens(String(value))) {
    params.push(key, token);
    tokens.push(`EXISTS (SELECT 1 FROM index_fields t WHERE t.doc_id = d.doc_id AND t.key = ? AND t.kind = ${FIELD_TOKEN} AND t.txt = ?)`);
  }
  const text = tokens.length > 0 ? `(f.type = 'TEXT' AND ${tokens.join(' AND ')})` : "f.type = 'TEXT'";
  return FIELD(`f.kind = ${FIELD_VALUE} AND ((f.type = 'KEYWORD' AND f.txt = ?) OR ${text})`);
}

function rangeSql(key: string, lower: RangeBound | undefined, upper: RangeBound | undefined, params: unknown[]): string {
  const bounds = [lower, upper].filter((b): b is RangeBound => b !== undefined);
  if (bounds.length === 0) {
    params.push(key);
    return FIELD(`f.kind = ${FIELD_VALUE}`);
  }
  const cls = classOfValue(bounds[0]!.value);
  if (bounds.some((b) => classOfValue(b.value) !== cls)) return '0';
  const column = cls === 'string' ? 'f.txt' : 'f.num';
  const conds = [`f.kind = ${FIELD_VALUE}`, `f.type IN ${TYPES_OF_CLASS[cls]}`];
  const values: unknown[] = [];
  if (lower) {
    conds.push(`${column} ${lower.inclusive ? '>=' : '>'} ?`);
    values.push(bind(lower.value));
  }
  if (upper) {
    conds.push(`${column} ${upper.inclusive ? '<=' : '<'} ?`);
    values.push(bind(upper.value));
  }
  params.push(key, ...values);
  return FIELD(conds.join(' AND '));
}

function compileInto(expr: SearchExpr, params: unknown[]): string {
  if ('equals' in expr) return equalsSql(expr.equals.key, expr.equals.value, params);
  if ('range' in expr) return rangeSql(expr.range.key, expr.range.lower, expr.range.upper, params);
  if ('and' in expr) {
    return expr.and.length === 0 ? '1' : `(${expr.and.map((e) => compileInto(e, params)).join(' AND ')})`;
  }
  if ('or' in expr) {
    return expr.or.length === 0 ? '0' : `(${expr.or.map((e) => compileInto(e, params)).join(' OR ')})`;
  }
  if ('not' in expr) return `(NOT ${compileInto(expr.not, params)})`;
  return '1';
}

/** The SQL condition matching `expr` for the document row aliased `d`. */
export function compileSearch(expr: SearchExpr): CompiledSql {
  const params: unknown[] = [];
  const sql = compileInto(expr, params);
  return { sql, params };
}

/**
 * One walk of `index_fields_posting`: the field rows `(key, kind, txt)` of a namespace in
 * search order, kept when `sql` holds (a condition on the row `f` and its document `d`).
 */
export interface PostingWalk {
  key: string;
  kind: number;
  txt: string;
  sql: string;
  params: unknown[];
}

/** The walks whose rows are exactly the documents matching a string `equals` (see equalsSql). */
function equalsWalks(key: string, value: string): PostingWalk[] | undefined {
  const tokens = textTokens(value);
  // A query without tokens matches every TEXT value of the key: no txt to walk by.
  if (tokens.length === 0) return undefined;
  const keyword: PostingWalk = { key, kind: FIELD_VALUE, txt: value, sql: "f.type = 'KEYWORD'", params: [] };
  // TEXT: walk the first token's rows (token rows exist only for TEXT fields), the others by primary key.
  const params: unknown[] = [];
  const others = tokens.slice(1).map((token) => {
    params.push(key, token);
    return ` AND EXISTS (SELECT 1 FROM index_fields t WHERE t.doc_id = f.doc_id AND t.key = ? AND t.kind = ${FIELD_TOKEN} AND t.txt = ?)`;
  });
  const text: PostingWalk = { key, kind: FIELD_TOKEN, txt: tokens[0]!, sql: `f.type = 'TEXT'${others.join('')}`, params };
  // A document has one value row per key, KEYWORD or TEXT: the two walks never meet.
  return [keyword, text];
}

/**
 * The posting walks whose union is exactly the documents matching `expr`, when `expr` is a
 * string `equals` or an `and` holding one (the other conjuncts become conditions on `d`):
 * such a search reads only its matches, newest first, instead of every document of the
 * interval (issue 9). Undefined for any other query (the caller walks the documents).
 */
export function compilePostings(expr: SearchExpr): PostingWalk[] | undefined {
  const isStringEquals = (e: SearchExpr): e is Extract<SearchExpr, { equals: unknown }> =>
    'equals' in e && typeof e.equals.value === 'string' && textTokens(e.equals.value).length > 0;
  if (isStringEquals(expr)) return equalsWalks(expr.equals.key, expr.equals.value as string);
  if (!('and' in expr)) return undefined;
  const at = expr.and.findIndex(isStringEquals);
  if (at < 0) return undefined;
  const lead = expr.and[at] as Extract<SearchExpr, { equals: unknown }>;
  const rest = expr.and.filter((_, n) => n !== at);
  return equalsWalks(lead.equals.key, lead.equals.value as string)?.map((walk) => {
    if (rest.length === 0) return walk;
    const params = [...walk.params];
    const sql = `${walk.sql} AND ${compileInto({ and: rest }, params)}`;
    return { ...walk, sql, params };
  });
}
