/**
 * Issue 15: a counter namespace deleted and re-created on one instance while another, on
 * its old configuration, serves adds: every acknowledged add counted, with the counters
 * on Cassandra (events and rollups in a keyspace of this run on the shared node; dropping
 * the namespace drops its rollup and slice tables, re-creating makes them again). The
 * suite is test/support/counter-recreate.ts.
 */
import { parseCluster } from '../../src/server/clusters.js';
import { backendTest, deleteRedisPrefix, dropCassandraKeyspace, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { describeRecreateCounters } from '../support/counter-recreate.js';

const cassGate = await backendTest('cassandra');
const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const keyspace = uniqueName('dgw_recreate');
const schema = uniqueName('dgw_recreate_cass');
const keyPrefix = `${schema}:`;

describeRecreateCounters({
  name: 'Cassandra',
  skip: cassGate.skip || pgGate.skip || redisGate.skip,
  clusters: [
    { name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 6 },
    { name: 'cache', type: 'REDIS', url: redisGate.url, keyPrefix },
    parseCluster({ name: 'cass', type: 'CASSANDRA', contactPoints: [cassGate.url], keyspace }),
  ],
  counterStore: 'cassandra:cass',
  cleanup: async () => {
    await dropCassandraKeyspace(keyspace, cassGate.url);
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
  },
});
