/**
 * String order by Unicode code point, which is UTF-8 byte order: the order of SQLite's
 * BINARY collation, PostgreSQL's `COLLATE "C"` and Cassandra's `text`. JavaScript's `<`
 * compares UTF-16 code units instead, and the two disagree when an astral character (a
 * surrogate pair, first unit 0xD800–0xDBFF) meets one of U+E000–U+FFFF: code units put the
 * astral one first, code points after. Every merge of store-ordered rows in JavaScript
 * compares with this, so that a cursor it hands back to a store means the same position
 * there (a merge in code-unit order skipped events when paging; read-merged.sqlite.test.ts).
 */

/** Negative, zero or positive as `a` sorts before, with or after `b` in code point order. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    // Only a surrogate against U+E000–U+FFFF orders differently by code point.
    if (xSurrogate !== ySurrogate && (xSurrogate ? y : x) >= 0xe000) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
