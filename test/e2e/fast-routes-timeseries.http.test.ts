/**
 * ReadEventRecords and SearchEventRecords on the node:http fast path
 * (src/server/http/fast-routes.ts) answer exactly as through Fastify: the same namespace,
 * events and page-token secret on a server with the fast path and one without, then the
 * same reads and searches (pages followed through their tokens, filters, a deadline,
 * refusals: bad interval, unknown namespace and field, malformed JSON, a foreign token)
 * must give the same status, headers and body.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { fastRoutesOf } from '../../src/server/http/fast-routes.js';
import { startTestServer, type TestServer } from '../support/http-server.js';

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

const COMPARED = ['content-type', 'content-length', 'retry-after', 'x-request-id'];
const SECRET = 'fast-routes-timeseries-page-token-secret';
const CLOCK = '2026-06-01T12:00:00.000Z';
const ODD_SERIES = 'série "ü" \\ 😀\t';

function post(url: string, path: string, body: string, requestId: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-request-id': requestId };
    const req = request(url + path, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const picked: Record<string, string | undefined> = {};
        for (const name of COMPARED) picked[name] = res.headers[name] as string | undefined;
        resolve({ status: res.statusCode ?? 0, headers: picked, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('fast path of ReadEventRecords and SearchEventRecords: the same answers as through Fastify', () => {
  let fast: TestServer;
  let slow: TestServer;
  const ns = 'fast_ts';
  const base = Date.parse(CLOCK);

  before(async () => {
    fast = await startTestServer({ httpFastPath: true, pageTokenSecret: SECRET, clockStart: CLOCK });
    slow = await startTestServer({ httpFastPath: false, pageTokenSecret: SECRET, clockStart: CLOCK });
    const doc = {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d' } },
        { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { deviceType: 'KEYWORD' } } } },
      ],
    };
    const events = Array.from({ length: 60 }, (_, i) => ({
      timeSeriesId: `s${i % 2}`,
      eventTime: new Date(base - 1000 - (i % 20) * 90_000).toISOString(),
      eventId: `e${i}`,
      eventItems: [
        { eventItemKey: 'deviceType', eventItemValue: Buffer.from(['ios', 'web', 'tv'][i % 3]!).toString('base64') },
        ...(i % 4 === 0 ? [{ eventItemKey: 'extra', eventItemValue: Buffer.from([i, 0, 255]).toString('base64') }] : []),
      ],
    }));
    // Events the fast path writes from packed rows (issue 9): escaped and unicode series,
    // ids and keys, empty and long values, many items, microsecond times.
    const odd = Array.from({ length: 12 }, (_, i) => ({
      timeSeriesId: ODD_SERIES,
      eventTime: new Date(base - 2000 - i * 61_000).toISOString().replace('Z', `${String(i * 37).padStart(3, '0')}Z`),
      eventId: ['"q"', 'back\\slash', 'line\nbreak', 'ctl\u0001\u001f', 'é字😀', '\u2028'][i % 6]! + i,
      eventItems: Array.from({ length: 1 + (i % 4) * 3 }, (_, k) => ({
        eventItemKey: ['k', 'ключ', '"', '\\', '\u001e', '😀'][k % 6]! + k,
        eventItemValue: Buffer.from(Array.from({ length: [0, 1, 2, 48, 49, 65, 300][(i + k) % 7]! }, (_, b) => (b * 31 + i) % 256)).toString('base64'),
      })),
    }));
    for (const side of [fast, slow]) {
      assert.equal((await side.call('PUT', `/v1/timeseries/namespaces/${ns}`, doc)).status, 201);
      assert.equal((await side.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events })).status, 200);
      assert.equal((await side.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: odd })).status, 200);
      side.clock.advanceMs(5000); // index refresh
    }
    assert.ok(fastRoutesOf(fast.server.app));
    assert.equal(fastRoutesOf(slow.server.app), undefined);
  });
  after(async () => {
    await fast.stop();
    await slow.stop();
  });

  const interval = { start: new Date(base - 3600_000).toISOString(), end: new Date(base).toISOString() };
  const read = (extra: Record<string, unknown> = {}) => ({ namespace: ns, timeSeriesId: 's0', timeInterval: interval, pageSize: 7, ...extra });
  const search = (extra: Record<string, unknown> = {}) => ({
    namespace: ns,
    timeInterval: interval,
    searchQuery: { equals: { eventItemKey: 'deviceType', eventItemValue: Buffer.from('ios').toString('base64') } },
    pageSize: 4,
    ...extra,
  });

  /** Sends `body` to both servers; returns the fast side's answer after comparing. */
  async function both(path: string, body: unknown, name: string): Promise<Answer> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const id = `r-${name.replace(/[^A-Za-z0-9]+/g, '-')}`;
    const a = await post(fast.url, path, text, id);
    const b = await post(slow.url, path, text, id);
    assert.deepEqual(a, b, `${name}: fast path vs Fastify`);
    return a;
  }

  /** Follows a walk through its page tokens on both servers; returns the pages. */
  async function walk(path: string, first: Record<string, unknown>, name: string): Promise<number> {
    let body = first;
    let pages = 0;
    for (;;) {
      const answer = await both(path, body, `${name} page ${pages}`);
      assert.equal(answer.status, 200, answer.body);
      pages++;
      const token = (JSON.parse(answer.body) as { nextPageToken?: string }).nextPageToken;
      if (!token) return pages;
      body = { ...first, pageToken: token };
    }
  }

  it('answers reads and searches as Fastify does, page tokens followed', async () => {
    const servedBefore = fastRoutesOf(fast.server.app)!.served;
    assert.ok((await walk('/v1/timeseries/ReadEventRecords', read(), 'read')) > 2);
    assert.ok((await walk('/v1/timeseries/ReadEventRecords', read({ eventFilters: [{ matchEventItemKey: 'deviceType', matchEventItemValue: Buffer.from('tv').toString('base64') }], timeout: '5s' }), 'read, filter')) > 1);
    await walk('/v1/timeseries/ReadEventRecords', read({ totalRecordLimit: 10, allowPartial: true }), 'read, total limit');
    assert.ok((await walk('/v1/timeseries/ReadEventRecords', read({ timeSeriesId: ODD_SERIES, pageSize: 5 }), 'read, odd events')) > 2);
    await walk('/v1/timeseries/ReadEventRecords', read({ timeSeriesId: ODD_SERIES, pageSize: 100 }), 'read, odd events in one page');
    assert.ok((await walk('/v1/timeseries/SearchEventRecords', search(), 'search')) > 2);
    const refusals: [string, unknown][] = [
      ['/v1/timeseries/ReadEventRecords', read({ timeInterval: { start: interval.end, end: interval.start } })],
      ['/v1/timeseries/ReadEventRecords', read({ namespace: 'fast_nope' })],
      ['/v1/timeseries/ReadEventRecords', read({ pageToken: 'bm90LWEtdG9rZW4.AAAA' })],
      ['/v1/timeseries/ReadEventRecords', read({ pageSize: 0 })],
      ['/v1/timeseries/ReadEventRecords', '{"namespace":'],
      ['/v1/timeseries/SearchEventRecords', search({ searchQuery: { equals: { eventItemKey: 'nope', eventItemValue: 'eA==' } } })],
      ['/v1/timeseries/SearchEventRecords', search({ bogus: 1 })],
    ];
    for (const [i, [path, body]] of refusals.entries()) {
      const answer = await both(path, body, `refusal ${i}`);
      assert.ok(answer.status >= 400 && answer.status < 500, `refusal ${i}: ${answer.status} ${answer.body}`);
    }
    assert.ok(fastRoutesOf(fast.server.app)!.served - servedBefore >= refusals.length + 8, 'the fast path served them');
  });
});
