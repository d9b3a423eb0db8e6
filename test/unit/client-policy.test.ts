/**
 * The SDK's pure pieces: backoff with full jitter never below Retry-After, Retry-After in
 * both forms, and the wire codec (bigint, bytes, times) round trips.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallRunner } from '../../src/client/call-runner.js';
import { decodeBytes, decodeInt64, encodeBytes, encodeInt64, encodeTime } from '../../src/client/codec.js';
import { DgwClientError } from '../../src/client/errors.js';
import { retryAfterMs } from '../../src/client/http-transport.js';

describe('client retry policy', () => {
  it('backs off exponentially with full jitter, capped, never below Retry-After', () => {
    let r = 0.999_999;
    const runner = new CallRunner({ baseUrls: ['http://x'], backoff: { initialMs: 50, maxMs: 2000, multiplier: 2 }, random: () => r });
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => runner.backoffMs(n, undefined)), [49, 99, 199, 399, 799, 1599, 1999]);
    r = 0;
    assert.equal(runner.backoffMs(3, undefined), 0);
    assert.equal(runner.backoffMs(3, 1500), 1500);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    assert.equal(retryAfterMs('2', now), 2000);
    assert.equal(retryAfterMs('0.5', now), 500);
    assert.equal(retryAfterMs(new Date(now + 3000).toUTCString(), now), 3000);
    assert.equal(retryAfterMs(null, now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
  });

  it('refuses an empty instance list', () => {
    assert.throws(() => new CallRunner({ baseUrls: [], backoff: { initialMs: 1, maxMs: 1, multiplier: 2 } }), DgwClientError);
  });
});

describe('client codec', () => {
  it('keeps int64 exact and refuses unsafe numbers', () => {
    assert.equal(encodeInt64(2n ** 63n - 1n, 'delta'), '9223372036854775807');
    assert.equal(decodeInt64('-9223372036854775808', 'count'), -(2n ** 63n));
    assert.throws(() => encodeInt64(2 ** 53, 'delta'), /delta: .* not a safe integer/);
  });

  it('round-trips bytes through base64, strings as UTF-8', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(decodeBytes(encodeBytes(all)), all);
    assert.equal(encodeBytes('é'), 'w6k=');
    const big = new Uint8Array(100_000).fill(7);
    assert.deepEqual(decodeBytes(encodeBytes(big)), big);
  });

  it('sends Dates as RFC 3339 and strings as written', () => {
    assert.equal(encodeTime(new Date(Date.UTC(2024, 9, 3, 21, 0, 0, 5))), '2024-10-03T21:00:00.005Z');
    assert.equal(encodeTime('2024-10-03T21:00:00.000001Z'), '2024-10-03T21:00:00.000001Z');
    assert.throws(() => encodeTime(new Date(Number.NaN)), DgwClientError);
  });
});
