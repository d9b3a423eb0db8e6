/**
 * Page tokens are signed (issue 12, item 5): a token verifies only under the secret that
 * issued it; a forged or altered token, or one from another secret, is INVALID_ARGUMENT
 * naming pageToken; a token of another query is refused; and a verified token is parsed,
 * not cast (a signed body of the wrong shape is refused too).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { isDgwError } from '../../src/kernel/errors.js';
import { PageTokens, type PageState } from '../../src/core/timeseries/page-token.js';

const SECRET = 'a-test-secret-of-enough-bytes';
const state: PageState = { query: 'fp1', returned: 100, after: { eventTimeMicros: 1_700_000_000_000_000, eventId: 'e-9' } };

function refused(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => isDgwError(err) && err.code === 'INVALID_ARGUMENT' && err.message.startsWith('pageToken:') && reason.test(err.message));
}

/** A token as an attacker who knew the format but not the secret would make it. */
function forge(body: object, key = 'guessed-secret-guessed-secret'): string {
  const b = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${b}.${createHmac('sha256', key).update(b).digest().subarray(0, 16).toString('base64url')}`;
}

describe('PageTokens', () => {
  const tokens = new PageTokens(SECRET);

  it('round-trips a page state under the same secret, also in another instance', () => {
    const token = tokens.encode(state);
    assert.deepEqual(tokens.decode(token, 'fp1'), state);
    assert.deepEqual(new PageTokens(SECRET).decode(token, 'fp1'), state, 'a restarted or other instance with the secret');
  });

  it('refuses a token from another secret, a forged one and an altered one', () => {
    const token = tokens.encode(state);
    refused(() => new PageTokens('another-secret-of-enough-bytes').decode(token, 'fp1'), /not a token issued/);
    refused(() => tokens.decode(forge({ ...state, returned: 0 }), 'fp1'), /not a token issued/);
    const [body, mac] = token.split('.') as [string, string];
    const altered = Buffer.from(JSON.stringify({ ...state, returned: 0 })).toString('base64url');
    refused(() => tokens.decode(`${altered}.${mac}`, 'fp1'), /not a token issued/);
    refused(() => tokens.decode(`${body}.${mac.slice(0, -2)}`, 'fp1'), /not a token issued/);
    refused(() => tokens.decode('garbage', 'fp1'), /not a token issued/);
    refused(() => tokens.decode('x'.repeat(5000), 'fp1'), /too long/);
  });

  it('refuses a token of another query', () => {
    refused(() => tokens.decode(tokens.encode(state), 'fp2'), /different query/);
  });

  it('parses a verified body instead of casting it', () => {
    refused(() => tokens.decode(forge({ query: 'fp1', returned: 'lots' }, SECRET), 'fp1'), /not a token issued/);
    refused(() => tokens.decode(forge({ query: 'fp1', returned: 1, after: { eventTimeMicros: 1.5, eventId: 'e' } }, SECRET), 'fp1'), /not a token issued/);
    assert.deepEqual(tokens.decode(forge({ query: 'fp1', returned: 1, below: 7 }, SECRET), 'fp1'), { query: 'fp1', returned: 1, below: 7 });
  });

  it('refuses a secret shorter than 16 bytes', () => {
    assert.throws(() => new PageTokens('short'), (err: unknown) => isDgwError(err) && err.message.startsWith('pageTokenSecret:'));
  });
});
