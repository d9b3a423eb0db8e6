/**
 * The storage conformance suite on a real Cassandra node (scripts/cassandra.sh start; CI
 * starts one): its own random keyspace, dropped after. The index and caches are not part
 * of the Cassandra store set and are skipped here (they come from other stores). Run
 * again on a dataset's store set (events and rollups in the dataset's keyspace, made on
 * its first call; the cluster's client, clock and schema lease).
 */
import { after, describe } from 'node:test';
import { runConformance } from '../../src/storage/conformance.js';
import { createCassandraCluster, createCassandraStores } from '../../src/storage/cassandra/stores.js';
import { backendTest, dropCassandraKeyspace, uniqueName } from '../support/backends.js';

const gate = await backendTest('cassandra');

describe('cassandra conformance', { skip: gate.skip }, () => {
  const keyspace = uniqueName('dgw_conf');
  after(async () => {
    await dropCassandraKeyspace(keyspace, gate.url);
  });
  runConformance('cassandra', () => createCassandraStores({ contactPoints: [gate.url], localDataCenter: 'datacenter1', keyspace }));
});

describe('cassandra conformance, a dataset keyspace', { skip: gate.skip }, () => {
  const keyspace = uniqueName('dgw_conf_main');
  const dataset = uniqueName('dgw_conf_ds');
  after(async () => {
    await dropCassandraKeyspace(dataset, gate.url);
    await dropCassandraKeyspace(keyspace, gate.url);
  });
  runConformance('cassandra dataset', async () => {
    const cluster = await createCassandraCluster({ contactPoints: [gate.url], localDataCenter: 'datacenter1', keyspace, datasets: { ds: { keyspace: dataset } } });
    const set = cluster.datasets.get('ds')!;
    // The dataset's set shares the cluster's client: closing it closes the cluster's set too.
    return { ...set, close: async () => { await set.close(); await cluster.main.close(); } };
  });
});
