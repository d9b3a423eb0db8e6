/**
 * Timestamp and duration codecs for the wire (DESIGN 2): RFC 3339 strings keeping up to
 * microsecond precision, and durations such as "5s", "1500ms", "10m" or plain seconds.
 */
import { MICROS_PER_SECOND } from './clock.js';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Epoch milliseconds of the minute `YYYY-MM-DDTHH:MM` (the first 16 characters of a
 * timestamp), or NaN when that is not a valid date and time; bounded (cleared when full).
 */
const minuteMillis = new Map<string, number>();
const MINUTE_CACHE_SIZE = 4096;

/** Two ASCII digits at `i` as a number, or NaN. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : Number.NaN;
}

/**
 * Parses an RFC 3339 timestamp to epoch microseconds; undefined when malformed.
 *
 * Hot path (issue 9: every event of a write, every time of a read request): a UTC
 * timestamp (`Z`) takes its minute from a cache of minutes already parsed, and only its
 * seconds and fraction are read here; anything else (offsets, a minute not seen yet)
 * goes through the full parser, which the fast path agrees with on every input.
 */
export function parseTimestampMicros(text: string): number | undefined {
  const n = text.length;
  const last = text.charCodeAt(n - 1);
  if (n >= 20 && (last === 90 || last === 122) /* Z z */ && text.charCodeAt(16) === 58 /* : */) {
    const key = text.slice(0, 16);
    let minute = minuteMillis.get(key);
    if (minute === undefined) {
      minute = parseFull(`${key}:00Z`)?.ms ?? Number.NaN;
      if (minuteMillis.size >= MINUTE_CACHE_SIZE) minuteMillis.clear();
      minuteMillis.set(key, minute);
    }
    const second = twoDigits(text, 17);
    if (Number.isNaN(minute) || !(second <= 60)) return parseTimestampSlow(text);
    // After the seconds: nothing, or '.' and 1 to 9 digits (of which the first 6 count).
    let micros = 0;
    if (n > 20) {
      if (text.charCodeAt(19) !== 46 /* . */ || n < 22 || n > 30) return parseTimestampSlow(text);
      for (let i = 20, scale = 100_000; i < n - 1; i++, scale /= 10) {
        const d = text.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return parseTimestampSlow(text);
        if (scale >= 1) micros += d * scale;
      }
    }
    // A leap second (60) is read as 59, as the full parser does.
    return (minute + Math.min(second, 59) * 1000) * 1000 + micros;
  }
  return parseTimestampSlow(text);
}

/**
 * The full RFC 3339 parser (any offset, every check), without the cache: the reference
 * {@link parseTimestampMicros} agrees with (exported for its test).
 */
export function parseTimestampSlow(text: string): number | undefined {
  const r = parseFull(text);
  return r === undefined ? undefined : r.ms * 1000 + r.micros;
}

/** Epoch milliseconds (whole) and the microseconds below them; undefined when malformed. */
function parseFull(text: string): { ms: number; micros: number } | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  let ms = utcMillis(year, month, day, hour, minute, Math.min(second, 59));
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 23 || zm > 59) return undefined;
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  const micros = frac ? Number((frac + '000000').slice(0, 6)) : 0;
  return { ms, micros };
}

/**
 * Date.UTC without its two-digit-year trap: Date.UTC(50, ...) means 1950, so years
 * 0000-0099 are set with setUTCFullYear, which takes the year as written.
 */
function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** The largest epoch milliseconds a Date holds (ECMAScript time range). */
const MAX_DATE_MS = 8.64e15;

/** {@link formatTimestampMicros} without the cache: the reference it agrees with (exported for its test). */
export function formatTimestampUncached(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const sub = micros - ms * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (sub === 0) return iso;
  return `${iso.slice(0, -1)}${String(sub).padStart(3, '0')}Z`;
}

/** Direct-mapped cache of minute prefixes (`YYYY-MM-DDTHH:MM:`), by minute number. */
const FORMAT_SLOTS = 256;
const formatMinute = new Float64Array(FORMAT_SLOTS).fill(Number.NaN);
const formatPrefix: string[] = new Array<string>(FORMAT_SLOTS).fill('');

/** 000 to 999 as three digits. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** 00 to 59 as two digits. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * Formats epoch microseconds as RFC 3339 UTC, with 3 or 6 fractional digits as needed:
 * the text of `new Date(ms).toISOString()`, plus 3 digits of microseconds when there are
 * any. Hot path (every event of a read page): the minute's prefix is cached, the seconds
 * and fraction are appended from tables.
 */
export function formatTimestampMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const sub = micros - ms * 1000;
  // Outside Date's range, beyond 2^53 (where `sub` is not 0-999) or with a fraction of a
  // microsecond: as it always was (the first throws).
  if (!(ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS) || !(sub >= 0 && sub < 1000 && Number.isInteger(sub))) return formatTimestampUncached(micros);
  const minute = Math.floor(ms / 60_000);
  const slot = minute & (FORMAT_SLOTS - 1);
  let prefix: string;
  if (formatMinute[slot] === minute) prefix = formatPrefix[slot]!;
  else {
    const iso = new Date(minute * 60_000).toISOString(); // …THH:MM:00.000Z (throws out of range, as before)
    prefix = iso.slice(0, -7);
    formatMinute[slot] = minute;
    formatPrefix[slot] = prefix;
  }
  const inMinute = ms - minute * 60_000; // 0 … 59,999
  const second = Math.floor(inMinute / 1000);
  const head = `${prefix}${TWO_DIGITS[second]!}.${THREE_DIGITS[inMinute - second * 1000]!}`;
  return sub === 0 ? `${head}Z` : `${head}${THREE_DIGITS[sub]!}Z`;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h|d)?$/;
const UNIT_MICROS: Record<string, number> = {
  us: 1,
  µs: 1,
  ms: 1000,
  s: MICROS_PER_SECOND,
  m: 60 * MICROS_PER_SECOND,
  h: 3600 * MICROS_PER_SECOND,
  d: 86400 * MICROS_PER_SECOND,
};

/**
 * Parses a duration to microseconds. Accepts "5s", "1500ms", "10m", "2h", "7d", and a
 * bare number or numeric string, read in `bareUnit` (seconds unless told otherwise).
 * Returns undefined when malformed or negative.
 */
export function parseDurationMicros(value: unknown, bareUnit: 's' | 'ms' = 's'): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    return Math.round(value * (UNIT_MICROS[bareUnit] ?? 1));
  }
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? bareUnit;
  return Math.round(n * (UNIT_MICROS[unit] ?? 1));
}

/** Formats microseconds as a compact duration string ("5s", "250ms", "12us"). */
export function formatDurationMicros(micros: number): string {
  if (micros % MICROS_PER_SECOND === 0) return `${micros / MICROS_PER_SECOND}s`;
  if (micros % 1000 === 0) return `${micros / 1000}ms`;
  return `${micros}us`;
}
