/**
 * Evaluates a SearchExpr against one document's fields, in process. Mirrors the SQL the
 * SQLite adapter compiles (sqlite/search-sql.ts); the conformance suite keeps them equal.
 */
import type { FieldType, IndexedValue, RangeBound, SearchExpr } from '../contracts.js';
import { classOfType, classOfValue, textTokens } from '../index-text.js';

/** A field as the evaluator sees it. */
export interface EvalField {
  type: FieldType;
  value: IndexedValue;
  /** TEXT fields only: the value's tokens. */
  tokens?: ReadonlySet<string>;
}

function compare(a: IndexedValue, b: IndexedValue): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return Number(a) - Number(b);
}

function withinBound(field: EvalField, bound: RangeBound | undefined, side: 'lower' | 'upper'): boolean {
  if (!bound) return true;
  if (classOfValue(bound.value) !== classOfType(field.type)) return false;
  const c = compare(field.value, bound.value);
  if (side === 'lower') return bound.inclusive ? c >= 0 : c > 0;
  return bound.inclusive ? c <= 0 : c < 0;
}

function equals(field: EvalField, value: IndexedValue): boolean {
  const cls = classOfValue(value);
  if (cls !== classOfType(field.type)) return false;
  if (field.type === 'TEXT') {
    const tokens = field.tokens ?? new Set(textTokens(String(field.value)));
    return textTokens(String(value)).every((t) => tokens.has(t));
  }
  if (cls === 'number') return Number(field.value) === value;
  return field.value === value;
}

/** Whether the document with these fields matches `expr` (SearchExpr semantics in contracts.ts). */
export function matches(expr: SearchExpr, fields: ReadonlyMap<string, EvalField>): boolean {
  if ('equals' in expr) {
    const field = fields.get(expr.equals.key);
    return field !== undefined && equals(field, expr.equals.value);
  }
  if ('range' in expr) {
    const field = fields.get(expr.range.key);
    return (
      field !== undefined &&
      withinBound(field, expr.range.lower, 'lower') &&
      withinBound(field, expr.range.upper, 'upper')
    );
  }
  if ('and' in expr) return expr.and.every((e) => matches(e, fields));
  if ('or' in expr) return expr.or.some((e) => matches(e, fields));
  if ('not' in expr) return !matches(expr.not, fields);
  return true;
}
