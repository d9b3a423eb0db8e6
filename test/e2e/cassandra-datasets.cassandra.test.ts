/**
 * Datasets on a Cassandra cluster (issue 8): a CASSANDRA entry of `--config` lists
 * `datasets`, each with a keyspace and that keyspace's replication; a namespace whose
 * `physical_storage.dataset` names one keeps its events and rollups there
 * (store `cassandra:<cluster>/<dataset>`). The keyspace is made on first use, under the
 * cluster's schema lease, with the dataset's replication; a dataset no namespace uses
 * makes none. Two in-process servers on the shared node (scripts/cassandra.sh), first use
 * from both at once; a PostgreSQL schema of its own for the registry and index.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { parseCluster, type ClusterConfig } from '../../src/server/clusters.js';
import { createServerStoreResolver } from '../../src/server/store-resolvers.js';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { backendTest, dropCassandraKeyspace, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { b64, startTestServer, type TestServer } from '../support/http-server.js';

const cassGate = await backendTest('cassandra');
const pgGate = await backendTest('postgres');
const skip = cassGate.skip || pgGate.skip;

type Json = Record<string, unknown>;

describe('Cassandra datasets in the configuration', () => {
  it('a dataset the cluster lists resolves to its own store; another gets a notice; elsewhere dataset has no effect', () => {
    const clusters: ClusterConfig[] = [
      parseCluster({ name: 'pg', type: 'POSTGRES', url: 'postgres://u@h/db' }),
      parseCluster({ name: 'cass', type: 'CASSANDRA', contactPoints: ['h'], datasets: { tracing: {}, 'Billing-EU': { keyspace: 'billing_eu', replication: { class: 'NetworkTopologyStrategy', eu: 3 } } } }),
    ];
    const r = createServerStoreResolver(clusters, 'postgres:pg');
    assert.deepEqual(r.resolve('CASSANDRA', '', 'events', 'tracing'), { store: 'cassandra:cass/tracing', datasetHandled: true });
    assert.deepEqual(r.resolve('CASSANDRA', 'cass', 'rollups', 'Billing-EU'), { store: 'cassandra:cass/Billing-EU', datasetHandled: true });
    assert.deepEqual(r.resolve('CASSANDRA', '', 'events'), { store: 'cassandra:cass' });
    const other = r.resolve('CASSANDRA', '', 'events', 'other');
    assert.equal(other.store, 'cassandra:cass');
    assert.match(other.notice ?? '', /dataset "other" is not configured on CASSANDRA cluster "cass" \(its datasets: "tracing", "Billing-EU"\); stored in the cluster's keyspace dgw/);
    // Index and caches are not in the keyspace: a dataset there has no effect, as on PostgreSQL.
    assert.deepEqual(r.resolve('CASSANDRA', '', 'cache', 'tracing'), { store: 'cassandra:cass' });
    assert.deepEqual(r.resolve('POSTGRES', '', 'events', 'tracing'), { store: 'postgres:pg' });

    const doc = (dataset: string) => ({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', physical_storage: { type: 'CASSANDRA', dataset }, config: { counter_type: 'EVENTUAL' } }] });
    const placed = parseCounterNamespace('n1', doc('tracing'), r);
    assert.equal(placed.config.rollup.storage.store, 'cassandra:cass/tracing');
    assert.equal(placed.config.rollup.storage.dataset, 'tracing');
    assert.deepEqual(placed.notices, []);
    const onPg = parseCounterNamespace('n2', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', physical_storage: { type: 'POSTGRES', dataset: 'tracing' } }] }, r);
    assert.deepEqual(onPg.notices, ['persistence_configuration[0].physical_storage.dataset: accepted but has no effect: namespaces are kept apart by name inside the store; dataset is stored and returned only']);
  });

  it('--config refuses a dataset without a usable keyspace, a keyspace used twice, and unknown fields, by name', () => {
    const base = { name: 'c', type: 'CASSANDRA', contactPoints: ['h'] };
    assert.throws(() => parseCluster({ ...base, datasets: { 'Tracing-x': {} } }), /datasets\.Tracing-x\.keyspace: required: the dataset name "Tracing-x" is not a keyspace name/);
    assert.throws(() => parseCluster({ ...base, datasets: { dgw: {} } }), /datasets\.dgw\.keyspace: keyspace dgw is already the cluster's/);
    assert.throws(() => parseCluster({ ...base, datasets: { a: { keyspace: 'k' }, b: { keyspace: 'k' } } }), /datasets\.b\.keyspace: keyspace k is already dataset "a"'s/);
    assert.throws(() => parseCluster({ ...base, datasets: { a: { replication: { class: 'NetworkTopologyStrategy' } } } }), /datasets\.a\.replication/);
    assert.throws(() => parseCluster({ ...base, datasets: { a: { bogus: 1 } } }), /datasets\.a: Unrecognized key: "bogus"/);
  });
});

describe('namespaces in a dataset keyspace on the real node', { skip }, () => {
  const main = uniqueName('dgw_ds_main');
  const tracing = uniqueName('dgw_ds_tr');
  const unused = uniqueName('dgw_ds_unused');
  const schema = uniqueName('dgw_cass_ds');
  let a: TestServer;
  let b: TestServer;
  let cql: cassandra.Client;

  before(async () => {
    const clusters: ClusterConfig[] = [
      { name: 'postgres', type: 'POSTGRES', url: pgGate.url, schema },
      parseCluster({
        name: 'cass',
        type: 'CASSANDRA',
        contactPoints: [cassGate.url],
        keyspace: main,
        datasets: {
          tracing: { keyspace: tracing, replication: { class: 'NetworkTopologyStrategy', datacenter1: 1 } },
          unused: { keyspace: unused },
        },
      }),
    ];
    a = await startTestServer({ clockStart: new Date().toISOString(), clusters });
    b = await startTestServer({ clockStart: new Date().toISOString(), clusters });
    cql = new cassandra.Client({ contactPoints: [cassGate.url], localDataCenter: 'datacenter1' });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await cql?.shutdown();
    for (const ks of [main, tracing, unused]) await dropCassandraKeyspace(ks, cassGate.url);
    await dropPostgresSchema(schema, pgGate.url);
  });

  const replicationOf = async (ks: string) => {
    const rs = await cql.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [ks], { prepare: true });
    return rs.first()?.get('replication') as Record<string, string> | undefined;
  };
  const tablesOf = async (ks: string) => {
    const rs = await cql.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [ks], { prepare: true });
    return rs.rows.map((r) => String(r.get('table_name')));
  };

  it('the keyspace is made on first use (two instances at once) with the dataset\'s replication; events and counters live there', async () => {
    for (const t of [a, b]) assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
    assert.equal(await replicationOf(tracing), undefined, 'no keyspace before first use (not at start, not by /readyz)');
    assert.equal((await replicationOf(main))?.['class'], 'org.apache.cassandra.locator.SimpleStrategy');

    const storage = { type: 'CASSANDRA', dataset: 'tracing' };
    const put = await a.call('PUT', '/v1/timeseries/namespaces/ds_ts', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', physical_storage: storage, config: {} }] });
    assert.equal(put.status, 201, JSON.stringify(put.json));
    assert.deepEqual(put.json.notices ?? [], []);
    const got = await a.call('GET', '/v1/timeseries/namespaces/ds_ts');
    assert.deepEqual((((got.json.config as Json).primary as Json).storage as Json), { requestedType: 'CASSANDRA', requestedCluster: '', dataset: 'tracing', store: 'cassandra:cass/tracing' });

    // First use on both instances at once: one makes the keyspace, both write.
    const now = Date.now();
    const ev = (id: string, ms: number) => ({ timeSeriesId: 'dev1', eventTime: new Date(now - ms).toISOString(), eventId: id, eventItems: [{ eventItemKey: 'k', eventItemValue: b64(id) }] });
    const writes = await Promise.all([
      a.post('/v1/timeseries/WriteEventRecordsSync', { namespace: 'ds_ts', events: [ev('a', 2000)] }),
      b.post('/v1/timeseries/WriteEventRecordsSync', { namespace: 'ds_ts', events: [ev('b', 1000)] }),
    ]);
    for (const w of writes) assert.equal(w.status, 200, JSON.stringify(w.json));
    const read = await b.post('/v1/timeseries/ReadEventRecords', {
      namespace: 'ds_ts',
      timeSeriesId: 'dev1',
      timeInterval: { start: new Date(now - 60_000).toISOString(), end: new Date(now + 1000).toISOString() },
    });
    assert.equal(read.status, 200, JSON.stringify(read.json));
    assert.deepEqual(((read.json.events ?? []) as Json[]).map((e) => e.eventId), ['b', 'a']);

    assert.deepEqual(await replicationOf(tracing), { class: 'org.apache.cassandra.locator.NetworkTopologyStrategy', datacenter1: '1' });
    const ctr = await a.call('PUT', '/v1/counter/namespaces/ds_ctr', {
      persistence_configuration: [
        { id: 'COUNTER_ROLLUP', physical_storage: storage, config: { counter_type: 'ACCURATE' } },
        { id: 'EVENT_STORAGE', physical_storage: storage },
      ],
    });
    assert.equal(ctr.status, 201, JSON.stringify(ctr.json));
    assert.deepEqual(ctr.json.notices ?? [], []);
    for (const [t, token, delta] of [[a, 't1', 5], [b, 't2', 7], [b, 't1', 5]] as const) {
      const r = await t.post('/v1/counter/AddCount', { namespace: 'ds_ctr', counter_name: 'c', delta, idempotency_token: { token, generation_time: new Date(now).toISOString() } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    assert.deepEqual((await b.post('/v1/counter/GetCount', { namespace: 'ds_ctr', counter_name: 'c' })).json, { count: '12' });

    const inDataset = await tablesOf(tracing);
    assert.ok(inDataset.filter((n) => n.startsWith('e_')).length >= 2, `slice tables of both namespaces in ${tracing}: ${inDataset.join(',')}`);
    assert.ok(inDataset.some((n) => n.startsWith('r_')), `the rollup table in ${tracing}: ${inDataset.join(',')}`);
    const inMain = await tablesOf(main);
    assert.deepEqual(inMain.filter((n) => n.startsWith('e_') || n.startsWith('r_')), [], `nothing of the dataset's namespaces in ${main}`);
    let items = 0;
    for (const n of inDataset.filter((x) => x.startsWith('e_'))) items += Number((await cql.execute(`SELECT count(*) FROM ${tracing}.${n}`)).first()?.get('count') ?? 0);
    assert.equal(items, 4, '2 events + 2 counter events (the retried token once)');

    // A dataset the cluster does not list: the cluster's keyspace, with a notice.
    const elsewhere = await a.call('PUT', '/v1/counter/namespaces/ds_other', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', physical_storage: { type: 'CASSANDRA', dataset: 'other' } }] });
    assert.equal(elsewhere.status, 201, JSON.stringify(elsewhere.json));
    assert.deepEqual(elsewhere.json.notices, [
      `persistence_configuration[0].physical_storage: dataset "other" is not configured on CASSANDRA cluster "cass" (its datasets: "tracing", "unused"); stored in the cluster's keyspace ${main}`,
    ]);
    assert.equal(await replicationOf(unused), undefined, 'a dataset no namespace uses makes no keyspace');
  });
});
