/**
 * Typed index values (DESIGN 2, 3.4): an indexed field's bytes are the UTF-8 text of its
 * typed value ("42", "true", "2024-10-02T00:00:00.000Z"); this module reads them.
 */
import type { EventRecord } from '../../domain/events.js';
import type { FieldType, IndexField, IndexedValue } from '../../domain/search.js';
import { parseTimestampMicros } from '../../kernel/time.js';

const INTEGER = /^[+-]?\d+$/;
const INT32_MAX = 2 ** 31 - 1;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses the text of a typed value; undefined when it is not a valid value of `type`. */
export function parseIndexedText(type: FieldType, text: string): IndexedValue | undefined {
  switch (type) {
    case 'KEYWORD':
    case 'TEXT':
      return text;
    case 'INTEGER':
    case 'LONG': {
      if (!INTEGER.test(text.trim())) return undefined;
      const n = Number(text);
      if (!Number.isFinite(n)) return undefined;
      if (type === 'INTEGER' && (n > INT32_MAX || n < -INT32_MAX - 1)) return undefined;
      return n;
    }
    case 'DOUBLE': {
      if (text.trim() === '') return undefined;
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'BOOLEAN':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'DATE':
      return parseTimestampMicros(text);
  }
}

/** Decodes bytes as strict UTF-8; undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** An item whose bytes do not parse as its field's declared type. */
export interface IndexTypeError {
  itemIndex: number;
  key: string;
  type: FieldType;
  /** What is wrong when the value parses but cannot be stored (a NUL in KEYWORD/TEXT). */
  problem?: string;
}

/**
 * The indexed fields of an event under `fieldMapping`; items not mapped are not indexed.
 * Returns the first item that does not parse as its declared type instead, if any.
 */
export function extractIndexFields(
  fieldMapping: Readonly<Record<string, FieldType>>,
  event: EventRecord,
): { fields: IndexField[] } | { error: IndexTypeError } {
  const fields: IndexField[] = [];
  for (let i = 0; i < event.items.length; i++) {
    const item = event.items[i]!;
    const type = fieldMapping[item.key];
    if (!type) continue;
    const text = decodeUtf8(item.value);
    const value = text === undefined ? undefined : parseIndexedText(type, text);
    if (value === undefined) return { error: { itemIndex: i, key: item.key, type } };
    // Index stores keep KEYWORD/TEXT values as SQL text, which cannot hold NUL.
    if (typeof value === 'string' && value.includes('\u0000')) {
      return {
        error: { itemIndex: i, key: item.key, type, problem: `indexed ${type} field "${item.key}" must not contain a NUL character` },
      };
    }
    fields.push({ key: item.key, type, value });
  }
  return { fields };
}
