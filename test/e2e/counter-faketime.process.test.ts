/**
 * Issue 15 with real processes and real clocks that disagree, on PostgreSQL + Redis: the
 * suite of test/support/counter-faketime.ts (instances under libfaketime at +3 s, −3 s and
 * +10 s; every acknowledged add counted on EVENTUAL and ACCURATE; the offset on /metrics;
 * /readyz). The same suite runs on Cassandra in counter-faketime.cassandra.test.ts.
 */
import { backendTest, deleteRedisPrefix, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { describeFaketimeCounters, faketimeLibrary } from '../support/counter-faketime.js';

const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const lib = faketimeLibrary();
const schema = uniqueName('dgw_faketime');
const keyPrefix = `${schema}:`;

describeFaketimeCounters({
  name: 'PostgreSQL + Redis',
  skip: pgGate.skip || redisGate.skip || (lib === undefined ? 'libfaketime missing' : false),
  lib,
  clusters: [
    { name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 6 },
    { name: 'cache', type: 'REDIS', url: redisGate.url, keyPrefix },
  ],
  counterStore: 'postgres:pg',
  clockStores: ['postgres:pg'],
  cleanup: async () => {
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
  },
});
