/**
 * The storage conformance suite on a real Cassandra node (scripts/cassandra.sh start; CI
 * starts one): its own random keyspace, dropped after. The index and caches are not part
 * of the Cassandra store set and are skipped here (they come from other stores).
 */
import { after, describe } from 'node:test';
import { runConformance } from '../../src/storage/conformance.js';
import { createCassandraStores } from '../../src/storage/cassandra/stores.js';
import { backendTest, dropCassandraKeyspace, uniqueName } from '../support/backends.js';

const gate = await backendTest('cassandra');

describe('cassandra conformance', { skip: gate.skip }, () => {
  const keyspace = uniqueName('dgw_conf');
  after(async () => {
    await dropCassandraKeyspace(keyspace, gate.url);
  });
  runConformance('cassandra', () => createCassandraStores({ contactPoints: [gate.url], localDataCenter: 'datacenter1', keyspace }));
});
