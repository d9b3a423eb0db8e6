/**
 * Issue 15 with real processes and real clocks that disagree, with the counters on
 * Cassandra (events and rollups in a keyspace of this run on the shared node of
 * scripts/cassandra.sh; registry and index on PostgreSQL, caches on Redis): the suite of
 * test/support/counter-faketime.ts (instances under libfaketime at +3 s, −3 s and +10 s;
 * every acknowledged add counted on EVENTUAL and ACCURATE; the offsets from Cassandra's
 * `currentTimestamp()` and PostgreSQL's clock on /metrics; /readyz).
 */
import { backendTest, deleteRedisPrefix, dropCassandraKeyspace, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { describeFaketimeCounters, faketimeLibrary } from '../support/counter-faketime.js';

const cassGate = await backendTest('cassandra');
const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const lib = faketimeLibrary();
const keyspace = uniqueName('dgw_faketime');
const schema = uniqueName('dgw_faketime_cass');
const keyPrefix = `${schema}:`;

describeFaketimeCounters({
  name: 'Cassandra',
  skip: cassGate.skip || pgGate.skip || redisGate.skip || (lib === undefined ? 'libfaketime missing' : false),
  lib,
  clusters: [
    { name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 6 },
    { name: 'cache', type: 'REDIS', url: redisGate.url, keyPrefix },
    { name: 'cass', type: 'CASSANDRA', contactPoints: [cassGate.url], keyspace },
  ],
  counterStore: 'cassandra:cass',
  clockStores: ['cassandra:cass', 'postgres:pg'],
  cleanup: async () => {
    await dropCassandraKeyspace(keyspace, cassGate.url);
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
  },
});
