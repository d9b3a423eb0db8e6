/**
 * Compiles a SearchExpr to a SQL condition over `index_docs d` (DESIGN 3.4). Each leaf is
 * an EXISTS over the document's `index_fields` rows, so a field an event lacks matches
 * neither `equals` nor `range`, and `not` of either matches it. A query value is compared
 * with fields of its own class only (strings with KEYWORD/TEXT, numbers with
 * INTEGER/LONG/DOUBLE/DATE, booleans with BOOLEAN), as `classOfValue` says.
 */
import { DgwError } from '../../kernel/errors.js';
import type { IndexedValue, RangeBound, SearchExpr } from '../contracts.js';
import { classOfValue, textTokens } from '../index-text.js';

const NUMERIC_TYPES = `('INTEGER', 'LONG', 'DOUBLE', 'DATE')`;

/** Accumulates positional parameters for one statement. */
export class Params {
  readonly values: unknown[] = [];

  constructor(initial: unknown[] = []) {
    this.values.push(...initial);
  }

  /** Adds a value; returns its placeholder (`$n`). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** How a value is stored in `index_fields.num` for numeric and boolean fields. */
export function numericValue(value: IndexedValue): number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

function exists(params: Params, key: string, condition: string): string {
  return `EXISTS (SELECT 1 FROM {fields} f WHERE f.doc_id = d.doc_id AND f.key = ${params.add(key)} AND ${condition})`;
}

function equals(params: Params, key: string, value: IndexedValue): string {
  switch (classOfValue(value)) {
    case 'string': {
      const text = String(value);
      const keyword = `(f.type = 'KEYWORD' AND f.txt = ${params.add(text)})`;
      const tokens = `(f.type = 'TEXT' AND f.tokens @> ${params.add(textTokens(text))}::text[])`;
      return exists(params, key, `(${keyword} OR ${tokens})`);
    }
    case 'boolean':
      return exists(params, key, `f.type = 'BOOLEAN' AND f.num = ${params.add(numericValue(value))}`);
    case 'number':
      return exists(params, key, `f.type IN ${NUMERIC_TYPES} AND f.num = ${params.add(numericValue(value))}::float8`);
  }
}

function bound(params: Params, b: RangeBound, lowerSide: boolean): string {
  const op = lowerSide ? (b.inclusive ? '>=' : '>') : b.inclusive ? '<=' : '<';
  switch (classOfValue(b.value)) {
    case 'string':
      // KEYWORD (and TEXT) compare as strings; the columns use COLLATE "C" (code order).
      return `f.type IN ('KEYWORD', 'TEXT') AND f.txt ${op} ${params.add(String(b.value))}`;
    case 'boolean':
      return `f.type = 'BOOLEAN' AND f.num ${op} ${params.add(numericValue(b.value))}::float8`;
    case 'number':
      return `f.type IN ${NUMERIC_TYPES} AND f.num ${op} ${params.add(numericValue(b.value))}::float8`;
  }
}

/**
 * The SQL condition of an expression, with its parameters appended to `params`. The text
 * contains `{fields}` where the qualified index_fields table must be substituted.
 */
export function compileSearch(expr: SearchExpr, params: Params, depth = 0): string {
  if (depth > 64) throw new DgwError('INVALID_ARGUMENT', 'query: boolean query nested deeper than 64 levels');
  if ('all' in expr) return 'TRUE';
  if ('equals' in expr) return equals(params, expr.equals.key, expr.equals.value);
  if ('range' in expr) {
    const { key, lower, upper } = expr.range;
    const parts = [lower && bound(params, lower, true), upper && bound(params, upper, false)].filter(
      (p): p is string => typeof p === 'string',
    );
    // A range without bounds: the field exists with any value.
    return exists(params, key, parts.length === 0 ? 'TRUE' : parts.map((p) => `(${p})`).join(' AND '));
  }
  if ('and' in expr) {
    if (expr.and.length === 0) return 'TRUE';
    return `(${expr.and.map((e) => compileSearch(e, params, depth + 1)).join(' AND ')})`;
  }
  if ('or' in expr) {
    if (expr.or.length === 0) return 'FALSE';
    return `(${expr.or.map((e) => compileSearch(e, params, depth + 1)).join(' OR ')})`;
  }
  if ('not' in expr) return `(NOT ${compileSearch(expr.not, params, depth + 1)})`;
  throw new DgwError('INVALID_ARGUMENT', 'query: unknown search expression');
}
