/**
 * The counter oracle (test/support/counter-oracle-run.ts) on Cassandra + Redis (issue 8):
 * two in-process dgw instances share one Cassandra keyspace (unique per run, dropped
 * afterwards) for events, rollups and namespaces, and one Redis key prefix for the caches.
 * The index is not used by counters; it comes from an in-process store here.
 */
import { describe, it } from 'node:test';
import { createCassandraStores } from '../../src/storage/cassandra/stores.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { MemoryIndexStore } from '../../src/storage/memory/index-store.js';
import { createRedisStores } from '../../src/storage/redis/stores.js';
import { backendTest, deleteRedisPrefix, dropCassandraKeyspace, uniqueName } from '../support/backends.js';
import { runOracle, SEEDS, STEPS, type OracleBackend } from '../support/counter-oracle-run.js';

const cassGate = await backendTest('cassandra');
const redisGate = await backendTest('redis');

function cassandraBackend(): OracleBackend {
  const keyspace = uniqueName('dgw_oracle');
  const keyPrefix = `${keyspace}:`;
  return {
    key: 'cassandra',
    async open(clock) {
      const cass = await createCassandraStores({ contactPoints: [cassGate.url], localDataCenter: 'datacenter1', keyspace, clock, holdClock: clock });
      const redis = await createRedisStores({ url: redisGate.url, keyPrefix });
      const stores: StoreSet = {
        name: cass.name,
        capabilities: cass.capabilities,
        events: cass.events!,
        index: new MemoryIndexStore(),
        rollups: cass.rollups!,
        namespaces: cass.namespaces!,
        rollupCache: redis.rollupCache!,
        counterCache: redis.counterCache!,
        ping: () => cass.ping(),
        close: async () => {
          await cass.close();
          await redis.close();
        },
      };
      return stores;
    },
    async cleanup() {
      await dropCassandraKeyspace(keyspace, cassGate.url);
      await deleteRedisPrefix(keyPrefix, redisGate.url);
    },
  };
}

describe('counter oracle on Cassandra + Redis (two instances, concurrent rollups)', { skip: cassGate.skip || redisGate.skip }, () => {
  for (const seed of SEEDS) {
    it(`converges to the exact oracle count (seed ${seed})`, async () => {
      try {
        await runOracle(seed, cassandraBackend());
      } catch (err) {
        console.error(`counter oracle on Cassandra failed: reproduce with DGW_ORACLE_SEEDS=${seed} DGW_ORACLE_STEPS=${STEPS}`);
        throw err;
      }
    });
  }
});
