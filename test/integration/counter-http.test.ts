/**
 * The counter HTTP routes end to end through the real server (SQLite in a temp dir) with
 * the article's requests verbatim, both key spellings, int64 edge cases and bad inputs.
 * The server runs on a ManualClock set to the article's generation_time.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/kernel/clock.js';
import { parseTimestampMicros } from '../../src/kernel/time.js';
import { startServer, type RunningServer } from '../../src/server/runtime.js';
import { ARTICLE_COUNTER_DOC } from '../support/article-docs.js';

const ARTICLE_ADD = `{
  "namespace": "my_dataset",
  "counter_name": "counter123",
  "delta": 2,
  "idempotency_token": { 
    "token": "some_event_id",
    "generation_time": "2024-10-05T14:48:00Z"
  }
}`;
const ARTICLE_GET = `{
  "namespace": "my_dataset",
  "counter_name": "counter123"
}`;

describe('counter HTTP API', () => {
  let server: RunningServer;
  let dir: string;
  const clock = new ManualClock(parseTimestampMicros('2024-10-05T14:48:00.500Z')!);

  const post = async (method: string, body: unknown) => {
    const res = await server.app.inject({
      method: 'POST',
      url: `/v1/counter/${method}`,
      headers: { 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };
  const errorOf = (r: { body: Record<string, unknown> }) => r.body['error'] as { code: string; message: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-counter-http-'));
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: dir, clock });
    const put = await server.app.inject({ method: 'PUT', url: '/v1/counter/namespaces/my_dataset', payload: ARTICLE_COUNTER_DOC });
    assert.ok(put.statusCode === 200 || put.statusCode === 201, put.body);
    const ts = await server.app.inject({ method: 'PUT', url: '/v1/timeseries/namespaces/just_events', payload: '{}' });
    assert.ok(ts.statusCode === 200 || ts.statusCode === 201, ts.body);
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes the article's AddCount verbatim, idempotently", async () => {
    assert.deepEqual(await post('AddCount', ARTICLE_ADD), { status: 200, body: {} });
    assert.deepEqual(await post('AddCount', ARTICLE_ADD), { status: 200, body: {} }, 'retry');
    const r = await post('AddAndGetCount', ARTICLE_ADD);
    assert.deepEqual(r, { status: 200, body: { count: '2' } }, 'counted once');
  });

  it('accepts camelCase names and int64 as strings or long numbers, answering a decimal string', async () => {
    const r = await post('AddAndGetCount', {
      namespace: 'my_dataset',
      counterName: 'big',
      delta: '9007199254740993',
      idempotencyToken: { token: 'b1', generationTime: '2024-10-05T14:48:00.250Z' },
    });
    assert.deepEqual(r, { status: 200, body: { count: '9007199254740993' } });
    const raw = `{"namespace":"my_dataset","counter_name":"big","delta":-9007199254740995}`;
    assert.deepEqual(await post('AddAndGetCount', raw), { status: 200, body: { count: '-2' } });
  });

  it('GetCount is the rollup (eventually consistent) and ClearCount resets', async () => {
    assert.deepEqual(await post('GetCount', ARTICLE_GET), { status: 200, body: { count: '0' } }, 'not rolled up yet');
    clock.advance(10_000_000);
    const config = await server.namespaces.getCounter('my_dataset');
    await server.counters.rollupNow(config, 'counter123');
    assert.deepEqual(await post('GetCount', ARTICLE_GET), { status: 200, body: { count: '2' } });
    assert.deepEqual(await post('ClearCount', { namespace: 'my_dataset', counter_name: 'counter123' }), { status: 200, body: {} });
    const after = await post('AddAndGetCount', { namespace: 'my_dataset', counter_name: 'counter123', delta: 0 });
    assert.deepEqual(after.body, { count: '0' });
  });

  it('refuses bad input with a 4xx naming the field', async () => {
    const base = { namespace: 'my_dataset', counter_name: 'bad' };
    const cases: [string, unknown, number, string, RegExp][] = [
      ['AddCount', { ...base, delta: 1.5 }, 400, 'INVALID_ARGUMENT', /^delta:/],
      ['AddCount', { ...base, delta: '1e3' }, 400, 'INVALID_ARGUMENT', /^delta:/],
      ['AddCount', { ...base, delta: '9223372036854775808' }, 400, 'INVALID_ARGUMENT', /^delta:/],
      ['AddCount', '{"namespace":"my_dataset","counter_name":"bad","delta":99999999999999999999}', 400, 'INVALID_ARGUMENT', /^delta:/],
      ['AddCount', { ...base, delta: true }, 400, 'INVALID_ARGUMENT', /^delta:/],
      ['AddCount', { ...base }, 400, 'INVALID_ARGUMENT', /^delta:/],
      ['AddCount', { namespace: 'my_dataset', delta: 1 }, 400, 'INVALID_ARGUMENT', /^counter_name:/],
      ['GetCount', { namespace: 'my_dataset' }, 400, 'INVALID_ARGUMENT', /^counter_name:/],
      ['GetCount', { counter_name: 'x' }, 400, 'INVALID_ARGUMENT', /^namespace:/],
      ['AddCount', { ...base, delta: 1, idempotency_token: { token: 't' } }, 400, 'INVALID_ARGUMENT', /^idempotency_token\.generation_time:/],
      ['AddCount', { ...base, delta: 1, idempotency_token: { token: 't', generation_time: 'yesterday' } }, 400, 'INVALID_ARGUMENT', /^idempotency_token\.generation_time:/],
      ['AddCount', { ...base, delta: 1, idempotency_token: { generation_time: '2024-10-05T14:48:00Z' } }, 400, 'INVALID_ARGUMENT', /^idempotency_token\.token:/],
      ['AddCount', { ...base, delta: 1, idempotency_token: 'tok' }, 400, 'INVALID_ARGUMENT', /^idempotency_token:/],
      ['AddCount', { ...base, delta: 1, idempotency_token: { token: 'old', generation_time: '2024-10-05T14:00:00Z' } }, 400, 'FAILED_PRECONDITION', /^idempotency_token\.generation_time:/],
      ['ClearCount', { ...base, idempotency_token: { token: 'old', generation_time: '2024-10-05T14:00:00Z' } }, 400, 'FAILED_PRECONDITION', /^idempotency_token\.generation_time:/],
      ['AddCount', { namespace: 'nope', counter_name: 'x', delta: 1 }, 404, 'NOT_FOUND', /nope/],
      ['AddCount', [1, 2], 400, 'INVALID_ARGUMENT', /^body:/],
    ];
    for (const [method, body, status, code, message] of cases) {
      const r = await post(method, body);
      assert.equal(r.status, status, `${method} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(errorOf(r).code, code, JSON.stringify(r.body));
      assert.match(errorOf(r).message, message);
    }
    const wrongKind = await post('GetCount', { namespace: 'just_events', counter_name: 'x' });
    assert.ok(wrongKind.status >= 400 && wrongKind.status < 500, JSON.stringify(wrongKind.body));
    // Nothing of the refused requests was counted.
    assert.deepEqual((await post('AddAndGetCount', { ...base, delta: 0 })).body, { count: '0' });
  });

  it('a deleted and re-created namespace starts at 0, BEST_EFFORT and EVENTUAL alike (issue 14.9)', async () => {
    for (const type of ['BEST_EFFORT', 'EVENTUAL', 'ACCURATE']) {
      const ns = `recreated_${type.toLowerCase()}`;
      const doc = JSON.stringify({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] });
      for (let round = 0; round < 2; round++) {
        const put = await server.app.inject({ method: 'PUT', url: `/v1/counter/namespaces/${ns}`, payload: doc });
        assert.equal(put.statusCode, 201, put.body);
        const added = await post('AddAndGetCount', { namespace: ns, counter_name: 'c', delta: 5 });
        assert.deepEqual(added.body, { count: '5' }, `${type} round ${round}: ${JSON.stringify(added.body)}`);
        const del = await server.app.inject({ method: 'DELETE', url: `/v1/counter/namespaces/${ns}` });
        assert.ok(del.statusCode < 300, del.body);
      }
    }
  });

  it('exposes the counter metrics', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(res.body, /dgw_counters_operations_total\{counter_type="EVENTUAL",operation="AddCount",outcome="ok"\}/);
    assert.match(res.body, /dgw_counters_rollup_queue_depth/);
  });
});
