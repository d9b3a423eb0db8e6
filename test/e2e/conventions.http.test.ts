/**
 * HTTP and configuration conventions (issue 11): 405 with Allow for a wrong verb;
 * Retry-After on every 429 and 503; unknown keys refused with the key named, in request
 * bodies and in the --config file; store URL schemes checked at start-up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readServerConfig } from '../../src/server/clusters.js';
import { checkUrlScheme, redactUrl } from '../../src/server/ops/url-scheme.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { tempDir } from '../support/temp-dir.js';
import { runCli } from '../support/cli.js';
import { SystemClock } from '../../src/kernel/clock.js';
import { TokenStore, hashToken } from '../../src/server/auth/token-store.js';

describe('HTTP conventions', () => {
  let t: TestServer;
  const ns = uniqueNamespace('conv');
  before(async () => {
    t = await startTestServer();
    const doc = { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { queueBuffering: { coalesce: '60s', bufferCapacity: '1KiB' } } }] };
    const r = await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, doc);
    assert.equal(r.status, 201, JSON.stringify(r.json));
  });
  after(async () => {
    await t.stop();
  });

  it('a wrong verb on a known path is 405 with Allow; an unknown path stays 404', async () => {
    const res = await fetch(`${t.url}/v1/timeseries/ReadEventRecords`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.match(body.error.message, /GET .*not allowed; use POST/);
    const ns405 = await fetch(`${t.url}/v1/counter/namespaces/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(ns405.status, 405);
    assert.deepEqual(ns405.headers.get('allow')?.split(', ').sort(), ['DELETE', 'GET', 'HEAD', 'PUT']);
    assert.equal((await fetch(`${t.url}/v1/nothing/here`)).status, 404);
  });

  it('429 from a full write buffer carries Retry-After', async () => {
    const event = (i: number) => ({ timeSeriesId: 'p', eventTime: '2024-10-03T21:25:00Z', eventId: `e${i}`, eventItems: [{ eventItemKey: 'k', eventItemValue: Buffer.alloc(300).toString('base64') }] });
    let res: Response | undefined;
    for (let i = 0; i < 10; i++) {
      res = await fetch(`${t.url}/v1/timeseries/WriteEventRecords`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: ns, events: [event(i)] }) });
      if (res.status === 429) break;
    }
    assert.equal(res?.status, 429);
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  });

  it('unknown keys in request bodies are refused, naming the key', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [], extra: 1 }, /extra/],
      ['/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [{ timeSeriesId: 'p', eventTime: '2024-10-03T21:25:00Z', eventId: 'e', eventItems: [], evenId: 'typo' }] }, /events\[0\]\.evenId/],
      ['/v1/timeseries/ReadEventRecords', { namespace: ns, timeSeriesId: 'p', timeInterval: { start: '2024-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z' }, page_size: 5 }, /page_size/],
      ['/v1/counter/GetCount', { namespace: 'c', counter_name: 'x', delta: 1 }, /delta/],
      ['/v1/counter/AddCount', { namespace: 'c', counter_name: 'x', delta: 1, idempotency_token: { token: 't', generation_time: '2024-10-03T21:25:00Z', ttl: 1 } }, /idempotency_token\.ttl/],
    ];
    for (const [path, body, field] of cases) {
      const r = await t.post(path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(r.json)}`);
      const error = r.json.error as { code: string; message: string };
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, field);
    }
  });

  it('the status page\'s own origin (an IP literal) may POST; a name resolving to dgw may not', async () => {
    const post = (origin: string, host?: string) =>
      fetch(`${t.url}/v1/counter/GetCount`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, ...(host ? { host } : {}) },
        body: JSON.stringify({ namespace: 'none', counter_name: 'x' }),
      });
    assert.notEqual((await post(t.url)).status, 403);
    const port = new URL(t.url).port;
    assert.equal((await post(`http://rebound.example:${port}`, `rebound.example:${port}`)).status, 403);
  });

  it('503 carries Retry-After (a store is down: /readyz)', async () => {
    await t.server.catalog.close();
    const res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 503);
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  });
});

describe('configuration conventions', () => {
  it('--config refuses unknown keys, naming them', () => {
    const dir = tempDir();
    const file = join(dir, 'dgw.json');
    writeFileSync(file, JSON.stringify({ clusters: [{ name: 'a', type: 'POSTGRES', url: 'postgres://x@h/db', maxConection: 5 }] }));
    assert.throws(() => readServerConfig(file), /clusters\[0\].*maxConection/);
    writeFileSync(file, JSON.stringify({ clusters: [], cluster: [] }));
    assert.throws(() => readServerConfig(file), /"cluster"/);
  });

  it('store URLs must have their scheme; passwords are never echoed', async () => {
    assert.equal(checkUrlScheme('--postgres-url', 'postgresql://u@h/db', 'POSTGRES'), 'postgresql://u@h/db');
    assert.throws(() => checkUrlScheme('--postgres-url', 'redis://h:6379', 'POSTGRES'), /--postgres-url: scheme "redis:" is not one of postgres:\/\/, postgresql:\/\//);
    assert.throws(() => checkUrlScheme('--redis-url', 'http://h', 'REDIS'), /--redis-url/);
    assert.equal(redactUrl('postgres://u:secret@h/db'), 'postgres://u:***@h/db');
    const r = await runCli(['serve', '--port', '0', '--postgres-url', 'redis://u:secret@127.0.0.1:6379']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--postgres-url: scheme "redis:"/);
    assert.doesNotMatch(r.stderr + r.stdout, /secret/);
  });
});

describe('GET /v1/status with bearer tokens on', () => {
  it('needs a token with the metrics scope; the status page files stay open', async () => {
    const tokens = new TokenStore(new SystemClock(), { tokens: [{ name: 'scraper', sha256: hashToken('m-token'), scopes: ['metrics'] }] });
    const t = await startTestServer({ tokens });
    try {
      assert.equal((await fetch(`${t.url}/v1/status`)).status, 401);
      const ok = await fetch(`${t.url}/v1/status`, { headers: { authorization: 'Bearer m-token' } });
      assert.equal(ok.status, 200);
      assert.equal((await fetch(`${t.url}/ui/app.js`)).status, 200);
    } finally {
      await t.stop();
    }
  });
});
