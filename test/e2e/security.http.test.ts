/**
 * Authentication, authorization and cross-site refusal end to end (DESIGN 7), HTTP and
 * gRPC against one real server: no token, a wrong token, a token of another namespace,
 * a read-only token writing, an expired token (injected clock), a token revoked by
 * rewriting the config file (re-read without restart), the open probes, /metrics, and
 * browser requests (non-JSON POSTs, foreign origins).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { ManualClock } from '../../src/kernel/clock.js';
import { TokenStore, hashToken } from '../../src/server/auth/token-store.js';
import { readSecuritySections, TokenFileWatcher } from '../../src/server/auth/config-file.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcTestClient } from '../support/grpc-call.js';
import { tempDir } from '../support/temp-dir.js';

const TS = 'dgw.v1.TimeSeriesService';
const COUNTER = 'dgw.v1.CounterService';

describe('security: bearer tokens, scopes, cross-site (HTTP and gRPC)', () => {
  const app = uniqueNamespace('app');
  const other = uniqueNamespace('other');
  const tokenClock = new ManualClock(Date.parse('2026-06-01T00:00:00Z') * 1000);
  const configPath = join(tempDir('dgw-sec-'), 'dgw.json');
  const tokenConfig = (revokeApp: boolean) => ({
    auth: {
      tokens: [
        { name: 'admin', sha256: hashToken('admin-token'), scopes: ['admin'] },
        ...(revokeApp ? [] : [{ name: 'app-writer', sha256: hashToken('app-token'), scopes: [`write:${app}`] }]),
        { name: 'app-reader', sha256: hashToken('reader-token'), scopes: [`read:${app}*`] },
        { name: 'scraper', sha256: hashToken('metrics-token'), scopes: ['metrics'] },
        { name: 'temp', sha256: hashToken('temp-token'), scopes: [`write:${app}`], expiresAt: '2026-06-01T01:00:00Z' },
      ],
    },
    allowedOrigins: ['https://console.example.com'],
  });
  let t: TestServer;
  let watcher: TokenFileWatcher;
  let rpc: ReturnType<typeof grpcTestClient>;

  const http = async (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const res = await fetch(t.url + path, {
      method,
      headers,
      ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    const json = text.startsWith('{') ? (JSON.parse(text) as { error?: { code: string; message: string } }) : {};
    return { status: res.status, code: json.error?.code, message: json.error?.message ?? '', text, headers: res.headers };
  };
  const addCount = (ns: string, token?: string) =>
    http('POST', '/v1/counter/AddCount', { ...(token !== undefined ? { token } : {}), body: { namespace: ns, counter_name: 'c', delta: 1 } });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    writeFileSync(configPath, JSON.stringify(tokenConfig(false)));
    const sections = readSecuritySections(configPath);
    const tokens = new TokenStore(tokenClock, sections.auth);
    watcher = new TokenFileWatcher(configPath, tokens, (m) => assert.fail(m), 60_000);
    t = await startTestServer({ tokens, allowedOrigins: sections.allowedOrigins, grpcPort: 0 });
    rpc = grpcTestClient(t.server.grpcPort!);
    for (const ns of [app, other]) {
      const put = await http('PUT', `/v1/counter/namespaces/${ns}`, { token: 'admin-token', body: {} });
      assert.equal(put.status, 201, put.text);
      const tput = await http('PUT', `/v1/timeseries/namespaces/${ns}_ts`, { token: 'admin-token', body: {} });
      assert.equal(tput.status, 201, tput.text);
    }
  });
  after(async () => {
    watcher.close();
    rpc.close();
    await t.stop();
  });

  it('HTTP: 401 without a token or with a wrong one, before anything is done', async () => {
    const res = await fetch(`${t.url}/v1/counter/GetCount`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="dgw"');
    for (const r of [await addCount(app), await addCount(app, 'wrong-token'), await addCount(app, hashToken('app-token'))]) {
      assert.equal(r.status, 401, r.text);
      assert.equal(r.code, 'UNAUTHENTICATED');
    }
    const bad = await http('POST', '/v1/counter/AddCount', { headers: { authorization: 'Basic YWRtaW46eA==' }, body: { namespace: app } });
    assert.equal(bad.status, 401);
    const read = await http('POST', '/v1/counter/GetCount', { token: 'admin-token', body: { namespace: app, counter_name: 'c' } });
    assert.equal(read.status, 200);
  });

  it('HTTP: 403 for another namespace, for writing with a read scope, for the control plane', async () => {
    assert.equal((await addCount(app, 'app-token')).status, 200);
    const r = await addCount(other, 'app-token');
    assert.equal(r.status, 403, r.text);
    assert.equal(r.code, 'PERMISSION_DENIED');
    assert.match(r.message, new RegExp(other));
    assert.equal((await addCount(app, 'reader-token')).status, 403, 'read scope cannot write');
    const get = await http('POST', '/v1/counter/GetCount', { token: 'reader-token', body: { namespace: app, counter_name: 'c' } });
    assert.equal(get.status, 200, get.text);
    const put = await http('PUT', `/v1/counter/namespaces/${app}`, { token: 'app-token', body: {} });
    assert.equal(put.status, 403, 'control plane needs admin');
    assert.equal((await http('DELETE', `/v1/counter/namespaces/${app}`, { token: 'app-token' })).status, 403);
    assert.equal((await http('GET', '/v1/counter/namespaces', { token: 'reader-token' })).status, 403);
    assert.equal((await http('GET', '/v1/counter/namespaces', { token: 'admin-token' })).status, 200);
  });

  it('probes are open; /metrics needs the metrics (or admin) scope', async () => {
    assert.equal((await http('GET', '/healthz')).status, 200);
    assert.equal((await http('GET', '/readyz')).status, 200);
    assert.equal((await http('GET', '/metrics')).status, 401);
    assert.equal((await http('GET', '/metrics', { token: 'app-token' })).status, 403);
    assert.equal((await http('GET', '/metrics', { token: 'metrics-token' })).status, 200);
  });

  it('an expired token is refused from its expiry on (HTTP and gRPC)', async () => {
    assert.equal((await addCount(app, 'temp-token')).status, 200);
    tokenClock.advanceMs(3_600_000);
    const r = await addCount(app, 'temp-token');
    assert.equal(r.status, 401);
    assert.match(r.message, /expired/);
    const g = await rpc.failure(COUNTER, 'AddCount', { namespace: app, counterName: 'c', delta: '1' }, bearer('temp-token'));
    assert.equal(g.code, status.UNAUTHENTICATED);
  });

  it('gRPC: the same rules through the authorization metadata', async () => {
    const req = { namespace: app, counterName: 'g', delta: '2' };
    assert.equal((await rpc.failure(COUNTER, 'AddCount', req)).code, status.UNAUTHENTICATED);
    assert.equal((await rpc.failure(COUNTER, 'AddCount', req, bearer('nope'))).code, status.UNAUTHENTICATED);
    assert.deepEqual(await rpc.call(COUNTER, 'AddCount', req, bearer('app-token')), {});
    const denied = await rpc.failure(COUNTER, 'AddCount', { ...req, namespace: other }, bearer('app-token'));
    assert.equal(denied.code, status.PERMISSION_DENIED);
    assert.equal(denied.metadata.get('dgw-error-code')[0], 'PERMISSION_DENIED');
    const interval = { start: { seconds: '0' }, end: { seconds: '4102444800' } };
    const read = { namespace: `${other}_ts`, timeSeriesId: 'x', timeInterval: interval };
    assert.equal((await rpc.failure(TS, 'ReadEventRecords', read, bearer('reader-token'))).code, status.PERMISSION_DENIED);
    assert.deepEqual(await rpc.call(TS, 'ReadEventRecords', { ...read, namespace: `${app}_ts` }, bearer('reader-token')), { events: [] });
  });

  it('a token removed from the config file stops working without a restart', async () => {
    assert.equal((await addCount(app, 'app-token')).status, 200);
    writeFileSync(configPath, JSON.stringify(tokenConfig(true)));
    assert.equal(watcher.reload(), true); // what SIGHUP or the file poll does
    assert.equal((await addCount(app, 'app-token')).status, 401, 'revoked over HTTP');
    const g = await rpc.failure(COUNTER, 'AddCount', { namespace: app, counterName: 'c', delta: '1' }, bearer('app-token'));
    assert.equal(g.code, status.UNAUTHENTICATED, 'revoked over gRPC');
    assert.equal((await addCount(app, 'admin-token')).status, 200, 'the others still work');
  });

  it('refuses a POST that is not declared JSON (a form or text/plain from a web page), changing nothing', async () => {
    const body = JSON.stringify({ namespace: app, counter_name: 'csrf', delta: 5 });
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const res = await fetch(`${t.url}/v1/counter/AddCount`, {
        method: 'POST',
        headers: { ...(ct ? { 'content-type': ct } : {}), ...bearer('admin-token') },
        body: ct === undefined ? new Blob([body]) : body,
      });
      assert.equal(res.status, 415, String(ct));
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
    }
    const get = await http('POST', '/v1/counter/GetCount', { token: 'admin-token', body: { namespace: app, counter_name: 'csrf' } });
    assert.match(get.text, /"count":"0"/);
  });

  it('refuses foreign browser origins with 403 and serves allowed ones', async () => {
    const evil = await http('POST', '/v1/counter/ClearCount', { token: 'admin-token', headers: { origin: 'https://evil.example' }, body: { namespace: app, counter_name: 'c' } });
    assert.equal(evil.status, 403);
    assert.equal(evil.code, 'PERMISSION_DENIED');
    assert.match(evil.message, /origin/);
    const ok = await http('POST', '/v1/counter/GetCount', { token: 'admin-token', headers: { origin: 'https://console.example.com' }, body: { namespace: app, counter_name: 'c' } });
    assert.equal(ok.status, 200, ok.text);
  });

  it('approves CORS preflights of allowed origins only, and exposes the headers a client reads', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/v1/counter/AddCount`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-dgw-priority' },
      });
    const allowed = await preflight('https://console.example.com');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://console.example.com');
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization.*x-dgw-priority/);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.equal(allowed.headers.get('access-control-allow-credentials'), null, 'no cookies: tokens travel in Authorization');
    const foreign = await preflight('https://evil.example');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const ok = await http('POST', '/v1/counter/GetCount', { token: 'admin-token', headers: { origin: 'https://console.example.com' }, body: { namespace: app, counter_name: 'c' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://console.example.com');
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /retry-after/);
    assert.match(ok.headers.get('vary') ?? '', /origin/i);
  });
});
