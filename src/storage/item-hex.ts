/**
 * Encoded items columns (item-codec.ts) read as upper-case hex text (issue 9), decoded
 * without a Buffer per blob: into items with small byte arrays, or straight into the packed
 * form of domain/packed-events.ts. Shared by the SQLite store (`hex()`) and the PostgreSQL
 * one (`encode(…, 'hex')`, upper-cased).
 */
import type { EventItem } from './contracts.js';
import { decodeItems } from './item-codec.js';
import { ITEM_SEPARATOR, KEY_SEPARATOR } from '../domain/packed-events.js';

/** Nibble of each upper-case hex digit (SQLite's hex() writes upper case). */
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) NIBBLE[65 + i] = 10 + i;

/** Byte `i` of hex text `hex`. */
function byteAt(hex: string, i: number): number {
  return (NIBBLE[hex.charCodeAt(2 * i)]! << 4) | NIBBLE[hex.charCodeAt(2 * i + 1)]!;
}

/** Bytes `[from, from + length)` of hex text as a new array. */
export function bytesAt(hex: string, from: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = byteAt(hex, from + i);
  return out;
}

/** Little-endian u32 at byte `i` of hex text. */
function u32At(hex: string, i: number): number {
  return (byteAt(hex, i) | (byteAt(hex, i + 1) << 8) | (byteAt(hex, i + 2) << 16) | (byteAt(hex, i + 3) << 24)) >>> 0;
}

/** UTF-8 text of bytes `[from, from + length)` of hex text: ASCII here, anything else by Buffer. */
function textAt(hex: string, from: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    const b = byteAt(hex, from + i);
    if (b >= 0x80) return Buffer.from(hex.slice(2 * from, 2 * (from + length)), 'hex').toString('utf8');
    text += String.fromCharCode(b);
  }
  return text;
}

/**
 * The items of an encoded items column (item-codec.ts) read as hex text, or as a Buffer: the
 * same items {@link decodeItems} gives for the blob, values as their own small arrays.
 */
export function itemsOf(value: string | Buffer): EventItem[] {
  if (typeof value !== 'string') return decodeItems(value);
  const count = u32At(value, 0);
  const items: EventItem[] = [];
  let at = 4;
  for (let n = 0; n < count; n++) {
    const keyLength = u32At(value, at);
    at += 4;
    const key = textAt(value, at, keyLength);
    at += keyLength;
    const valueLength = u32At(value, at);
    at += 4;
    items.push({ key, value: bytesAt(value, at, valueLength) });
    at += valueLength;
  }
  return items;
}

/**
 * The items of an encoded items column read as hex (`hex(items)`), in the packed form of
 * domain/packed-events.ts: per item its key as a JSON string literal, KEY_SEPARATOR and
 * the value's hex as SQLite wrote it; items joined by ITEM_SEPARATOR. No byte array per
 * value: the answer is written from the hex (issue 9).
 */
export function packedItemsOf(hex: string): string {
  const count = u32At(hex, 0);
  let out = '';
  let at = 4;
  for (let n = 0; n < count; n++) {
    const keyLength = u32At(hex, at);
    at += 4;
    const key = textAt(hex, at, keyLength);
    at += keyLength;
    const valueLength = u32At(hex, at);
    at += 4;
    if (n > 0) out += ITEM_SEPARATOR;
    out += `${JSON.stringify(key)}${KEY_SEPARATOR}${hex.slice(2 * at, 2 * (at + valueLength))}`;
    at += valueLength;
  }
  return out;
}
