/**
 * The node:http fast path of the hot counter calls (src/server/http/fast-routes.ts) answers
 * exactly as Fastify does: the same requests (valid, malformed JSON, unknown or mistyped
 * fields, unknown namespace, unauthenticated, forbidden, shed, bad priority, over the
 * memory budget, too large, odd shapes that stay on Fastify) go to a server with the fast
 * path and to one without, and status, the relevant headers, body, the request log lines,
 * the request rates and the HTTP metrics must match. Raw bytes on one connection (pipelined
 * requests after a malformed body, a body shorter or longer than its content-length,
 * `expect: 100-continue`, odd header spellings) get the same bytes back on both, and leave
 * no body reservation or admission slot held once the connection is gone. On graceful
 * shutdown a call in flight still answers and a request pipelined after close began gets
 * the closing 503, the same bytes on both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { ManualClock } from '../../src/kernel/clock.js';
import { TokenStore, hashToken } from '../../src/server/auth/token-store.js';
import { createLogger } from '../../src/server/ops/logger.js';
import { fastRoutesOf } from '../../src/server/http/fast-routes.js';
import { Dial } from '../support/overload-dial.js';
import { startTestServer, type TestServer } from '../support/http-server.js';

type Line = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** Headers whose values must match (date is Node's own; `connection: close` follows a body Fastify could not parse). */
const COMPARED = ['content-type', 'content-length', 'retry-after', 'www-authenticate', 'x-request-id', 'allow', 'connection', 'keep-alive'];

interface Side {
  t: TestServer;
  dial: Dial;
  lines: Line[];
}

async function startSide(fastPath: boolean): Promise<Side> {
  const dial = new Dial();
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim()) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const tokens = new TokenStore(new ManualClock(Date.parse('2026-06-01T00:00:00Z') * 1000), {
    tokens: [
      { name: 'admin', sha256: hashToken('admin-token'), scopes: ['admin'] },
      { name: 'writer', sha256: hashToken('writer-token'), scopes: ['write:fast*', 'read:fast*'] },
      { name: 'reader', sha256: hashToken('reader-token'), scopes: ['read:fast*'] },
      { name: 'scraper', sha256: hashToken('metrics-token'), scopes: ['metrics'] },
    ],
  });
  const t = await startTestServer({
    httpFastPath: fastPath,
    tokens,
    log: createLogger('info', sink),
    overloadSignals: dial,
    shedding: { eventLoopDelayMs: { threshold: 0, max: 100 }, eventLoopDelayMinInFlight: 0 },
    limits: { maxBodyBytes: 2048 },
  });
  return { t, dial, lines };
}

/** One raw HTTP request with exactly these headers (no client defaults added but host). */
function send(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const picked: Record<string, string | undefined> = {};
        for (const name of COMPARED) {
          const v = res.headers[name];
          picked[name] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve({ status: res.statusCode ?? 0, headers: picked, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Writes `bytes` on a new connection (then ends it with `end`) and returns everything read
 * until the server closes it (or `<idle>` appended after 10 s without a byte, so a server
 * that keeps the connection fails the comparison instead of hanging the test).
 */
function sendRaw(port: number, bytes: string, end = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => (end ? socket.end(bytes) : socket.write(bytes)));
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => {
      chunks.push(Buffer.from('<idle>'));
      socket.destroy();
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/** Polls (the server releases on its sockets' close events) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

const json = (token: string | undefined, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  ...extra,
});

const post = (path: string, body: string, headers: Record<string, string>) => ({
  method: 'POST',
  path,
  headers: body === '' ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers },
  body,
});

describe('fast path of the counter calls: the same answers as through Fastify', () => {
  let fast: Side;
  let slow: Side;
  const ns = 'fast_counters';
  const time = '2024-10-03T21:24:59.000Z';

  before(async () => {
    fast = await startSide(true);
    slow = await startSide(false);
    for (const side of [fast, slow]) {
      for (const [name, type] of [
        [ns, 'EVENTUAL'],
        [`${ns}_acc`, 'ACCURATE'],
        [`${ns}_be`, 'BEST_EFFORT'],
      ] as const) {
        const doc = JSON.stringify({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] });
        const res = await send(side.t.url, 'PUT', `/v1/counter/namespaces/${name}`, json('admin-token', { 'content-length': String(doc.length) }), doc);
        assert.equal(res.status, 201, res.body);
      }
    }
    assert.ok(fastRoutesOf(fast.t.server.app), 'the fast path is on by default');
    assert.equal(fastRoutesOf(slow.t.server.app), undefined);
  });
  after(async () => {
    await fast.t.stop();
    await slow.t.stop();
  });

  const add = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ namespace: ns, counter_name: 'c1', delta: 5, idempotency_token: { token: 'tok-1', generation_time: time }, ...extra });

  /** Requests in order; `delay` turns the injected overload dial on both sides first. */
  const cases: { name: string; method?: string; path: string; headers: Record<string, string>; body: string; delay?: number; squeeze?: true }[] = [
    { name: 'AddCount', ...post('/v1/counter/AddCount', add(), json('writer-token', { 'x-request-id': 'r-1' })) },
    { name: 'AddCount retried (same token)', ...post('/v1/counter/AddCount', add(), json('writer-token', { 'x-request-id': 'r-2' })) },
    { name: 'AddCount, second token', ...post('/v1/counter/AddCount', add({ idempotency_token: { token: 'tok-2', generation_time: time } }), json('writer-token')) },
    { name: 'GetCount', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('reader-token', { 'x-request-id': 'r-3' })) },
    {
      name: 'AddAndGetCount ACCURATE',
      ...post('/v1/counter/AddAndGetCount', JSON.stringify({ namespace: `${ns}_acc`, counterName: 'a', delta: '9223372036854775806', idempotencyToken: { token: 't', generationTime: time } }), json('writer-token')),
    },
    { name: 'AddAndGetCount, int64 as a long number', ...post('/v1/counter/AddAndGetCount', `{"namespace":"${ns}_acc","counter_name":"a","delta":1}`, json('writer-token')) },
    { name: 'BEST_EFFORT AddCount', ...post('/v1/counter/AddCount', JSON.stringify({ namespace: `${ns}_be`, counter_name: 'b', delta: 2 }), json('writer-token')) },
    { name: 'BEST_EFFORT GetCount', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: `${ns}_be`, counter_name: 'b' }), json('reader-token')) },
    { name: 'charset parameter', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), { ...json('reader-token'), 'content-type': 'application/json; charset=utf-8' }) },
    { name: 'malformed JSON', ...post('/v1/counter/AddCount', '{"namespace":', json('writer-token', { 'x-request-id': 'r-4' })) },
    { name: 'JSON null', ...post('/v1/counter/GetCount', 'null', json('reader-token')) },
    { name: 'JSON array', ...post('/v1/counter/GetCount', '[]', json('reader-token')) },
    { name: 'unknown field', ...post('/v1/counter/AddCount', add({ bogus: 1 }), json('writer-token')) },
    { name: 'mistyped delta', ...post('/v1/counter/AddCount', add({ delta: 'abc' }), json('writer-token')) },
    { name: 'delta out of int64', ...post('/v1/counter/AddCount', add({ delta: '9223372036854775808' }), json('writer-token')) },
    { name: 'missing counter name', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns }), json('reader-token')) },
    { name: 'lone surrogate in the name', ...post('/v1/counter/GetCount', `{"namespace":"${ns}","counter_name":"x\\ud800"}`, json('reader-token')) },
    { name: 'bad generation time', ...post('/v1/counter/AddCount', add({ idempotency_token: { token: 't9', generation_time: 'yesterday' } }), json('writer-token')) },
    { name: 'generation time far in the past', ...post('/v1/counter/AddCount', add({ idempotency_token: { token: 't8', generation_time: '2020-01-01T00:00:00Z' } }), json('writer-token')) },
    { name: 'unknown namespace', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: 'fast_nope', counter_name: 'c' }), json('reader-token')) },
    { name: 'a TimeSeries namespace', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: 'fast', counter_name: 'c' }), json('reader-token')) },
    { name: 'no token', ...post('/v1/counter/AddCount', add(), json(undefined, { 'x-request-id': 'r-5' })) },
    { name: 'unknown token', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('nobody')) },
    { name: 'malformed authorization', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), { ...json(undefined), authorization: 'Basic eA==' }) },
    { name: 'read-only token writes', ...post('/v1/counter/AddCount', add(), json('reader-token')) },
    { name: 'token of another namespace', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: 'other', counter_name: 'c' }), json('reader-token')) },
    { name: 'bad priority header', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('reader-token', { 'x-dgw-priority': 'high' })) },
    { name: 'shed (x = 0.8)', delay: 80, ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('reader-token', { 'x-request-id': 'r-6' })) },
    { name: 'shed, unauthenticated first', delay: 80, ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json(undefined)) },
    { name: 'not shed: priority header', delay: 80, ...post('/v1/counter/AddCount', add(), json('writer-token', { 'x-dgw-priority': '90' })) },
    { name: 'over the memory budget', delay: 0, squeeze: true, ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c'.repeat(980) }), json('reader-token', { 'x-request-id': 'r-7' })) },
    { name: 'too large', ...post('/v1/counter/AddCount', JSON.stringify({ namespace: ns, counter_name: 'c'.repeat(3000), delta: 1 }), json('writer-token')) },
    { name: 'empty body', ...post('/v1/counter/GetCount', '', { ...json('reader-token'), 'content-length': '0' }) },
    { name: 'text/plain', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), { ...json('reader-token'), 'content-type': 'text/plain' }) },
    { name: 'no content type', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), { authorization: 'Bearer reader-token' }) },
    { name: 'foreign origin', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('reader-token', { origin: 'https://evil.example' })) },
    { name: 'query string', ...post('/v1/counter/GetCount?x=1', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('reader-token')) },
    { name: 'chunked body', ...post('/v1/counter/GetCount', '', json('reader-token', { 'transfer-encoding': 'chunked' })), body: JSON.stringify({ namespace: ns, counter_name: 'c1' }) },
    { name: 'GET on a POST route', method: 'GET', path: '/v1/counter/GetCount', headers: json('reader-token'), body: '' },
    { name: 'GetCount after all that', ...post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: 'c1' }), json('reader-token')) },
  ];

  it('answers every request as Fastify does (status, headers, body)', async () => {
    for (const c of cases) {
      const answers: Answer[] = [];
      for (const side of [fast, slow]) {
        if (c.delay !== undefined) side.dial.delay = c.delay;
        // Everything of the memory budget but 3,000 bytes held: a body of 1,000 bytes (4,000 reserved) does not fit.
        const budget = side.t.server.memoryBudget;
        const held = c.squeeze ? budget.reserve(budget.limitBytes - budget.usedBytes - 3000, 'the test') : undefined;
        try {
          answers.push(await send(side.t.url, c.method ?? 'POST', c.path, c.headers, c.body === '' ? undefined : c.body));
        } finally {
          held?.release();
        }
      }
      const [a, b] = answers as [Answer, Answer];
      if (c.headers['x-request-id'] === undefined) {
        // A fresh UUID on each side: only its presence and shape are the same.
        assert.match(a.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/, `${c.name}: request id`);
        assert.match(b.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/, `${c.name}: request id`);
        a.headers['x-request-id'] = b.headers['x-request-id'] = 'fresh';
      }
      assert.deepEqual(a, b, `${c.name}: fast path vs Fastify`);
    }
    for (const side of [fast, slow]) side.dial.delay = 0;
    const served = fastRoutesOf(fast.t.server.app)!.served;
    // Every POST of the fast shape (all but the 8 odd shapes and the GET) went through it.
    assert.ok(served >= cases.length - 9, `fast path served ${served} of ${cases.length}`);
  });

  it('writes the same request log lines', () => {
    const strip = (l: Line) => {
      const { time: _t, pid: _p, hostname: _h, latencyMs, reqId, err, ...rest } = l;
      assert.equal(typeof latencyMs, 'number');
      return { ...rest, reqId: typeof reqId === 'string' && /^[0-9a-f-]{36}$/.test(reqId) ? 'fresh' : reqId, hasErr: err !== undefined };
    };
    const counterLines = (side: Side) => side.lines.filter((l) => typeof l.route === 'string' && (l.route as string).startsWith('/v1/counter/') && !(l.route as string).includes('namespaces')).map(strip);
    assert.deepEqual(counterLines(fast), counterLines(slow));
    assert.ok(counterLines(fast).length >= cases.length - 2);
  });

  it('answers raw bytes on one connection as Fastify does, and holds nothing once it is closed', async () => {
    const head = (path: string, length: number | string, extra = '') =>
      `POST ${path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer writer-token\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;
    const full = (path: string, body: string, extra = '') => head(path, Buffer.byteLength(body), extra) + body;
    const get = JSON.stringify({ namespace: ns, counter_name: 'c1' });
    // The last request of each case closes the connection.
    const last = full('/v1/counter/GetCount', get, 'connection: close\r\n');
    const raw: { name: string; bytes: string; end?: true }[] = [
      // After the malformed body's 400 (connection: close) the connection drops with two
      // requests already parsed and queued: before, Fastify held their body reservation
      // and admission slot forever (no 'close' for a response that never had the socket).
      { name: 'pipelined after a malformed body', bytes: full('/v1/counter/AddCount', add({ idempotency_token: { token: 'tok-raw', generation_time: time } })) + full('/v1/counter/GetCount', '{"namespace":') + full('/v1/counter/GetCount', get) + last },
      { name: 'pipelined', bytes: full('/v1/counter/GetCount', get) + full('/v1/counter/GetCount', get, 'x-request-id: r-p\r\n') + last },
      { name: 'body shorter than content-length, then the client ends', bytes: head('/v1/counter/GetCount', 100) + get, end: true },
      { name: 'body longer than content-length', bytes: head('/v1/counter/GetCount', 10) + get },
      { name: 'expect: 100-continue', bytes: full('/v1/counter/GetCount', get, 'expect: 100-continue\r\n') + last },
      { name: 'content-length with spaces and zeros', bytes: head('/v1/counter/GetCount', `  00${get.length} `) + get + last },
      { name: 'two content types', bytes: full('/v1/counter/GetCount', get, 'content-type: text/plain\r\n') + last },
      { name: 'absolute URL', bytes: `POST http://x/v1/counter/GetCount HTTP/1.1\r\nhost: x\r\nauthorization: Bearer reader-token\r\ncontent-type: application/json\r\ncontent-length: ${get.length}\r\n\r\n${get}` + last },
    ];
    const held = (side: Side) => ({ bytes: side.t.server.memoryBudget.usedBytes, inFlight: side.t.server.shedder!.inFlight });
    const base = [held(fast), held(slow)];
    for (const c of raw) {
      const answers: string[] = [];
      for (const [i, side] of [fast, slow].entries()) {
        const text = await sendRaw(side.t.server.port, c.bytes, c.end);
        answers.push(text.replace(/^date: .*$/gim, 'date: -').replace(/^x-request-id: [0-9a-f-]{36}$/gim, 'x-request-id: fresh'));
        await until(() => isDeepStrictEqual(held(side), base[i]), `${c.name}: nothing held after the connection closed (${JSON.stringify(held(side))})`);
      }
      assert.equal(answers[0], answers[1], `${c.name}: fast path vs Fastify`);
    }
  });

  it('counts the same requests in the rates and the HTTP metrics', async () => {
    const rates = async (side: Side) => {
      const res = await send(side.t.url, 'GET', '/v1/status', { authorization: 'Bearer metrics-token' });
      assert.equal(res.status, 200, res.body);
      const ops = (JSON.parse(res.body) as { requests: { operations: { operation: string; count: number; errors: number }[] } }).requests.operations;
      return ops.filter((o) => o.operation.includes('/v1/counter/') && !o.operation.includes('namespaces')).map((o) => ({ operation: o.operation, count: o.count, errors: o.errors })).sort((x, y) => x.operation.localeCompare(y.operation));
    };
    assert.deepEqual(await rates(fast), await rates(slow));
    const metrics = async (side: Side) => {
      const res = await send(side.t.url, 'GET', '/metrics', { authorization: 'Bearer metrics-token' });
      return res.body
        .split('\n')
        .filter((l) => /^dgw_http_request(s_total|_seconds_count)\{/.test(l) && l.includes('/v1/counter/') && !l.includes('namespaces'))
        .sort();
    };
    const m = await metrics(fast);
    assert.ok(m.length > 0, 'route metrics present');
    assert.deepEqual(m, await metrics(slow));
  });

  it('answers a cached GetCount at once (runNow): the same answer and counter metrics as through Fastify', async () => {
    const counted = async (side: Side) => {
      const res = await send(side.t.url, 'GET', '/metrics', { authorization: 'Bearer metrics-token' });
      return res.body.split('\n').filter((l) => /^dgw_counters_operation(s_total|_seconds_count)\{/.test(l) && l.includes('"GetCount"')).sort();
    };
    const routes = fastRoutesOf(fast.t.server.app)!;
    const before = routes.answeredNow;
    const get = (name: string) => post('/v1/counter/GetCount', JSON.stringify({ namespace: ns, counter_name: name }), json('reader-token', { 'x-request-id': 'now-1' }));
    // The first GetCount of a name reads its rollup into the cache; the next ones are answered from it.
    // c1 is cached by the calls before; 'never' from its first read on; the two bad names never.
    for (const c of [get('c1'), get('c1'), get('never'), get('never'), get('never'), get(''), get('x'.repeat(256))]) {
      const answers: Answer[] = [];
      for (const side of [fast, slow]) answers.push(await send(side.t.url, c.method, c.path, c.headers, c.body));
      assert.deepEqual(answers[0], answers[1], `${c.body}: fast path vs Fastify`);
    }
    assert.equal(routes.answeredNow - before, 4, 'answered at once: c1 twice, never twice');
    assert.deepEqual(await counted(fast), await counted(slow));
  });
});

describe('fast path on graceful shutdown: the same as through Fastify', () => {
  it('close lets a call in flight answer; a request after it gets the closing 503', async () => {
    const ns = 'fast_close';
    const get = JSON.stringify({ namespace: ns, counter_name: 'c' });
    const call = (extra: string) => `POST /v1/counter/GetCount HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${get.length}\r\n${extra}\r\n${get}`;
    const answers: string[] = [];
    for (const fastPath of [true, false]) {
      const t = await startTestServer({ httpFastPath: fastPath, shedding: { admission: { limit: 1, maxQueue: 8, maxWaitMs: 60_000 } } });
      assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, {})).status, 201);
      const shedder = t.server.shedder!;
      // The test holds the only admission slot: the call waits in the queue, in flight.
      const release = shedder.enter({ operation: 'GetCount', access: 'read', namespace: ns, header: () => undefined }, 100);
      assert.equal(typeof release, 'function');
      const socket = connect(t.server.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const socketClosed = new Promise((resolve) => socket.on('close', resolve));
      socket.write(call('x-dgw-priority: 90\r\nx-request-id: in-flight\r\n'));
      await until(() => shedder.admission.waiting === 1, 'the call waits for admission');
      const closing = t.server.close();
      // Pipelined behind the waiting call, after close began.
      socket.write(call('x-request-id: late\r\n'));
      await until(() => !t.server.app.server.listening, 'close began');
      (release as () => void)();
      await closing;
      await socketClosed;
      answers.push(Buffer.concat(chunks).toString('utf8').replace(/^date: .*$/gim, 'date: -'));
      await t.stop();
    }
    assert.equal(answers[0], answers[1], 'fast path vs Fastify');
    assert.match(answers[0]!, /^HTTP\/1\.1 200 OK\r\nx-request-id: in-flight\r\n[^]*HTTP\/1\.1 503 /);
  });
});
