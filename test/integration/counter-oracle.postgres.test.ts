/**
 * The counter oracle (test/support/counter-oracle-run.ts) on PostgreSQL + Redis (issue 4):
 * two in-process dgw instances share one PostgreSQL schema (unique per run, dropped
 * afterwards) and one Redis key prefix for the rollup and counter caches.
 */
import { describe, it } from 'node:test';
import type { StoreSet } from '../../src/storage/contracts.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { createRedisStores } from '../../src/storage/redis/stores.js';
import { backendTest, deleteRedisPrefix, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { runOracle, SEEDS, STEPS, type OracleBackend } from '../support/counter-oracle-run.js';

const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');

function postgresBackend(): OracleBackend {
  const schema = uniqueName('dgw_oracle');
  const keyPrefix = `${schema}:`;
  return {
    key: 'postgres',
    async open(clock) {
      const pg = await createPostgresStores({ url: pgGate.url, schema, clock, holdClock: clock });
      const redis = await createRedisStores({ url: redisGate.url, keyPrefix });
      const stores: StoreSet = {
        name: pg.name,
        capabilities: pg.capabilities,
        events: pg.events!,
        index: pg.index!,
        rollups: pg.rollups!,
        namespaces: pg.namespaces!,
        rollupCache: redis.rollupCache!,
        counterCache: redis.counterCache!,
        ping: () => pg.ping(),
        close: async () => {
          await pg.close();
          await redis.close();
        },
      };
      return stores;
    },
    async cleanup() {
      await dropPostgresSchema(schema, pgGate.url);
      await deleteRedisPrefix(keyPrefix, redisGate.url);
    },
  };
}

describe('counter oracle on PostgreSQL + Redis (two instances, concurrent rollups)', { skip: pgGate.skip || redisGate.skip }, () => {
  for (const seed of SEEDS) {
    it(`converges to the exact oracle count (seed ${seed})`, async () => {
      try {
        await runOracle(seed, postgresBackend());
      } catch (err) {
        console.error(`counter oracle on PostgreSQL failed: reproduce with DGW_ORACLE_SEEDS=${seed} DGW_ORACLE_STEPS=${STEPS}`);
        throw err;
      }
    });
  }
});
