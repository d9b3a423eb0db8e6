/**
 * Domain types of the secondary index (DESIGN 3.4): typed fields extracted from events
 * and the search predicates over them. Core and storage both speak them.
 */
import type { EventRecord } from './events.js';

/** Field types of `indexConfig.fieldMapping`. */
export type FieldType = 'KEYWORD' | 'TEXT' | 'INTEGER' | 'LONG' | 'DOUBLE' | 'BOOLEAN' | 'DATE';

/**
 * A typed indexed value. KEYWORD/TEXT: string; INTEGER/LONG/DOUBLE: number;
 * BOOLEAN: boolean; DATE: epoch microseconds (number).
 */
export type IndexedValue = string | number | boolean;

/** One field extracted from an event item into the index. */
export interface IndexField {
  key: string;
  type: FieldType;
  value: IndexedValue;
}

/** One event as indexed: its identity, its full items (returned by search) and fields. */
export interface IndexDoc {
  namespace: string;
  event: EventRecord;
  fields: IndexField[];
}

/** Bound of a range query. */
export interface RangeBound {
  value: IndexedValue;
  inclusive: boolean;
}

/**
 * A search predicate over an event's indexed fields.
 * - `equals`: the field has this value. For TEXT, every token of the query value (lower-cased,
 *   split on non-alphanumerics) is among the field's tokens.
 * - `range`: numeric/date comparison; KEYWORD compares as strings (code-unit order).
 * - `and`/`or`/`not`: boolean composition; `all`: matches every indexed event.
 * A field absent from an event matches neither `equals` nor `range` (and so does `not`).
 */
export type SearchExpr =
  | { equals: { key: string; value: IndexedValue } }
  | { range: { key: string; lower?: RangeBound; upper?: RangeBound } }
  | { and: SearchExpr[] }
  | { or: SearchExpr[] }
  | { not: SearchExpr }
  | { all: true };
