/**
 * Issue 14 "Hardening" over real HTTP: hostile input never gets a 5xx and changes nothing;
 * every error, Fastify's and the HTTP parser's included, is the `{error:{code,message,
 * details}}` envelope; forged page tokens are a clean INVALID_ARGUMENT; namespace names of
 * up to 128 characters route.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createHmac } from 'node:crypto';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

const DAY = { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' };

/** Asserts the error envelope with `code` and, when given, the field named first. */
function assertEnvelope(r: { status: number; json: Record<string, unknown> }, status: number, code: string, field?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  const error = r.json.error as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  assert.ok(error, `no error envelope: ${JSON.stringify(r.json)}`);
  assert.equal(error.code, code);
  assert.equal(typeof error.message, 'string');
  assert.ok(Array.isArray(error.details));
  if (field !== undefined) assert.ok((error.message as string).startsWith(`${field}: `), `message "${String(error.message)}" should name ${field}`);
}

/** Sends raw bytes and returns the raw response text (the server closes or answers). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (c) => (out += c.toString()));
    socket.on('end', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('error', (err) => (out ? resolve(out) : reject(err)));
    socket.write(text);
  });
}

function rawJson(response: string): { status: number; json: Record<string, unknown> } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  return { status, json: JSON.parse(body) as Record<string, unknown> };
}

describe('hardening: hostile input over HTTP', () => {
  let t: TestServer;
  let ns: string;

  before(async () => {
    t = await startTestServer();
    ns = uniqueNamespace('hard');
    const put = await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', physical_storage: { type: 'SQLITE' }, config: { acceptLimit: '30d' } },
        { id: 'INDEX_STORAGE', physical_storage: { type: 'SQLITE' }, config: { indexConfig: { fieldMapping: { k: 'KEYWORD' } } } },
      ],
    });
    assert.equal(put.status, 201, JSON.stringify(put.json));
    const events = Array.from({ length: 5 }, (_, i) => ({
      timeSeriesId: 's',
      eventTime: `2024-10-03T10:00:0${i}Z`,
      eventId: `e${i}`,
      eventItems: [{ eventItemKey: 'k', eventItemValue: b64('v') }],
    }));
    assert.equal((await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events })).status, 200);
  });
  after(() => t.stop());

  it('a search query nested 600 levels deep is a 400 naming searchQuery', async () => {
    let q: unknown = { equals: { eventItemKey: 'k', eventItemValue: b64('v') } };
    for (let i = 0; i < 600; i++) q = { booleanQuery: { searchQuery: [q] } };
    for (const route of ['SearchEventRecords', 'AggregateEventRecords']) {
      const r = await t.post(`/v1/timeseries/${route}`, { namespace: ns, timeInterval: DAY, searchQuery: q, aggregationQuery: { count: {} } });
      assertEnvelope(r, 400, 'INVALID_ARGUMENT', 'searchQuery');
    }
  });

  it('a namespace document of 200,000 nested brackets is a 400 and creates nothing', async () => {
    const name = uniqueNamespace('deep');
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    for (const body of [deep, `{"persistence_configuration": ${deep}}`]) {
      const r = await t.call('PUT', `/v1/timeseries/namespaces/${name}`, body);
      assertEnvelope(r, 400, 'INVALID_ARGUMENT');
      assert.match((r.json.error as { message: string }).message, /nested deeper than/);
      const c = await t.call('PUT', `/v1/counter/namespaces/${name}`, body);
      assertEnvelope(c, 400, 'INVALID_ARGUMENT');
    }
    assertEnvelope(await t.call('GET', `/v1/timeseries/namespaces/${name}`), 404, 'NOT_FOUND');
    assertEnvelope(await t.call('GET', `/v1/counter/namespaces/${name}`), 404, 'NOT_FOUND');
  });

  it('a page token with a valid signature but a forged body is a 400 naming pageToken, never a store error', async () => {
    const read = { namespace: ns, timeSeriesId: 's', timeInterval: DAY, pageSize: 2 };
    const first = await t.post('/v1/timeseries/ReadEventRecords', read);
    assert.equal(first.status, 200);
    const token = String(first.json.nextPageToken);
    // Tokens are HMAC-signed: sign forged bodies with the server's own secret (as a leaked
    // secret would allow), so what is tested is that a signed body is still checked.
    const secret = await t.server.catalog.namespaces().claimSetting('page-token-secret', 'never-used-the-server-has-one');
    const bodyOf = (tok: string) => Buffer.from(tok.slice(0, tok.indexOf('.')), 'base64url').toString('utf8');
    const state = JSON.parse(bodyOf(token)) as { query: string; returned: number; after: { eventTimeMicros: number; eventId: string } };
    const forge = (s: unknown) => {
      const body = Buffer.from(JSON.stringify(s), 'utf8').toString('base64url');
      return `${body}.${createHmac('sha256', secret).update(body).digest().subarray(0, 16).toString('base64url')}`;
    };
    const forged = [
      { ...state, after: { eventTimeMicros: 'x', eventId: state.after.eventId } },
      { ...state, after: { eventTimeMicros: state.after.eventTimeMicros, eventId: { a: 1 } } },
      { ...state, after: { eventTimeMicros: 1e300, eventId: 'e' } },
      { ...state, after: [1, 2] },
      { ...state, returned: -5 },
      { ...state, returned: 'many' },
      { ...state, below: 'x', after: undefined },
      { ...state, after: { eventTimeMicros: state.after.eventTimeMicros, eventId: 'e', timeSeriesId: 7 } },
      [state],
      null,
      'text',
    ];
    for (const s of forged) {
      const r = await t.post('/v1/timeseries/ReadEventRecords', { ...read, pageToken: forge(s) });
      assertEnvelope(r, 400, 'INVALID_ARGUMENT', 'pageToken');
    }
    const search = { namespace: ns, timeInterval: DAY, pageSize: 2, searchQuery: { equals: { eventItemKey: 'k', eventItemValue: b64('v') } } };
    const sFirst = await t.post('/v1/timeseries/SearchEventRecords', search);
    assert.equal(sFirst.status, 200, JSON.stringify(sFirst.json));
    const sState = JSON.parse(bodyOf(String(sFirst.json.nextPageToken))) as { after: { eventTimeMicros: number; eventId: string; timeSeriesId: string } };
    for (const after of [{ ...sState.after, timeSeriesId: ['s'] }, { ...sState.after, eventTimeMicros: '1' }, { ...sState.after, eventId: null }]) {
      const r = await t.post('/v1/timeseries/SearchEventRecords', { ...search, pageToken: forge({ ...sState, after }) });
      assertEnvelope(r, 400, 'INVALID_ARGUMENT', 'pageToken');
    }
    const agg = { namespace: ns, timeInterval: DAY, aggregationQuery: { distinct: { eventItemKey: 'k', pageSize: 1 } } };
    for (const v of [5, { a: 1 }, ['x']]) {
      const q = (await t.post('/v1/timeseries/AggregateEventRecords', { ...agg, pageToken: forge({ query: 'x', returned: 0, afterValue: v }) }));
      assertEnvelope(q, 400, 'INVALID_ARGUMENT', 'pageToken');
    }
  });

  it('namespace names of 101 to 128 characters route; longer ones are a 400 naming namespace', async () => {
    for (const n of [101, 128]) {
      const name = `n${'x'.repeat(n - 1)}`;
      assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${name}`, {})).status, 201);
      assert.equal((await t.call('GET', `/v1/timeseries/namespaces/${name}`)).status, 200);
      assert.equal((await t.call('DELETE', `/v1/timeseries/namespaces/${name}`)).status, 200);
    }
    assertEnvelope(await t.call('PUT', `/v1/counter/namespaces/${'y'.repeat(129)}`, {}), 400, 'INVALID_ARGUMENT', 'namespace');
    assertEnvelope(await t.call('GET', `/v1/counter/namespaces/${'y'.repeat(5000)}`), 414, 'INVALID_ARGUMENT');
  });

  it('framework and parser errors use the envelope: 404, 413, malformed JSON, bad URL, header overflow, malformed HTTP', async () => {
    assertEnvelope(await t.call('GET', '/no/such/route'), 404, 'NOT_FOUND');
    assertEnvelope(await t.post('/v1/timeseries/ReadEventRecords', '{"namespace":'), 400, 'INVALID_ARGUMENT', 'body');
    assertEnvelope(await t.post('/v1/timeseries/ReadEventRecords', 'x'.repeat(9 * 1024 * 1024)), 413, 'RESOURCE_EXHAUSTED', 'body');
    const port = t.server.port;
    assertEnvelope(rawJson(await raw(port, 'GET /v1/timeseries/namespaces/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), 400, 'INVALID_ARGUMENT', 'url');
    assertEnvelope(rawJson(await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)), 431, 'RESOURCE_EXHAUSTED', 'headers');
    assertEnvelope(rawJson(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')), 400, 'INVALID_ARGUMENT', 'request');
    assertEnvelope(rawJson(await raw(port, 'POST /v1/counter/GetCount HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')), 400, 'INVALID_ARGUMENT');
  });
});
