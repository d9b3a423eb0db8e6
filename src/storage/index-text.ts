/**
 * Canonical text of indexed values and TEXT tokenisation, shared by every index adapter so
 * that `equals`, `distinct` and paging by `afterValue` mean the same thing everywhere.
 */
import { formatTimestampMicros } from '../kernel/time.js';
import type { FieldType, IndexedValue } from './contracts.js';

/**
 * The canonical text of a typed value: KEYWORD/TEXT the string itself, INTEGER/LONG/DOUBLE
 * `String(n)`, BOOLEAN `'true'`/`'false'`, DATE the RFC 3339 form of its epoch micros.
 * This is the text `DistinctValue.text` carries and distinct results are ordered by.
 */
export function canonicalIndexText(type: FieldType, value: IndexedValue): string {
  switch (type) {
    case 'KEYWORD':
    case 'TEXT':
      return String(value);
    case 'INTEGER':
    case 'LONG':
    case 'DOUBLE':
      return String(value);
    case 'BOOLEAN':
      return value === true || value === 'true' ? 'true' : 'false';
    case 'DATE':
      return formatTimestampMicros(Number(value));
  }
}

const NON_ALNUM = /[^\p{L}\p{N}]+/u;

/**
 * Tokens of a TEXT value: lower-cased, split on runs of non-alphanumeric characters
 * (Unicode letters and digits count as alphanumeric), empty tokens removed, duplicates kept
 * once, in first-seen order.
 */
export function textTokens(text: string): string[] {
  const seen = new Set<string>();
  for (const token of text.toLowerCase().split(NON_ALNUM)) {
    if (token !== '') seen.add(token);
  }
  return [...seen];
}

/** The comparison class of a value: how a query value is matched against field types. */
export type ValueClass = 'string' | 'number' | 'boolean';

/** Comparison class of a field type (KEYWORD/TEXT strings; BOOLEAN; the rest numbers). */
export function classOfType(type: FieldType): ValueClass {
  if (type === 'KEYWORD' || type === 'TEXT') return 'string';
  if (type === 'BOOLEAN') return 'boolean';
  return 'number';
}

/** Comparison class of a query value. */
export function classOfValue(value: IndexedValue): ValueClass {
  return typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'boolean' : 'number';
}
