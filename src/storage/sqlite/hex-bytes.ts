/**
 * Short blobs read as hex text (issue 9). better-sqlite3 returns every BLOB as a new Node
 * Buffer made in C++ (an external backing store and a finalizer each): about 1 µs per row,
 * half the cost of a page of 100 events, and garbage the collector must finalize. Hex text
 * comes back as a plain V8 string, and decoding it here into a small Uint8Array (kept on
 * the V8 heap) costs a few tens of nanoseconds. Long blobs still come back as Buffers, where
 * hex would double the bytes to copy and decode.
 */
import { bytesAt } from '../item-hex.js';

export { itemsOf, packedItemsOf } from '../item-hex.js';

/** Blobs up to this many bytes come back as hex (V8 keeps typed arrays up to 64 bytes on its heap). */
export const HEX_MAX_BYTES = 64;

/**
 * SQL for `column` read as hex text when at most `maxBytes` long, as the blob otherwise;
 * decode the result with {@link bytesOf} (or {@link itemsOf} for an encoded items column).
 */
export function shortHexSql(column: string, maxBytes = HEX_MAX_BYTES): string {
  return `CASE WHEN length(${column}) <= ${maxBytes} THEN hex(${column}) ELSE ${column} END`;
}

/** The bytes of a {@link shortHexSql} column: hex text decoded, a Buffer viewed as is. */
export function bytesOf(value: string | Buffer): Uint8Array {
  if (typeof value !== 'string') return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return bytesAt(value, 0, value.length >> 1);
}
