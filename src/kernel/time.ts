/**
 * Timestamp and duration codecs for the wire (DESIGN 2): RFC 3339 strings keeping up to
 * microsecond precision, and durations such as "5s", "1500ms", "10m" or plain seconds.
 */
import { MICROS_PER_SECOND } from './clock.js';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp to epoch microseconds; undefined when malformed. */
export function parseTimestampMicros(text: string): number | undefined {
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
  return ms * 1000 + micros;
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

/** Formats epoch microseconds as RFC 3339 UTC, with 3 or 6 fractional digits as needed. */
export function formatTimestampMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const sub = micros - ms * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (sub === 0) return iso;
  return `${iso.slice(0, -1)}${String(sub).padStart(3, '0')}Z`;
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
