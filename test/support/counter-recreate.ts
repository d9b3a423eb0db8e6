/**
 * Issue 15: a re-created counter namespace never inherits an instance's belief about the
 * old one; the suite shared by its deployments (PostgreSQL + Redis in
 * test/e2e/counter-recreate.postgres.test.ts, Cassandra in counter-recreate.cassandra.test.ts).
 * Two dgw servers (in process, real HTTP, real clocks) share the stores. Instance B has
 * recorded a write mark for counter `c` (and remembers it); instance A deletes and
 * re-creates the namespace and serves an add of another counter (which makes the events'
 * time slice again). B, whose namespace configuration is still the old one (cached up to
 * 2 s), then serves adds of `c` whose times its remembered mark covers. Every add
 * acknowledged after the re-create must be counted: EVENTUAL converges to it on both
 * instances, ACCURATE reads it at once.
 *
 * Before the fix B skipped the mark (its cache said "marked"), so `c` had no rollup row in
 * the new namespace and its adds were stored and never counted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server/runtime.js';
import type { ClusterConfig } from '../../src/server/clusters.js';
import { uniqueName } from './backends.js';
import { call, errorCode, isoMicros, nowMicros, pollUntil } from './dgw-load.js';

/** One deployment the suite runs on. */
export interface RecreateDeployment {
  /** Names the deployment in the suite's title ("PostgreSQL + Redis"). */
  name: string;
  /** Why the suite is skipped (a backend missing), or false. */
  skip: string | false;
  /** The clusters both servers are configured with. */
  clusters: ClusterConfig[];
  /** Store (catalog key) the counter namespaces must resolve to, e.g. "cassandra:cass". */
  counterStore: string;
  /** Drops what the run made (schemas, keyspaces, key prefixes). */
  cleanup(): Promise<void>;
}

/** Default accept_limit (5 s) and skew_margin (1 s): fresh adds go through the write-mark cache, not a claim. */
const counterDoc = (type: 'EVENTUAL' | 'ACCURATE') => ({
  persistence_configuration: [
    {
      id: 'COUNTER_ROLLUP',
      config: {
        counter_type: type,
        [type === 'EVENTUAL' ? 'eventual_counter_config' : 'accurate_counter_config']: {
          internal_config: { queue_config: { num_queues: 2, coalesce_ms: 100 } },
        },
      },
    },
  ],
});

/** Registers the suite (one describe) on `d`. */
export function describeRecreateCounters(d: RecreateDeployment): void {
  describe(`a counter namespace deleted and re-created while another instance serves adds, on ${d.name} (issue 15)`, { skip: d.skip }, () => {
    let dir: string;
    const servers: RunningServer[] = [];
    const urls: string[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dgw-recreate-'));
      const clusters = d.clusters;
      for (const i of [0, 1]) {
        const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, `d${i}`), clusters, lifecycleIntervalSeconds: 3600 });
        servers.push(server);
        urls.push(`http://127.0.0.1:${server.port}`);
      }
    });

    after(async () => {
      for (const s of servers) await s.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await d.cleanup();
    });

    for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
      it(`${type}: every add acknowledged after the re-create is counted`, async () => {
        const [a, b] = urls as [string, string];
        const ns = uniqueName(`rc_${type.toLowerCase()}`);
        const path = `/v1/counter/namespaces/${ns}`;
        const put = await call(a, 'PUT', path, counterDoc(type));
        assert.equal(put.status, 201, JSON.stringify(put.json));
        assert.match(JSON.stringify(put.json), new RegExp(`"store":"${d.counterStore}"`), `${ns} on ${d.counterStore}`);
        await pollUntil(async () => (await call(b, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: 'c' })).status === 200, 8000, () => 'B never saw the namespace', 50);
        let seq = 0;
        const addBody = (counter: string, time: number) => ({ namespace: ns, counter_name: counter, delta: 1, idempotency_token: { token: `t${seq++}`, generation_time: isoMicros(time) } });
        const add = (url: string, counter: string, time: number) => call(url, 'POST', '/v1/counter/AddCount', addBody(counter, time), 15_000);
        // A setup add that must be stored. UNAVAILABLE is an outcome the service may answer
        // (a commit slower than the write hold: the add on a slice the re-create just made
        // again waits for a Cassandra schema change); the client's answer is to send the same
        // add (same token and time) again, as the SDK does.
        const stored = async (url: string, counter: string, time: number): Promise<void> => {
          const body = addBody(counter, time);
          let r = await call(url, 'POST', '/v1/counter/AddCount', body, 15_000);
          for (let retry = 0; retry < 5 && errorCode(r) === 'UNAVAILABLE'; retry++) r = await call(url, 'POST', '/v1/counter/AddCount', body, 15_000);
          assert.equal(r.status, 200, `add of ${counter} at ${isoMicros(time)} on ${url}: ${JSON.stringify(r.json)}`);
        };

        // B reads the namespace afresh and records (and remembers) marks for `c` spanning
        // [t0, t0 + 30 s] (the second add is in the future, within the 60 s future limit):
        // the adds below then fall inside the remembered span at fresh times, however long
        // the re-create takes on the deployment (Cassandra schema changes take seconds; adds
        // at t0 itself were refused as older than the 5 s accept limit in one CI run).
        servers[1]!.namespaces.invalidate();
        const t0 = nowMicros();
        const spanEnd = t0 + 30_000_000;
        await stored(b, 'c', t0);
        await stored(b, 'c', spanEnd);

        // A deletes and re-creates the namespace, and writes another counter (its slice is made again).
        // Schema changes on Cassandra can outlast the client's default timeout (status 0 in one CI run).
        assert.equal((await call(a, 'DELETE', path, undefined, 60_000)).status, 200);
        assert.equal((await call(a, 'PUT', path, counterDoc(type), 60_000)).status, 201);
        await stored(a, 'other', nowMicros());

        // B serves adds of `c` at fresh times its remembered marks cover, with its old configuration.
        let acked = 0;
        let unknown = 0;
        const refused: string[] = [];
        for (let i = 1; i <= 20; i++) {
          const time = nowMicros();
          assert.ok(time < spanEnd - 1_000_000, `the re-create took ${((time - t0) / 1e6).toFixed(1)} s: past B's remembered span, the scenario is not exercised`);
          const r = await add(b, 'c', time);
          if (r.status === 200) acked++;
          else if (errorCode(r) === 'UNAVAILABLE') unknown++;
          else refused.push(`${r.status} ${errorCode(r)} ${String((r.json['error'] as Record<string, unknown> | undefined)?.['message'] ?? '')}`);
        }
        assert.ok(acked > 0, `no add acknowledged by B (refused: ${refused.join(', ')})`);
        const inRange = (count: bigint) => count >= BigInt(acked) && count <= BigInt(acked + unknown);
        let lastError = '';
        const read = async (url: string): Promise<bigint | undefined> => {
          const r = await call(url, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: 'c' });
          if (r.status !== 200) lastError = `${r.status} ${errorCode(r)} ${String((r.json['error'] as Record<string, unknown> | undefined)?.['message'] ?? '')}`;
          return r.status === 200 ? BigInt(String(r.json['count'])) : undefined;
        };
        if (type === 'ACCURATE') {
          const count = await read(a);
          assert.ok(count !== undefined && inRange(count), `A reads ${count}; ${acked} acknowledged, ${unknown} unknown`);
        }
        // Both instances end at the acknowledged count (EVENTUAL once rolled up: accept_limit + skew_margin).
        for (const url of [a, b]) {
          let last: bigint | undefined;
          await pollUntil(
            async () => {
              last = await read(url);
              return last !== undefined && inRange(last);
            },
            20_000,
            () => `${url === a ? 'A' : 'B'} reads ${last}${last === undefined ? ` (${lastError})` : ''}; ${acked} acknowledged after the re-create, ${unknown} unknown`,
            250,
          );
        }
      });
    }
  });
}
