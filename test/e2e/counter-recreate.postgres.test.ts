/**
 * Issue 15: a counter namespace deleted and re-created on one instance while another, on
 * its old configuration, serves adds: every acknowledged add counted. On PostgreSQL +
 * Redis; the suite is test/support/counter-recreate.ts (also run on Cassandra in
 * counter-recreate.cassandra.test.ts).
 */
import { backendTest, deleteRedisPrefix, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { describeRecreateCounters } from '../support/counter-recreate.js';

const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const schema = uniqueName('dgw_recreate');
const keyPrefix = `${schema}:`;

describeRecreateCounters({
  name: 'PostgreSQL + Redis',
  skip: pgGate.skip || redisGate.skip,
  clusters: [
    { name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 6 },
    { name: 'cache', type: 'REDIS', url: redisGate.url, keyPrefix },
  ],
  counterStore: 'postgres:pg',
  cleanup: async () => {
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
  },
});
