/**
 * The TypeScript SDK (src/client) against a real `dgw serve` process (embedded SQLite):
 * every operation through its typed method; the page iterators return every event once;
 * a walk that hits its deadline (the process stopped with SIGSTOP) returns what came
 * back, newest first, flagged partial, and resumes from its token; an unreachable
 * instance is retried on the next one for idempotent calls, never for BEST_EFFORT.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgwClient, DgwClientError, type CallEvent, type EventRecord } from '../../src/client/index.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ids = (events: EventRecord[]) => events.map((e) => e.eventId);

/** A local address nothing listens on (a port bound then released). */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('DgwClient against a real dgw process', () => {
  let dir: string;
  let server: ServerProcess;
  let client: DgwClient;
  const suffix = Math.random().toString(36).slice(2, 8);
  const tsNs = `sdk_ts_${suffix}`;
  const base = Date.now() - 10 * 60_000;
  /** 95 events, one per second, ids e00..e94 (newest = e94). */
  const events = Array.from({ length: 95 }, (_, i) => ({
    timeSeriesId: 'profile',
    eventTime: new Date(base + i * 1000),
    eventId: `e${String(i).padStart(2, '0')}`,
    eventItems: [
      { eventItemKey: 'n', eventItemValue: String(i) },
      { eventItemKey: 'app', eventItemValue: i % 2 === 0 ? 'even' : 'odd' },
    ],
  }));
  const newestFirst = ids(events.map((e) => ({ ...e, eventTime: '', eventItems: [] }))).reverse();
  const interval = { start: new Date(base - 1000), end: new Date(base + 3_600_000) };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-sdk-'));
    server = await spawnServer(dir);
    client = new DgwClient({ baseUrls: server.url });
    await client.putNamespace('timeseries', tsNs, {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', config: { acceptLimit: '1h' } },
        { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { app: 'KEYWORD', n: 'INTEGER' }, refreshInterval: '0s' } } },
      ],
      slos: { read: { latency: { target: '1s', max: '5s' } }, write: { latency: { target: '1s', max: '5s' } } },
    });
    await client.writeEventRecordsSync({ namespace: tsNs, events });
  });

  after(async () => {
    if (server) {
      server.child.kill('SIGCONT');
      await server.stop();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('namespaces: put, get (with the slos block), list, delete; errors are typed', async () => {
    const view = await client.getNamespace('timeseries', tsNs);
    assert.deepEqual(view.config.slos, { read: { targetMicros: 1_000_000, maxMicros: 5_000_000 }, write: { targetMicros: 1_000_000, maxMicros: 5_000_000 } });
    assert.ok((await client.listNamespaces('timeseries')).some((n) => n.namespace === tsNs));
    const bad = await client.putNamespace('timeseries', `sdk_bad_${suffix}`, { slos: { read: { latency: { target: '2s', max: '1s' } } } }).catch((e: unknown) => e);
    assert.ok(bad instanceof DgwClientError, String(bad));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.equal(bad.httpStatus, 400);
    assert.equal(bad.details[0]?.['field'], 'slos.read.latency.target');
    await client.putNamespace('counter', `sdk_gone_${suffix}`, {});
    await client.deleteNamespace('counter', `sdk_gone_${suffix}`);
    const gone = await client.getCount({ namespace: `sdk_gone_${suffix}`, counterName: 'x' }).catch((e: unknown) => e);
    assert.ok(gone instanceof DgwClientError && gone.code === 'NOT_FOUND', String(gone));
  });

  it('TimeSeries: write (ids made by the SDK when absent), read, search, aggregate', async () => {
    const now = new Date();
    await client.writeEventRecords({ namespace: tsNs, events: [{ timeSeriesId: 'other', eventTime: now.toISOString(), eventItems: [{ eventItemKey: 'k', eventItemValue: new Uint8Array([0, 255, 7]) }] }] });
    let other: EventRecord[] = [];
    for (let i = 0; i < 50 && other.length === 0; i++) {
      other = (await client.readEventRecords({ namespace: tsNs, timeSeriesId: 'other', timeInterval: { start: new Date(now.getTime() - 1000), end: new Date(now.getTime() + 1000) } })).events;
      if (other.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(other.length, 1, 'the buffered write is readable');
    assert.match(other[0]!.eventId, /^[0-9a-f-]{36}$/);
    assert.deepEqual([...other[0]!.eventItems[0]!.eventItemValue], [0, 255, 7]);

    const page = await client.readEventRecords({ namespace: tsNs, timeSeriesId: 'profile', timeInterval: interval, pageSize: 5, eventFilters: [{ matchEventItemKey: 'app', matchEventItemValue: 'odd' }] });
    assert.deepEqual(ids(page.events), ['e93', 'e91', 'e89', 'e87', 'e85']);
    assert.equal(page.partial, false);
    assert.equal(text(page.events[0]!.eventItems.find((i) => i.eventItemKey === 'n')!.eventItemValue), '93');
    assert.equal(new Date(page.events[0]!.eventTime).getTime(), base + 93_000);

    const found = await client.searchEventRecords({ namespace: tsNs, timeInterval: interval, searchQuery: { range: { eventItemKey: 'n', lowerBound: { eventItemValue: '90', inclusive: true } } } });
    assert.deepEqual(ids(found.events), ['e94', 'e93', 'e92', 'e91', 'e90']);
    const count = await client.aggregateEventRecords({ namespace: tsNs, timeInterval: interval, searchQuery: { equals: { eventItemKey: 'app', eventItemValue: 'even' } }, aggregationQuery: { count: {} } });
    assert.deepEqual(count, { count: 48n });
    const distinct = await client.aggregateEventRecords({ namespace: tsNs, timeInterval: interval, aggregationQuery: { distinct: { eventItemKey: 'app' } } });
    assert.ok('distinct' in distinct);
    assert.deepEqual(distinct.distinct.values.map((v) => [text(v.eventItemValue), v.count]).sort(), [['even', 48n], ['odd', 47n]]);
  });

  it('Counter: int64 as bigint through every counter method', async () => {
    const ns = `sdk_cnt_${suffix}`;
    await client.putNamespace('counter', ns, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    const big = 2n ** 60n + 3n;
    await client.addCount({ namespace: ns, counterName: 'c', delta: big });
    assert.equal(await client.addAndGetCount({ namespace: ns, counterName: 'c', delta: -1 }), big - 1n);
    assert.equal(await client.getCount({ namespace: ns, counterName: 'c' }), big - 1n);
    await client.clearCount({ namespace: ns, counterName: 'c' });
    assert.equal(await client.getCount({ namespace: ns, counterName: 'c' }), 0n);
    await assert.rejects(client.addCount({ namespace: ns, counterName: 'c', delta: 2 ** 53 }), (e: unknown) => e instanceof DgwClientError && e.code === 'INVALID_ARGUMENT');

    // Audit, recount, comparison: typed answers.
    const log: string[] = [];
    for await (const page of client.readCounterLogPages({ namespace: ns, counterName: 'c', pageSize: 1 })) {
      for (const e of page.entries) log.push(`${e.kind}:${String(e.delta)}`);
    }
    assert.deepEqual(log, ['CLEAR:undefined', 'ADD:-1', `ADD:${big}`]);
    const recount = await client.recountCount({ namespace: ns, counterName: 'c' });
    assert.equal(recount.difference, 0n);
    assert.equal(typeof recount.rollupCount, 'bigint');
    assert.equal(recount.repaired, false);
    for (let i = 0; i < 3; i++) {
      await client.addCount({ namespace: ns, counterName: 'arm_a', delta: 4 });
      await client.addCount({ namespace: ns, counterName: 'arm_b', delta: 1 });
    }
    const compared = await client.compareCounts({ namespace: ns, counterNames: ['arm_a', 'arm_b'], assignmentProbabilities: [0.5, 0.5] });
    assert.deepEqual(compared.counts, [12n, 3n]);
    assert.ok(compared.pValue > 0 && compared.pValue <= 1);
    await assert.rejects(
      client.compareCounts({ namespace: ns, counterNames: ['arm_a'], assignmentProbabilities: [1] }),
      (e: unknown) => e instanceof DgwClientError && e.code === 'INVALID_ARGUMENT' && e.message.includes('counter_names'),
    );
  });

  it('page iterators return every event once, newest first', async () => {
    const read: string[] = [];
    let pages = 0;
    for await (const page of client.readEventPages({ namespace: tsNs, timeSeriesId: 'profile', timeInterval: interval, pageSize: 10 })) {
      pages++;
      read.push(...ids(page.events));
    }
    assert.deepEqual(read, newestFirst);
    assert.ok(pages >= 10, `${pages} pages`);
    const searched: string[] = [];
    for await (const page of client.searchEventPages({ namespace: tsNs, timeInterval: interval, pageSize: 7 })) searched.push(...ids(page.events));
    assert.deepEqual(searched.filter((id) => /^e\d+$/.test(id)), newestFirst); // not the generated UUID of 'other' (it may start with e)
  });

  it('a walk that reaches its deadline returns what came back, newest first, flagged partial', async () => {
    const request = { namespace: tsNs, timeSeriesId: 'profile', timeInterval: interval, pageSize: 10 };
    let stopped = false;
    try {
      const partial = await client.readAllEventRecords(request, {
        deadlineMs: 3000,
        allowPartial: true,
        onPage: () => {
          // After the first page the only instance stops answering.
          if (!stopped) server.child.kill('SIGSTOP');
          stopped = true;
        },
      });
      assert.equal(partial.partial, true);
      assert.deepEqual(ids(partial.events), newestFirst.slice(0, 10));
      assert.ok(partial.nextPageToken, 'a token to resume from');
      server.child.kill('SIGCONT');
      const rest = await client.readAllEventRecords({ ...request, pageToken: partial.nextPageToken! });
      assert.equal(rest.partial, false);
      assert.deepEqual([...ids(partial.events), ...ids(rest.events)], newestFirst);
      // Without allowPartial the same situation is a DEADLINE_EXCEEDED.
      server.child.kill('SIGSTOP');
      await assert.rejects(client.readEventRecords(request, { deadlineMs: 500 }), (e: unknown) => e instanceof DgwClientError && e.code === 'DEADLINE_EXCEEDED');
    } finally {
      server.child.kill('SIGCONT');
    }
  });

  it('retries an idempotent call on the next instance when one is unreachable; never a BEST_EFFORT add', async () => {
    const ns = `sdk_be_${suffix}`;
    const accurate = `sdk_acc_${suffix}`;
    await client.putNamespace('counter', ns, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'BEST_EFFORT' } }] });
    await client.putNamespace('counter', accurate, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    const seen: CallEvent[] = [];
    const dead = await deadUrl();
    const twoInstances = new DgwClient({
      baseUrls: [dead, server.url],
      onEvent: (e) => seen.push(e),
      // Namespace info fetched by the first client is not shared; give the counter types here.
      namespaces: { [ns]: { counterType: 'BEST_EFFORT' }, [accurate]: { counterType: 'ACCURATE' } },
      fetchNamespaceInfo: false,
    });
    await twoInstances.addCount({ namespace: accurate, counterName: 'c', delta: 5 });
    assert.deepEqual(
      seen.filter((e) => e.type !== 'attempt').map((e) => [e.type, 'baseUrl' in e ? e.baseUrl : '', 'code' in e ? e.code : '']),
      [
        ['attempt-failed', dead, 'UNAVAILABLE'],
        ['answered', server.url, ''],
      ],
    );
    assert.equal(await client.getCount({ namespace: accurate, counterName: 'c' }), 5n);

    // A fresh client (the first one now avoids the dead instance for a while): its first
    // call starts on the dead instance.
    const fresh = new DgwClient({ baseUrls: [dead, server.url], namespaces: { [ns]: { counterType: 'BEST_EFFORT' } }, fetchNamespaceInfo: false });
    const err = await fresh.addCount({ namespace: ns, counterName: 'c', delta: 1 }).catch((e: unknown) => e);
    assert.ok(err instanceof DgwClientError, String(err));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(err.attempts, 1, 'a BEST_EFFORT add is never repeated');
  });

  it('retries RESOURCE_EXHAUSTED (a full write buffer) with backoff until the buffer drains', async () => {
    const ns = `sdk_full_${suffix}`;
    await client.putNamespace('timeseries', ns, { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { queueBuffering: { coalesce: '500ms', bufferCapacity: 1024 } } }] });
    const seen: CallEvent[] = [];
    const c = new DgwClient({ baseUrls: server.url, maxAttempts: 12, random: () => 0.5, onEvent: (e) => seen.push(e) });
    const event = (id: string) => ({ timeSeriesId: 's', eventTime: new Date(), eventId: id, eventItems: [{ eventItemKey: 'v', eventItemValue: new Uint8Array(700) }] });
    await c.writeEventRecords({ namespace: ns, events: [event('a')] });
    seen.length = 0;
    await c.writeEventRecords({ namespace: ns, events: [event('b')] }); // refused until 'a' is drained
    const failed = seen.filter((e) => e.type === 'attempt-failed');
    assert.ok(failed.length >= 1 && failed.every((e) => e.type === 'attempt-failed' && e.code === 'RESOURCE_EXHAUSTED'), JSON.stringify(seen));
    assert.equal(seen.at(-1)?.type, 'answered');
    // Backoff 25, 50, 100, ... ms (random 0.5): the retries spread out instead of hammering.
    console.log(`client-sdk: a full write buffer answered RESOURCE_EXHAUSTED ${failed.length} times before the write was queued`);
  });
});
