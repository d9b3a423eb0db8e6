/**
 * Compact binary encoding of an event's items for the index stores' `items` column
 * (SQLite and PostgreSQL):
 * `u32 count`, then per item `u32 keyBytes, key (UTF-8), u32 valueBytes, value`. Cheaper
 * than JSON with base64 and exact for any bytes.
 */
import type { EventItem } from './contracts.js';

/** Encodes items into one buffer. */
export function encodeItems(items: readonly EventItem[]): Buffer {
  const keys = items.map((i) => Buffer.from(i.key, 'utf8'));
  let size = 4;
  items.forEach((item, n) => {
    size += 8 + keys[n]!.length + item.value.length;
  });
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32LE(items.length, 0);
  items.forEach((item, n) => {
    const key = keys[n]!;
    at = out.writeUInt32LE(key.length, at);
    at += key.copy(out, at);
    at = out.writeUInt32LE(item.value.length, at);
    out.set(item.value, at);
    at += item.value.length;
  });
  return out;
}

/** Decodes what {@link encodeItems} produced; values are views into `buf`. */
export function decodeItems(buf: Buffer): EventItem[] {
  const count = buf.readUInt32LE(0);
  const items: EventItem[] = [];
  let at = 4;
  for (let n = 0; n < count; n++) {
    const keyLength = buf.readUInt32LE(at);
    at += 4;
    const key = buf.toString('utf8', at, at + keyLength);
    at += keyLength;
    const valueLength = buf.readUInt32LE(at);
    at += 4;
    items.push({ key, value: new Uint8Array(buf.buffer, buf.byteOffset + at, valueLength) });
    at += valueLength;
  }
  return items;
}
