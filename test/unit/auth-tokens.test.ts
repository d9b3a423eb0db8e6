/**
 * Bearer tokens and scopes (DESIGN 7) without a server: hashes not plain text, missing /
 * malformed / unknown / expired tokens (UNAUTHENTICATED), scopes per namespace and
 * prefix (PERMISSION_DENIED), revocation by replacing the set, config errors naming the
 * field, the bind rule and the cross-site rule.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/kernel/clock.js';
import { DgwError } from '../../src/kernel/errors.js';
import { TokenStore, hashToken } from '../../src/server/auth/token-store.js';
import { checkBindPolicy, isLoopbackHost } from '../../src/server/auth/bind-policy.js';
import { checkCrossSite } from '../../src/server/auth/cross-site.js';
import { readSecuritySections, TokenFileWatcher } from '../../src/server/auth/config-file.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp-dir.js';

const T0 = Date.parse('2026-01-01T00:00:00Z') * 1000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DgwError ? err.code : 'not a DgwError';
  }
  return undefined;
}

function store(clock = new ManualClock(T0)) {
  return new TokenStore(clock, {
    tokens: [
      { name: 'root', sha256: hashToken('root-secret'), scopes: ['admin'] },
      { name: 'app', sha256: hashToken('app-secret'), scopes: ['write:app_*', 'read:shared'] },
      { name: 'short', sha256: hashToken('short-secret').toUpperCase(), scopes: ['read:*'], expiresAt: '2026-01-01T01:00:00Z' },
    ],
  });
}

describe('TokenStore', () => {
  it('refuses missing, malformed and unknown tokens with UNAUTHENTICATED', () => {
    const s = store();
    assert.equal(codeOf(() => s.authenticate(undefined)), 'UNAUTHENTICATED');
    assert.equal(codeOf(() => s.authenticate('')), 'UNAUTHENTICATED');
    assert.equal(codeOf(() => s.authenticate('Basic cm9vdDpyb290')), 'UNAUTHENTICATED');
    assert.equal(codeOf(() => s.authenticate('Bearer wrong')), 'UNAUTHENTICATED');
    assert.equal(codeOf(() => s.authenticate(`Bearer ${hashToken('root-secret')}`)), 'UNAUTHENTICATED', 'the hash is not the token');
    assert.equal(s.authenticate('Bearer root-secret').name, 'root');
    assert.equal(s.authenticate('bearer  app-secret').name, 'app', 'scheme is case-insensitive');
  });

  it('refuses a token from its expiry on', () => {
    const clock = new ManualClock(T0);
    const s = store(clock);
    assert.equal(s.authenticate('Bearer short-secret').name, 'short', 'hex in upper case is fine');
    clock.advanceMs(3_600_000 - 1);
    s.authenticate('Bearer short-secret');
    clock.advanceMs(1);
    assert.throws(() => s.authenticate('Bearer short-secret'), /expired/);
  });

  it('grants scopes per namespace and name prefix; write includes read; admin everything', () => {
    const s = store();
    const app = s.authenticate('Bearer app-secret');
    s.authorize(app, 'write', 'AddCount', 'app_clicks');
    s.authorize(app, 'read', 'GetCount', 'app_clicks');
    s.authorize(app, 'read', 'ReadEventRecords', 'shared');
    assert.equal(codeOf(() => s.authorize(app, 'write', 'AddCount', 'shared')), 'PERMISSION_DENIED', 'read only');
    assert.equal(codeOf(() => s.authorize(app, 'read', 'GetCount', 'other')), 'PERMISSION_DENIED', 'another namespace');
    assert.equal(codeOf(() => s.authorize(app, 'read', 'GetCount', 'sharedX')), 'PERMISSION_DENIED', 'exact name, not a prefix');
    assert.equal(codeOf(() => s.authorize(app, 'read', 'GetCount', undefined)), 'PERMISSION_DENIED', 'no namespace');
    assert.equal(codeOf(() => s.authorize(app, 'admin', 'PutNamespace', 'app_x')), 'PERMISSION_DENIED');
    assert.equal(codeOf(() => s.authorize(app, 'metrics', 'Metrics', undefined)), 'PERMISSION_DENIED');
    const root = s.authenticate('Bearer root-secret');
    for (const access of ['read', 'write', 'admin', 'metrics'] as const) s.authorize(root, access, 'X', 'anything');
  });

  it('revokes by replacing the set at once; an invalid set keeps the old one', () => {
    const s = store();
    s.authenticate('Bearer app-secret');
    s.replace({ tokens: [{ name: 'root', sha256: hashToken('root-secret'), scopes: ['admin'] }] });
    assert.equal(codeOf(() => s.authenticate('Bearer app-secret')), 'UNAUTHENTICATED');
    assert.throws(() => s.replace({ tokens: [{ name: 'x', sha256: 'nothex', scopes: ['admin'] }] }), /auth|tokens\[0\]\.sha256/);
    assert.equal(s.authenticate('Bearer root-secret').name, 'root');
  });

  it('names the bad field of a token config', () => {
    const clock = new ManualClock(T0);
    const bad = (tokens: unknown[]) => () => new TokenStore(clock, { tokens });
    assert.throws(bad([{ name: 'a', sha256: hashToken('a'), scopes: ['root'] }]), /auth\.tokens\[0\]\.scopes\[0\]/);
    assert.throws(bad([{ name: 'a', sha256: hashToken('a'), scopes: ['read:a b'] }]), /scopes\[0\]/);
    assert.throws(bad([{ name: 'a', sha256: hashToken('a'), scopes: ['admin'], expiresAt: 'tomorrow' }]), /auth\.tokens\[0\]\.expiresAt/);
    assert.throws(bad([{ name: 'a', sha256: hashToken('a'), scopes: [] }]), /scopes/);
    assert.throws(bad([{ name: 'a', token: 'plain', scopes: ['admin'] }]), /sha256/);
    assert.throws(
      bad([
        { name: 'a', sha256: hashToken('a'), scopes: ['admin'] },
        { name: 'b', sha256: hashToken('a'), scopes: ['admin'] },
      ]),
      /listed twice/,
    );
  });
});

describe('bind rule', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  });

  it('refuses a non-loopback address without auth unless explicitly allowed', () => {
    assert.equal(codeOf(() => checkBindPolicy('0.0.0.0', false, false)), 'FAILED_PRECONDITION');
    checkBindPolicy('0.0.0.0', true, false);
    checkBindPolicy('0.0.0.0', false, true);
    checkBindPolicy('127.0.0.1', false, false);
  });
});

describe('cross-site rule', () => {
  const none = new Set<string>();
  it('requires application/json on POST, with or without parameters', () => {
    assert.equal(checkCrossSite('POST', { contentType: 'application/json' }, none), undefined);
    assert.equal(checkCrossSite('POST', { contentType: 'Application/JSON; charset=utf-8' }, none), undefined);
    for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      assert.equal(checkCrossSite('POST', { contentType: ct }, none)?.status, 415, String(ct));
    }
    assert.equal(checkCrossSite('PUT', { contentType: 'application/x-www-form-urlencoded' }, none), undefined, 'PUT is never a simple request');
  });

  it('refuses foreign origins unless allowed', () => {
    const allowed = new Set(['https://console.example.com']);
    assert.equal(checkCrossSite('GET', { origin: 'https://evil.example' }, allowed)?.status, 403);
    assert.equal(checkCrossSite('POST', { origin: 'null', contentType: 'application/json' }, allowed)?.status, 403);
    assert.equal(checkCrossSite('POST', { origin: 'https://console.example.com', contentType: 'application/json' }, allowed), undefined);
    assert.equal(checkCrossSite('GET', {}, allowed), undefined, 'no Origin: not a browser');
  });
});

describe('TokenFileWatcher', () => {
  it('picks up an edited config file by itself (the poll), keeping the old tokens when it breaks', async () => {
    const path = join(tempDir('dgw-watch-'), 'dgw.json');
    const write = (names: string[]) =>
      writeFileSync(path, JSON.stringify({ auth: { tokens: names.map((n) => ({ name: n, sha256: hashToken(n), scopes: ['admin'] })) } }));
    write(['a-token', 'b-token']);
    const s = new TokenStore(new ManualClock(T0), readSecuritySections(path).auth);
    const reports: string[] = [];
    const watcher = new TokenFileWatcher(path, s, (m) => reports.push(m), 20);
    try {
      write(['a-token']);
      // Wait for the poll (bounded; not a timing assertion).
      for (let i = 0; i < 500 && s.size !== 1; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(codeOf(() => s.authenticate('Bearer b-token')), 'UNAUTHENTICATED', 'revoked by the poll');
      writeFileSync(path, '{ not json');
      for (let i = 0; i < 500 && reports.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(reports[0] ?? '', /previous tokens kept/);
      assert.equal(s.authenticate('Bearer a-token').name, 'a-token');
    } finally {
      watcher.close();
    }
  });
});
