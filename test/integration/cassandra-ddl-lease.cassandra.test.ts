/**
 * The schema lease's release (src/storage/cassandra/ddl-lease.ts), seen in the three-node
 * cluster run: three instances creating slices at once, one instance's `DELETE ... IF
 * owner = ?` lost its Paxos round to the others' acquire rounds and timed out; the release
 * was given up, the row stayed for its TTL, and another instance's createSlice failed
 * UNAVAILABLE "still held by another instance" after its whole wait. A release that fails
 * is retried. Two leases (two instances) on one real keyspace; the first instance's first
 * DELETE fails as the timed-out round did.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { CassandraDb, consistencyCode, type ExecuteOptions } from '../../src/storage/cassandra/database.js';
import { DdlLease, LEASE_TABLE } from '../../src/storage/cassandra/ddl-lease.js';
import { createCassandraStores } from '../../src/storage/cassandra/stores.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { backendTest, dropCassandraKeyspace, uniqueName } from '../support/backends.js';

const gate = await backendTest('cassandra');

/** A session whose first `failures` lease releases fail as a Paxos round lost to contention does. */
class ReleaseFails extends CassandraDb {
  deletes = 0;
  constructor(
    client: cassandra.Client,
    keyspace: string,
    private failures: number,
  ) {
    super(client, keyspace, consistencyCode('LOCAL_QUORUM', 'c'), consistencyCode('LOCAL_SERIAL', 's'));
  }
  override execute(query: string, params: unknown[], options?: ExecuteOptions): Promise<cassandra.types.ResultSet> {
    if (query.startsWith('DELETE')) {
      this.deletes++;
      if (this.failures > 0) {
        this.failures--;
        return Promise.reject(new Error('Server timeout during write query at consistency SERIAL (CAS contention)'));
      }
    }
    return super.execute(query, params, options);
  }
}

describe('cassandra: the schema lease is released even when a release round fails', { skip: gate.skip }, () => {
  const keyspace = uniqueName('dgw_lease');
  let stores: StoreSet;
  let client: cassandra.Client;
  before(async () => {
    stores = await createCassandraStores({ contactPoints: [gate.url], localDataCenter: 'datacenter1', keyspace });
    await stores.ping(); // the keyspace and its lease table exist from here on
    client = new cassandra.Client({ contactPoints: [gate.url], localDataCenter: 'datacenter1' });
    await client.connect();
  });
  after(async () => {
    await client?.shutdown();
    await stores?.close();
    await dropCassandraKeyspace(keyspace, gate.url);
  });

  it('a release that fails once is retried: the next instance takes the lease within its wait', async () => {
    const first = new ReleaseFails(client, keyspace, 1);
    const second = new ReleaseFails(client, keyspace, 0);
    // Waits far shorter than the TTL: a lease left to its TTL fails the second run.
    const a = new DdlLease(first, { ttlSeconds: 60, waitMs: 3000 });
    const b = new DdlLease(second, { ttlSeconds: 60, waitMs: 3000 });
    assert.equal(await a.run('first', async () => 'done'), 'done');
    assert.equal(first.deletes, 2, 'the failed release was tried again');
    const rows = await client.execute(`SELECT owner FROM ${keyspace}.${LEASE_TABLE} WHERE name = 'ddl'`, [], { consistency: cassandra.types.consistencies.serial });
    assert.equal(rows.rowLength, 0, 'no lease row is left behind');
    assert.equal(await b.run('second', async () => 'also done'), 'also done');
  });
});
