/**
 * The cached timestamp parser and formatter (issue 9, hot path of writes and reads) give
 * what the full parser and the plain toISOString formatter give, on every input: seeded
 * valid timestamps of every shape, the same with one character changed, dropped or added,
 * and each twice (the second time from the cache).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../support/dgw-load.js';
import { formatTimestampMicros, formatTimestampUncached, parseTimestampMicros, parseTimestampSlow } from '../../src/kernel/time.js';

/** Seeded generator (mulberry32), so a failure replays. */
const rng = prng;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

describe('parseTimestampMicros (cached) agrees with the full parser', () => {
  it('on 40,000 seeded valid, near-valid and mutated timestamps, twice each', () => {
    const r = rng(42);
    const int = (n: number) => Math.floor(r() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const CHARS = '0123456789:-.TtZz+ x';
    let fast = 0;
    for (let k = 0; k < 10_000; k++) {
      // Mostly plausible fields, sometimes out of range (month 13, day 31 in a short month, hour 24, second 60/61).
      const year = pick([int(10_000), 1970, 2026, 0, 99, 2000, 1900]);
      const month = 1 + int(r() < 0.05 ? 13 : 12);
      const day = 1 + int(r() < 0.1 ? 31 : 28);
      const hour = int(r() < 0.05 ? 25 : 24);
      const minute = int(r() < 0.05 ? 61 : 60);
      const second = int(r() < 0.1 ? 62 : 60);
      const digits = int(11); // 0 = no fraction; 10 = one too many
      const frac = digits === 0 ? '' : `.${Array.from({ length: digits }, () => int(10)).join('')}`;
      const zone = pick(['Z', 'z', 'Z', '+01:00', '-05:30', '+00:00', '+24:00']);
      const base = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${pick(['T', 't'])}${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${frac}${zone}`;
      const i = int(base.length);
      const c = pick([...CHARS]);
      const variants = [base, base.slice(0, i) + c + base.slice(i + 1), base.slice(0, i) + base.slice(i + 1), base.slice(0, i) + c + base.slice(i)];
      for (const text of variants) {
        const expected = parseTimestampSlow(text);
        assert.equal(parseTimestampMicros(text), expected, text);
        assert.equal(parseTimestampMicros(text), expected, `${text} (cached)`);
        if (expected !== undefined && /[Zz]$/.test(text)) fast++;
      }
    }
    assert.ok(fast > 5000, `only ${fast} valid UTC inputs`);
  });

  it('known values', () => {
    assert.equal(parseTimestampMicros('1970-01-01T00:00:00Z'), 0);
    assert.equal(parseTimestampMicros('2026-12-02T01:04:05.123456789Z'), Date.UTC(2026, 11, 2, 1, 4, 5, 123) * 1000 + 456);
    assert.equal(parseTimestampMicros('2016-12-31T23:59:60Z'), Date.UTC(2016, 11, 31, 23, 59, 59) * 1000);
    assert.equal(parseTimestampMicros('2026-02-29T00:00:00Z'), undefined);
    assert.equal(parseTimestampMicros('2026-12-02T01:04:05.Z'), undefined);
    assert.equal(parseTimestampMicros('2026-12-02T01:04:61Z'), undefined);
  });
});

describe('formatTimestampMicros (cached) agrees with toISOString', () => {
  it('on 200,000 seeded times, near and far', () => {
    const r = rng(7);
    const now = Date.UTC(2026, 11, 2) * 1000;
    for (let k = 0; k < 200_000; k++) {
      const kind = k % 5;
      const micros =
        kind === 0
          ? now + Math.floor((r() - 0.5) * 7_200_000_000) // two hours around now
          : kind === 1
            ? Math.floor((r() - 0.5) * 2 * 8.64e18) // anywhere a Date reaches
            : kind === 2
              ? Math.floor((r() - 0.5) * 2 * 62_135_596_800_000_000) // years 0000-3939
              : kind === 3
                ? Math.floor((r() - 0.5) * 120_000_000) // around 1970 (negative too)
                : now + Math.floor(r() * 1000) * 1000; // whole milliseconds
      assert.equal(formatTimestampMicros(micros), formatTimestampUncached(micros), String(micros));
    }
  });

  it('at the edges of the Date range and on fractions, as before (throws alike)', () => {
    for (const micros of [8.64e18, -8.64e18, 8.64e18 + 999, 8.64e18 + 1000, -8.64e18 - 1, 0.5, 1_700_000_000_000_000.25, -0.5, Number.NaN]) {
      let expected: string | Error;
      try {
        expected = formatTimestampUncached(micros);
      } catch (err) {
        expected = err as Error;
      }
      if (typeof expected === 'string') assert.equal(formatTimestampMicros(micros), expected, String(micros));
      else assert.throws(() => formatTimestampMicros(micros), RangeError, String(micros));
    }
  });
});
