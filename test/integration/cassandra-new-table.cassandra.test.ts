/**
 * A counter namespace's first writes on several instances at once (seen in the Cassandra
 * faketime test, issue 15): while one instance creates the namespace's rollup table under
 * the schema lease, the others' statements on it fail "table ... does not exist" and
 * their retry may meet the same error (a prepare begun before the table existed, or the
 * node's schema not yet applied). Such a call must wait for the table, never answer
 * INTERNAL. Two store sets (two driver clients, as two dgw instances) on a fresh
 * keyspace; each round a new namespace, written by both at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCassandraStores } from '../../src/storage/cassandra/stores.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { backendTest, dropCassandraKeyspace, uniqueName } from '../support/backends.js';

const gate = await backendTest('cassandra');

describe('cassandra: first writes of a new counter namespace from two instances at once', { skip: gate.skip }, () => {
  const keyspace = uniqueName('dgw_newtab');
  const sets: StoreSet[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) sets.push(await createCassandraStores({ contactPoints: [gate.url], localDataCenter: 'datacenter1', keyspace }));
  });
  after(async () => {
    for (const s of sets) await s.close();
    await dropCassandraKeyspace(keyspace, gate.url);
  });

  it('every claim, mark and read succeeds while the table is being created', async () => {
    const ROUNDS = Number(process.env.DGW_NEWTAB_ROUNDS ?? 4);
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ns = `newtab_${round}`;
      const t = Date.now() * 1000;
      const calls: Promise<unknown>[] = [];
      for (const [i, set] of sets.entries()) {
        const rollups = set.rollups!;
        for (let c = 0; c < 8; c++) {
          const mark = { namespace: ns, counter: `c${c}`, eventTimeMicros: t + i * 10 + c };
          const op = c % 3;
          calls.push(
            (op === 0 ? rollups.claimWrites([mark], 2_000_000) : op === 1 ? rollups.recordWrites([mark]) : rollups.readForRollup(ns, mark.counter)).catch((err: unknown) =>
              failures.push(`round ${round} instance ${i} ${['claimWrites', 'recordWrites', 'readForRollup'][op]} c${c}: ${err instanceof Error ? err.message : String(err)}`),
            ),
          );
        }
      }
      await Promise.all(calls);
    }
    assert.deepEqual(failures, []);
  });
});
