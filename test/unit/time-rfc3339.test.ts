/**
 * RFC 3339 parsing of years 0000-0099 (issue 14 hardening): Date.UTC reads a two-digit
 * year as 19xx, so "0050-..." used to parse as 1950. Expected values are computed from
 * the proleptic Gregorian day count, independently of Date.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestampMicros, parseTimestampMicros } from '../../src/kernel/time.js';

/** Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

describe('RFC 3339 years 0000-0099', () => {
  it('parse as written, not as 19xx', () => {
    for (const [text, y, m, d] of [
      ['0000-01-01T00:00:00Z', 0, 1, 1],
      ['0001-02-03T00:00:00Z', 1, 2, 3],
      ['0050-06-15T00:00:00Z', 50, 6, 15],
      ['0099-12-31T00:00:00Z', 99, 12, 31],
      ['0100-03-01T00:00:00Z', 100, 3, 1],
      ['1999-12-31T00:00:00Z', 1999, 12, 31],
    ] as const) {
      assert.equal(parseTimestampMicros(text), daysFromCivil(y, m, d) * 86_400_000_000, text);
    }
  });

  it('keeps time of day, fraction and offset; leap days of the first century are checked', () => {
    const base = daysFromCivil(4, 2, 29) * 86_400_000_000;
    assert.equal(parseTimestampMicros('0004-02-29T01:02:03.000004+01:00'), base + (2 * 60 + 3) * 1_000_000 + 4);
    assert.equal(parseTimestampMicros('0003-02-29T00:00:00Z'), undefined);
    assert.equal(parseTimestampMicros('0000-02-29T00:00:00Z'), daysFromCivil(0, 2, 29) * 86_400_000_000);
  });

  // Epoch microseconds are exact doubles only within about 285 years of 1970, so these
  // far-past round trips are checked to the millisecond.
  it('round-trips through formatTimestampMicros', () => {
    for (const text of ['0000-01-01T00:00:00.000Z', '0042-07-04T12:34:56.789Z', '0099-12-31T23:59:59.999Z']) {
      assert.equal(formatTimestampMicros(parseTimestampMicros(text)!), text);
    }
  });
});
