/**
 * Counter crash test with real processes (issue 3): a load of AddCount with idempotency
 * tokens, the server killed with SIGKILL mid-load, restarted, every unacknowledged add
 * retried with its token and generation time; after convergence every counter equals
 * the oracle exactly (acknowledged adds plus retries that succeeded).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callJson, spawnServer, type ServerProcess } from '../support/server-process.js';
import { prng } from '../support/dgw-load.js';

interface Op {
  counter: string;
  delta: number;
  token: string;
  time: string;
}


const NS = 'crash_counters';
const COUNTERS = Array.from({ length: 12 }, (_, i) => `c${i}`);

async function add(server: ServerProcess, op: Op) {
  return callJson(server.url, 'POST', '/v1/counter/AddCount', {
    namespace: NS,
    counter_name: op.counter,
    delta: op.delta,
    idempotency_token: { token: op.token, generation_time: op.time },
  });
}

describe('counter crash', () => {
  it('converges to the exact sum of acknowledged and retried adds after SIGKILL mid-load', async () => {
    const seed = Number(process.env.DGW_CRASH_SEED ?? 20241005);
    const random = prng(seed);
    const dataDir = mkdtempSync(join(tmpdir(), 'dgw-crash-'));
    try {
      let server = await spawnServer(dataDir);
      const created = await callJson(server.url, 'PUT', `/v1/counter/namespaces/${NS}`, {
        persistence_configuration: [
          {
            id: 'COUNTER_ROLLUP',
            config: { counter_type: 'EVENTUAL', skew_margin: '100ms', eventual_counter_config: { internal_config: { queue_config: { coalesce_ms: 100 } } } },
          },
          { id: 'EVENT_STORAGE', config: { accept_limit: '4s' } },
        ],
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));

      const acked: Op[] = [];
      const unacked: Op[] = [];
      let n = 0;
      const worker = async (w: number) => {
        for (;;) {
          const op: Op = {
            counter: COUNTERS[Math.floor(random() * COUNTERS.length)]!,
            delta: Math.floor(random() * 21) - 5,
            token: `w${w}-${n++}`,
            time: new Date().toISOString(),
          };
          try {
            const r = await add(server, op);
            if (r.status === 200) acked.push(op);
            else throw new Error(`status ${r.status}: ${JSON.stringify(r.json)}`);
          } catch {
            unacked.push(op); // connection reset by the crash: outcome unknown
            return;
          }
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      // Kill once a fair amount of load is acknowledged (bounded wait).
      for (let i = 0; i < 200 && acked.length < 400; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(await server.stop('SIGKILL'), 'SIGKILL');
      await load;
      assert.ok(acked.length >= 100, `only ${acked.length} adds acknowledged before the kill`);

      server = await spawnServer(dataDir);
      const expected = new Map<string, number>(COUNTERS.map((c) => [c, 0]));
      for (const op of acked) expected.set(op.counter, expected.get(op.counter)! + op.delta);
      let retriedOk = 0;
      for (const op of unacked) {
        const r = await add(server, op);
        if (r.status === 200) {
          retriedOk++;
          expected.set(op.counter, expected.get(op.counter)! + op.delta);
        } else {
          // Only a never-stored add may be refused, and only for being too old by now.
          assert.equal((r.json.error as { code: string }).code, 'FAILED_PRECONDITION', JSON.stringify(r.json));
        }
      }
      // A second retry of everything acknowledged must not change anything.
      for (const op of acked.slice(0, 50)) assert.equal((await add(server, op)).status, 200);

      // Convergence: accept_limit 4s + skew 0.1s + coalesce 0.1s; poll GetCount (it also triggers rollups).
      const deadline = Date.now() + 30_000;
      let last = new Map<string, number>();
      while (Date.now() < deadline) {
        last = new Map();
        for (const c of COUNTERS) {
          const r = await callJson(server.url, 'POST', '/v1/counter/GetCount', { namespace: NS, counter_name: c });
          last.set(c, Number(r.json.count));
        }
        if (COUNTERS.every((c) => last.get(c) === expected.get(c))) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(Object.fromEntries(last), Object.fromEntries(expected), `seed ${seed}: ${acked.length} acked, ${unacked.length} unacked, ${retriedOk} retried ok`);
      await server.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
