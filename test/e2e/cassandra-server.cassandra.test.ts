/**
 * The server on Cassandra (issue 8): CASSANDRA clusters from the serve flags and from
 * `--config`, namespaces resolved to them with no mapping notice (events and rollups in
 * Cassandra, the index on PostgreSQL, caches on Redis), and a Cassandra that does not
 * answer at start-up: the server starts, `/readyz` answers 503 naming Cassandra, then 200
 * once it answers, with no restart. Runs on the shared node (scripts/cassandra.sh), a
 * keyspace, a PostgreSQL schema and a Redis prefix of its own.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { parseCluster, readServerConfig, type ClusterConfig } from '../../src/server/clusters.js';
import { cassandraFromFlags } from '../../src/cli/serve.js';
import { createServerStoreResolver } from '../../src/server/store-resolvers.js';
import { backendTest, deleteRedisPrefix, dropCassandraKeyspace, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { b64, startTestServer, type TestServer } from '../support/http-server.js';
import { tempDir } from '../support/temp-dir.js';

const cassGate = await backendTest('cassandra');
const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const skip = cassGate.skip || pgGate.skip || redisGate.skip;

type Json = Record<string, unknown>;

describe('Cassandra clusters in the configuration', () => {
  it('the serve flags make one CASSANDRA cluster, refusing bad values by flag name', () => {
    assert.equal(cassandraFromFlags({}), undefined);
    const c = cassandraFromFlags({ 'cassandra-contact-points': '10.0.0.1, 10.0.0.2:9043', 'cassandra-local-dc': 'eu', 'cassandra-replication': 'eu:3,us:2', 'cassandra-keyspace': 'events_eu' });
    assert.deepEqual(c, {
      name: 'cassandra',
      type: 'CASSANDRA',
      contactPoints: ['10.0.0.1', '10.0.0.2:9043'],
      localDataCenter: 'eu',
      keyspace: 'events_eu',
      replication: { class: 'NetworkTopologyStrategy', eu: 3, us: 2 },
    });
    assert.deepEqual(cassandraFromFlags({ 'cassandra-contact-points': 'h', 'cassandra-replication': '3' })?.type === 'CASSANDRA' && cassandraFromFlags({ 'cassandra-contact-points': 'h', 'cassandra-replication': '3' }), {
      name: 'cassandra',
      type: 'CASSANDRA',
      contactPoints: ['h'],
      localDataCenter: 'datacenter1',
      replication: { class: 'SimpleStrategy', replication_factor: 3 },
    });
    assert.throws(() => cassandraFromFlags({ 'cassandra-local-dc': 'eu' }), /--cassandra-local-dc needs --cassandra-contact-points/);
    assert.throws(() => cassandraFromFlags({ 'cassandra-contact-points': 'h', 'cassandra-consistency': 'MOST' }), /--cassandra-consistency/);
    assert.throws(() => cassandraFromFlags({ 'cassandra-contact-points': 'h', 'cassandra-keyspace': 'Bad-Name' }), /--cassandra-keyspace/);
    assert.throws(() => cassandraFromFlags({ 'cassandra-contact-points': 'h', 'cassandra-replication': 'eu=3' }), /--cassandra-replication/);
  });

  it('--config takes CASSANDRA entries with keyspace, replication and consistency, naming bad fields', () => {
    const file = join(tempDir(), 'dgw.json');
    writeFileSync(
      file,
      JSON.stringify({
        clusters: [
          { name: 'pg', type: 'POSTGRES', url: 'postgres://u@h/db' },
          { name: 'ev_eu', type: 'CASSANDRA', contactPoints: ['10.0.0.1'], localDataCenter: 'eu', keyspace: 'dgw_eu', replication: { class: 'NetworkTopologyStrategy', eu: 3 }, consistency: 'QUORUM' },
        ],
      }),
    );
    const clusters = readServerConfig(file);
    assert.equal(clusters[1]?.type, 'CASSANDRA');
    assert.throws(() => parseCluster({ name: 'c', type: 'CASSANDRA', contactPoints: [] }), /contactPoints/);
    assert.throws(() => parseCluster({ name: 'c', type: 'CASSANDRA', contactPoints: ['h'], url: 'x' }), /url/);
    assert.throws(() => parseCluster({ name: 'c', type: 'CASSANDRA', contactPoints: ['h'], consistency: 'MOST' }), /consistency/);
    assert.throws(() => parseCluster({ name: 'c', type: 'CASSANDRA', contactPoints: ['h'], replication: { class: 'NetworkTopologyStrategy' } }), /replication/);
  });

  it('CASSANDRA resolves to the Cassandra cluster without a notice when one is configured, and is the default type', () => {
    const clusters: ClusterConfig[] = [
      parseCluster({ name: 'pg', type: 'POSTGRES', url: 'postgres://u@h/db' }),
      parseCluster({ name: 'cass', type: 'CASSANDRA', contactPoints: ['h'] }),
      parseCluster({ name: 'cass2', type: 'CASSANDRA', contactPoints: ['h'], keyspace: 'other' }),
    ];
    const r = createServerStoreResolver(clusters, 'postgres:pg');
    assert.equal(r.defaultType, 'CASSANDRA');
    for (const role of ['events', 'rollups', 'index', 'cache'] as const) assert.deepEqual(r.resolve('CASSANDRA', '', role), { store: 'cassandra:cass' });
    assert.deepEqual(r.resolve('CASSANDRA', 'cass2', 'events'), { store: 'cassandra:cass2' });
    assert.deepEqual(r.resolve('POSTGRES', '', 'events'), { store: 'postgres:pg' });
    assert.match(r.resolve('CASSANDRA', 'cass_dgw_ts_tracing', 'events').notice ?? '', /"cass_dgw_ts_tracing" is not configured.*CASSANDRA cluster "cass"/);
    assert.equal(r.resolve('CASSANDRA', 'cass_dgw_ts_tracing', 'events').store, 'cassandra:cass');
    // Without a Cassandra cluster, the article's CASSANDRA maps to PostgreSQL, with a notice (DESIGN 3.1).
    const pgOnly = createServerStoreResolver(clusters.slice(0, 1), 'postgres:pg');
    assert.equal(pgOnly.defaultType, 'POSTGRES');
    const mapped = pgOnly.resolve('CASSANDRA', '', 'events');
    assert.equal(mapped.store, 'postgres:pg');
    assert.match(mapped.notice ?? '', /CASSANDRA is not configured on this server \(--cassandra-contact-points\)/);
  });
});

describe('dgw serve on Cassandra + PostgreSQL + Redis', { skip }, () => {
  const keyspace = uniqueName('dgw_srv');
  const schema = uniqueName('dgw_cass_srv');
  const prefix = `${schema}:`;
  let t: TestServer;

  before(async () => {
    t = await startTestServer({
      clockStart: new Date().toISOString(),
      clusters: [
        { name: 'postgres', type: 'POSTGRES', url: pgGate.url, schema },
        { name: 'redis', type: 'REDIS', url: redisGate.url, keyPrefix: prefix },
        parseCluster({ name: 'cassandra', type: 'CASSANDRA', contactPoints: [cassGate.url], keyspace }),
      ],
    });
  });
  after(async () => {
    await t?.stop();
    await dropCassandraKeyspace(keyspace, cassGate.url);
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(prefix, redisGate.url);
  });

  it('is ready; {} namespaces land on Cassandra with no notice; events, counters and search round-trip', async () => {
    assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
    const put = await t.call('PUT', '/v1/timeseries/namespaces/cass_ts', {
      persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: {} }, { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { deviceType: 'KEYWORD' } } } }],
    });
    assert.equal(put.status, 201, JSON.stringify(put.json));
    assert.deepEqual(put.json.notices ?? [], []);
    const got = await t.call('GET', '/v1/timeseries/namespaces/cass_ts');
    assert.equal(((got.json.config as Json).primary as { storage: { store: string } }).storage.store, 'cassandra:cassandra');

    const now = new Date(t.clock.nowMicros() / 1000);
    const ev = (id: string, device: string, ms: number) => ({
      timeSeriesId: 'dev1',
      eventTime: new Date(now.getTime() - ms).toISOString(),
      eventId: id,
      eventItems: [{ eventItemKey: 'deviceType', eventItemValue: b64(device) }],
    });
    const w = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: 'cass_ts', events: [ev('a', 'ios', 2000), ev('b', 'tv', 1000)] });
    assert.equal(w.status, 200, JSON.stringify(w.json));
    const read = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: 'cass_ts',
      timeSeriesId: 'dev1',
      timeInterval: { start: new Date(now.getTime() - 60_000).toISOString(), end: new Date(now.getTime() + 1000).toISOString() },
    });
    assert.equal(read.status, 200, JSON.stringify(read.json));
    assert.deepEqual(
      ((read.json.events ?? []) as Json[]).map((e) => e.eventId),
      ['b', 'a'],
    );
    const search = await t.post('/v1/timeseries/SearchEventRecords', {
      namespace: 'cass_ts',
      timeInterval: { start: new Date(now.getTime() - 60_000).toISOString(), end: new Date(now.getTime() + 1000).toISOString() },
      searchQuery: { equals: { eventItemKey: 'deviceType', eventItemValue: b64('tv') } },
    });
    assert.equal(search.status, 200, JSON.stringify(search.json));
    assert.deepEqual(((search.json.events ?? []) as Json[]).map((e) => e.eventId), ['b']);

    const ctr = await t.call('PUT', '/v1/counter/namespaces/cass_ctr', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    assert.equal(ctr.status, 201, JSON.stringify(ctr.json));
    assert.deepEqual(ctr.json.notices ?? [], []);
    for (const [token, delta] of [['t1', 5], ['t2', 7], ['t1', 5]] as const) {
      const r = await t.post('/v1/counter/AddCount', { namespace: 'cass_ctr', counter_name: 'c', delta, idempotency_token: { token, generation_time: now.toISOString() } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    assert.deepEqual((await t.post('/v1/counter/GetCount', { namespace: 'cass_ctr', counter_name: 'c' })).json, { count: '12' });

    // The rows are in Cassandra: the slice table and the rollup table of this keyspace.
    const client = new cassandra.Client({ contactPoints: [cassGate.url], localDataCenter: 'datacenter1' });
    try {
      const tables = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], { prepare: true });
      const names = tables.rows.map((r) => String(r.get('table_name')));
      assert.ok(names.some((n) => n.startsWith('e_')), names.join(','));
      assert.ok(names.some((n) => n.startsWith('r_')), names.join(','));
      let items = 0;
      for (const n of names.filter((x) => x.startsWith('e_'))) items += Number((await client.execute(`SELECT count(*) FROM ${keyspace}.${n}`)).first()?.get('count') ?? 0);
      // 2 time-series events + 2 counter events (the retried token stored once).
      assert.equal(items, 4);
    } finally {
      await client.shutdown();
    }
  });
});

/** A TCP forwarder to Cassandra on a port of its own, started and stopped by the test. */
class CassandraDoor {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number, private readonly target: string) {}
  static async freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
  }
  async open(): Promise<void> {
    const [host, port] = this.target.split(':');
    this.server = net.createServer((down) => {
      const up = net.connect({ host: host ?? '127.0.0.1', port: Number(port ?? 9042) });
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          down.destroy();
          up.destroy();
        });
      }
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }
}

describe('Cassandra unreachable at start-up', { skip }, () => {
  const keyspace = uniqueName('dgw_late');
  const schema = uniqueName('dgw_cass_late');
  let door: CassandraDoor;
  let t: TestServer;
  const warnings: string[] = [];
  const origError = console.error;

  before(async () => {
    door = new CassandraDoor(await CassandraDoor.freePort(), cassGate.url);
    console.error = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
    try {
      t = await startTestServer({
        clockStart: new Date().toISOString(),
        clusters: [
          { name: 'postgres', type: 'POSTGRES', url: pgGate.url, schema },
          parseCluster({ name: 'events', type: 'CASSANDRA', contactPoints: [`127.0.0.1:${door.port}`], keyspace, requestTimeoutMs: 2000 }),
        ],
      });
    } finally {
      console.error = origError;
    }
  });
  after(async () => {
    await t?.stop();
    await door.close();
    await dropCassandraKeyspace(keyspace, cassGate.url);
    await dropPostgresSchema(schema, pgGate.url);
  });

  it('starts, says so, is not ready (503 naming Cassandra) until Cassandra answers, then ready with no restart', async () => {
    assert.ok(
      warnings.some((w) => w.includes(`cassandra cluster "events" (127.0.0.1:${door.port} (dc datacenter1)) is not reachable at start-up`)),
      warnings.join('\n'),
    );
    const notReady = await fetch(`${t.url}/readyz`);
    assert.equal(notReady.status, 503);
    const body = (await notReady.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'UNAVAILABLE');
    assert.match(body.error.message, new RegExp(`cassandra 127\\.0\\.0\\.1:${door.port}.*not reachable`));
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);

    // The control plane (registry on PostgreSQL) works; the data plane answers UNAVAILABLE.
    const put = await t.call('PUT', '/v1/counter/namespaces/late_ctr', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    assert.equal(put.status, 201, JSON.stringify(put.json));
    const refused = await t.post('/v1/counter/GetCount', { namespace: 'late_ctr', counter_name: 'c' });
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal((refused.json.error as Json).code, 'UNAVAILABLE');

    await door.open();
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await fetch(`${t.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
    const add = { namespace: 'late_ctr', counter_name: 'c', delta: 3, idempotency_token: { token: 't1', generation_time: new Date(t.clock.nowMicros() / 1000).toISOString() } };
    assert.equal((await t.post('/v1/counter/AddCount', add)).status, 200);
    assert.deepEqual((await t.post('/v1/counter/GetCount', { namespace: 'late_ctr', counter_name: 'c' })).json, { count: '3' });
  });
});
