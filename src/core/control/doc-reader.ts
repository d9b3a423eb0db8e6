/**
 * Reading namespace documents: a small typed view over a parsed JSON object that knows
 * the field path of every value (for error messages), accepts several spellings of one
 * setting, and reports keys nobody asked for as notices (so a typo is visible, not silent).
 * Shared by the TimeSeries and Counter document parsers.
 */
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { invalidArgument } from '../../kernel/errors.js';
import { formatDurationMicros, parseDurationMicros } from '../../kernel/time.js';

/** Inclusive bounds of a numeric setting. */
export interface Range {
  min: number;
  max: number;
}

/** A value found under one of a setting's spellings. */
export interface Found {
  /** The key as spelled in the document. */
  key: string;
  value: unknown;
  /** Full field path, e.g. `persistence_configuration[0].config.acceptLimit`. */
  path: string;
}

/** Joins a field path and a key or index: `a.b`, `a[0]`, `a["tags.nf.app"]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base === '' ? key : `${base}.${key}`;
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of a value for error messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * One JSON object of a namespace document. Every `find` marks the spellings it looked at
 * as known; {@link DocSection.finish} turns the remaining keys into "ignored" notices.
 * `null` counts as absent (proto3 JSON mapping).
 */
export class DocSection {
  private readonly used = new Set<string>();

  private constructor(
    readonly path: string,
    private readonly obj: Record<string, unknown>,
    private readonly notices: string[],
  ) {}

  /** Views `value` as an object at `path`; INVALID_ARGUMENT when it is not one. */
  static of(value: unknown, path: string, notices: string[]): DocSection {
    if (!isPlainObject(value)) throw invalidArgument(path, `expected an object, got ${show(value)}`);
    return new DocSection(path, value, notices);
  }

  /**
   * The value under any of `keys` (alternative spellings of one setting). Two spellings
   * with different values are an INVALID_ARGUMENT; equal ones are fine.
   */
  find(keys: readonly string[]): Found | undefined {
    let found: Found | undefined;
    for (const key of keys) {
      if (!Object.hasOwn(this.obj, key)) continue;
      this.used.add(key);
      const value = this.obj[key];
      if (value === null || value === undefined) continue;
      if (found === undefined) {
        found = { key, value, path: joinPath(this.path, key) };
      } else if (JSON.stringify(found.value) !== JSON.stringify(value)) {
        throw invalidArgument(joinPath(this.path, key), `conflicts with ${found.key} given in the same object`);
      }
    }
    return found;
  }

  /** The nested object under any of `keys`, or undefined when absent. */
  section(keys: readonly string[]): DocSection | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : DocSection.of(f.value, f.path, this.notices);
  }

  /** Views `value` (e.g. an array element) as an object sharing this section's notices. */
  child(value: unknown, path: string): DocSection {
    return DocSection.of(value, path, this.notices);
  }

  /** Marks keys as known without reading them (settings dgw accepts and ignores). */
  accept(keys: readonly string[]): void {
    for (const key of keys) this.used.add(key);
  }

  /** The keys present in this object, in document order. */
  keys(): string[] {
    return Object.keys(this.obj);
  }

  /** Adds a notice (prefixed with nothing; callers say where). */
  notice(text: string): void {
    this.notices.push(text);
  }

  /** A non-empty string setting. */
  string(keys: readonly string[]): string | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : readString(f);
  }

  /** An integer setting: a JSON number or a decimal string ("4"). */
  integer(keys: readonly string[], range: Range): number | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : readInteger(f, range);
  }

  /** A whole number of seconds: a number, a numeric string, or a duration ("1d", "3600s"). */
  seconds(keys: readonly string[], range: Range): number | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : readSeconds(f, range);
  }

  /** A duration in microseconds; bare numbers are read in `bareUnit`. */
  duration(keys: readonly string[], range: Range, bareUnit: 's' | 'ms' = 's'): number | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : readDuration(f, range, bareUnit);
  }

  /** A byte size: an integer, a numeric string, or "4MiB" / "512KiB" / "1GiB". */
  bytes(keys: readonly string[], range: Range): number | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : readBytes(f, range);
  }

  /** One of `values`, matched case-insensitively, returned upper-cased. */
  enumeration<T extends string>(keys: readonly string[], values: readonly T[], what = 'value'): T | undefined {
    const f = this.find(keys);
    return f === undefined ? undefined : readEnum(f, values, what);
  }

  /** Reports every key nobody read as an ignored setting. */
  finish(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.used.has(key)) this.notices.push(`${joinPath(this.path, key)}: unknown setting ignored`);
    }
  }
}

/** Reads a non-empty string. */
export function readString(f: Found): string {
  if (typeof f.value !== 'string') throw invalidArgument(f.path, `expected a string, got ${show(f.value)}`);
  const text = f.value.trim();
  if (text === '') throw invalidArgument(f.path, 'must not be empty');
  return text;
}

/** Reads an integer given as a number or a decimal string, within `range`. */
export function readInteger(f: Found, range: Range): number {
  let n: number | undefined;
  if (typeof f.value === 'number') n = f.value;
  else if (typeof f.value === 'string' && /^\s*-?\d+\s*$/.test(f.value)) n = Number(f.value);
  if (n === undefined || !Number.isSafeInteger(n)) {
    throw invalidArgument(f.path, `expected an integer (number or numeric string), got ${show(f.value)}`);
  }
  return inRange(f, n, range, String);
}

/** Reads whole seconds: a number, numeric string or duration string. */
export function readSeconds(f: Found, range: Range): number {
  const micros = parseDurationMicros(f.value, 's');
  if (micros === undefined || micros % MICROS_PER_SECOND !== 0) {
    throw invalidArgument(f.path, `expected a whole number of seconds such as 3600 or "1h", got ${show(f.value)}`);
  }
  return inRange(f, micros / MICROS_PER_SECOND, range, String);
}

/** Reads a duration in microseconds, within `range` (microseconds). */
export function readDuration(f: Found, range: Range, bareUnit: 's' | 'ms'): number {
  const micros = parseDurationMicros(f.value, bareUnit);
  if (micros === undefined) {
    const bare = bareUnit === 's' ? 'seconds' : 'milliseconds';
    throw invalidArgument(f.path, `expected a duration such as "5s" or "1500ms", or a number of ${bare}; got ${show(f.value)}`);
  }
  return inRange(f, micros, range, formatDurationMicros);
}

const BYTE_UNITS: Record<string, number> = { b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 };

/** Reads a byte size within `range`. */
export function readBytes(f: Found, range: Range): number {
  let n: number | undefined;
  if (typeof f.value === 'number') n = f.value;
  else if (typeof f.value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(f.value);
    const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase() || 'b'];
    if (m && unit !== undefined) n = Math.round(Number(m[1]) * unit);
  }
  if (n === undefined || !Number.isSafeInteger(n)) {
    throw invalidArgument(f.path, `expected a size in bytes such as 4194304 or "4MiB", got ${show(f.value)}`);
  }
  return inRange(f, n, range, String);
}

/** Reads one of `values`, case-insensitively. */
export function readEnum<T extends string>(f: Found, values: readonly T[], what: string): T {
  if (typeof f.value === 'string') {
    const upper = f.value.trim().toUpperCase();
    const hit = values.find((v) => v === upper);
    if (hit !== undefined) return hit;
    throw invalidArgument(f.path, `unknown ${what} ${JSON.stringify(f.value)} (expected one of ${values.join(', ')})`);
  }
  throw invalidArgument(f.path, `expected a string (one of ${values.join(', ')}), got ${show(f.value)}`);
}

function inRange(f: Found, n: number, range: Range, fmt: (n: number) => string): number {
  if (n < range.min || n > range.max) {
    throw invalidArgument(f.path, `must be between ${fmt(range.min)} and ${fmt(range.max)}, got ${fmt(n)}`);
  }
  return n;
}
