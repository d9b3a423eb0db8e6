import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DgwError } from '../../src/kernel/errors.js';
import { formatInt64, INT64_MAX, INT64_MIN, isInt64, parseInt64 } from '../../src/core/counter/int64.js';

function refused(value: unknown, field = 'delta'): DgwError {
  try {
    parseInt64(value, field);
  } catch (err) {
    assert.ok(err instanceof DgwError);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.ok(err.message.startsWith(`${field}:`), err.message);
    assert.equal(err.details[0]?.field, field);
    return err;
  }
  assert.fail(`expected ${String(value)} to be refused`);
}

describe('parseInt64', () => {
  it('accepts safe-integer JSON numbers', () => {
    assert.equal(parseInt64(2, 'delta'), 2n);
    assert.equal(parseInt64(-7, 'delta'), -7n);
    assert.equal(parseInt64(0, 'delta'), 0n);
    assert.equal(parseInt64(-0, 'delta'), 0n);
    assert.equal(parseInt64(Number.MAX_SAFE_INTEGER, 'delta'), 9007199254740991n);
    assert.equal(parseInt64(Number.MIN_SAFE_INTEGER, 'delta'), -9007199254740991n);
  });

  it('accepts decimal strings across the whole int64 range without losing digits', () => {
    assert.equal(parseInt64('42', 'delta'), 42n);
    assert.equal(parseInt64('-42', 'delta'), -42n);
    assert.equal(parseInt64('007', 'delta'), 7n);
    assert.equal(parseInt64('9223372036854775807', 'delta'), INT64_MAX);
    assert.equal(parseInt64('-9223372036854775808', 'delta'), INT64_MIN);
    assert.equal(parseInt64('9007199254740993', 'delta'), 9007199254740993n);
  });

  it('accepts in-range bigints', () => {
    assert.equal(parseInt64(INT64_MAX, 'delta'), INT64_MAX);
  });

  it('refuses fractions, exponents and malformed strings', () => {
    refused(1.5);
    refused('1.5');
    refused('1e3');
    refused('1E3');
    refused('+1');
    refused(' 1');
    refused('1 ');
    refused('');
    refused('-');
    refused('0x10');
    refused('abc');
    refused('١٢'); // non-ASCII digits
  });

  it('refuses numbers that lost precision and non-finite numbers', () => {
    refused(2 ** 53);
    refused(1e20);
    refused(Number.NaN);
    refused(Number.POSITIVE_INFINITY);
  });

  it('refuses out-of-range values', () => {
    refused('9223372036854775808');
    refused('-9223372036854775809');
    refused('99999999999999999999999');
    refused(INT64_MAX + 1n);
  });

  it('refuses non-numbers and names the field', () => {
    refused(null, 'count');
    refused(undefined, 'count');
    refused(true, 'count');
    refused({}, 'count');
    refused([1], 'count');
    const err = refused('x', 'requests[2].delta');
    assert.match(err.message, /requests\[2\]\.delta/);
  });
});

describe('formatInt64 / isInt64', () => {
  it('round-trips the limits through decimal text', () => {
    assert.equal(formatInt64(INT64_MAX), '9223372036854775807');
    assert.equal(formatInt64(INT64_MIN), '-9223372036854775808');
    assert.equal(parseInt64(formatInt64(-123n), 'x'), -123n);
  });

  it('knows the range', () => {
    assert.ok(isInt64(INT64_MAX));
    assert.ok(isInt64(INT64_MIN));
    assert.ok(!isInt64(INT64_MAX + 1n));
    assert.ok(!isInt64(INT64_MIN - 1n));
  });
});
