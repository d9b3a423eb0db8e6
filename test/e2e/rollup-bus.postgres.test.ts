/**
 * The durable rollup tier with real processes (issue 13): three `dgw serve` instances on
 * one PostgreSQL (a private schema) and one NATS JetStream stream (a private stream),
 * selected by the `nats` section of --config.
 *
 * Every instance runs with `--lifecycle-interval 1h`: no sweeper pass happens during the
 * tests, so every rollup they see is one the bus asked for.
 *
 * - Shared work, once per window: a load of tokened adds spread over the three
 *   instances; every counter converges to the exact oracle, and, summed over the three
 *   instances' metrics, every (counter, coalesce window) event the stream accepted
 *   (dgw_rollup_bus_published_total) was handled exactly once: by one rollup
 *   (dgw_counters_bus_rollups_total) or one skip that wrote nothing because an earlier
 *   rollup already covered its window (dgw_counters_bus_skipped_total); none redelivered,
 *   none fell back in process, and no rollup ran outside the bus
 *   (dgw_counters_rollups_total equals the bus rollups). Each instance did some.
 * - Crash: one instance is killed with SIGKILL while it holds delivered, unacknowledged
 *   rollup events (the load only writes through the others, and stops as it is killed);
 *   the stream redelivers them to the survivors (redelivered > 0 there) and every counter
 *   reaches its oracle count with no further read or write of any counter (the rollup
 *   store is read back through RecountCount, which triggers no rollup) and without the
 *   sweeper (dgw_counters_swept_total stays 0).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { call, pollUntil } from '../support/dgw-load.js';
import { counterDoc, deleteStream, metricSum, mismatches, runLoad, writeDeployment, type Deployment, type Instance } from '../support/rollup-bus-cluster.js';
import { spawnServer } from '../support/server-process.js';

const pgGate = await backendTest('postgres');
const natsGate = await backendTest('nats');
const skip = pgGate.skip || natsGate.skip;

/** Coalesce window of the test namespaces (ms). */
const COALESCE_MS = 500;
/**
 * Ack wait of the stream: how long a dead instance's events stay with it. Events are held
 * until due (at most about 3.4 s after they are published: window end rounded up to the
 * second, + accept limit 2 s + skew 0.2 s, or + write hold 2 s + 2 × skew), within half of it.
 */
const ACK_WAIT_MS = 10_000;
/** No lifecycle pass (so no sweeper) while the tests run. */
const NO_SWEEPER = ['--lifecycle-interval', '1h'];

/** Every add's outcome is known: stored (in the oracle) or refused as never stored. */
function assertKnownOutcomes(failures: Map<string, number>): void {
  assert.deepEqual([...failures.keys()].filter((code) => code !== 'FAILED_PRECONDITION'), [], `adds of unknown outcome: ${JSON.stringify([...failures])}`);
}

describe('durable rollup queue: three instances on PostgreSQL + NATS JetStream', { skip }, () => {
  let dir: string;
  let deployment: Deployment;
  let instances: Instance[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-bus-'));
    deployment = writeDeployment(dir, pgGate.url, natsGate.url, ACK_WAIT_MS);
    instances.push(await spawnServer(join(dir, 'd0'), ['--config', deployment.configPath, ...NO_SWEEPER]));
    instances.push(...(await Promise.all([1, 2].map((i) => spawnServer(join(dir, `d${i}`), ['--config', deployment.configPath, ...NO_SWEEPER])))));
  });

  after(async () => {
    await Promise.all(instances.map((s) => s.stop()));
    if (process.env.DGW_TEST_VERBOSE) for (const s of instances) console.log(s.output());
    instances = [];
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (deployment) {
      await dropPostgresSchema(deployment.schema, pgGate.url);
      await deleteStream(natsGate.url, deployment.stream);
    }
  });

  /** Creates a counter namespace on instance 0 and waits until every instance serves it. */
  async function createNamespace(prefix: string): Promise<string> {
    const ns = uniqueName(prefix);
    const r = await call(instances[0]!.url, 'PUT', `/v1/counter/namespaces/${ns}`, counterDoc(COALESCE_MS));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    await pollUntil(
      async () => {
        for (const s of instances) if ((await call(s.url, 'POST', '/v1/counter/RecountCount', { namespace: ns, counter_name: 'probe' })).status !== 200) return false;
        return true;
      },
      15_000,
      () => `namespace ${ns} not served by every instance`,
    );
    return ns;
  }

  it('shares the rollups: each (counter, window) event handled once over all instances, counts exact', async () => {
    const ns = await createNamespace('bus_share');
    const counters = Array.from({ length: 20 }, (_, i) => `s${i}`);
    // A few hundred adds, several windows long (bounded in time on a loaded machine).
    const until = Date.now() + 30_000;
    let calls = 0;
    const load = await runLoad(() => instances.map((s) => s.url), ns, counters, COALESCE_MS, () => Date.now() > until || ++calls > 400);
    assertKnownOutcomes(load.failures);
    assert.ok(load.acked >= 60, `only ${load.acked} adds`);
    await pollUntil(async () => (await mismatches(instances[0]!.url, ns, counters, load.oracle)).length === 0, 120_000, async () => (await mismatches(instances[0]!.url, ns, counters, load.oracle)).join('; '), 250);

    /** One metric summed over the three instances. */
    const total = async (name: string, labels: Record<string, string> = {}) => (await Promise.all(instances.map((s) => metricSum(s.url, name, labels)))).reduce((a, b) => a + b, 0);
    // Counts can be exact before the last events are due (they may find nothing left):
    // wait until every event the stream accepted is acknowledged.
    await pollUntil(
      async () => (await total('dgw_rollup_bus_acknowledged_total')) >= (await total('dgw_rollup_bus_published_total')),
      60_000,
      async () => `acknowledged ${await total('dgw_rollup_bus_acknowledged_total')} of ${await total('dgw_rollup_bus_published_total')} published`,
      250,
    );
    const published = await total('dgw_rollup_bus_published_total');
    const acknowledged = await total('dgw_rollup_bus_acknowledged_total');
    const perInstance = await Promise.all(instances.map((s) => metricSum(s.url, 'dgw_counters_bus_rollups_total', { namespace: ns })));
    const busRollups = perInstance.reduce((a, b) => a + b, 0);
    const skipped = await total('dgw_counters_bus_skipped_total', { namespace: ns });
    const allRollups = await total('dgw_counters_rollups_total', { namespace: ns });
    const redelivered = await total('dgw_rollup_bus_redelivered_total');
    const deferred = await total('dgw_rollup_bus_deferred_total');
    const fallbacks = await total('dgw_counters_bus_fallbacks_total', { namespace: ns });
    const outcomes = await Promise.all(['applied', 'superseded', 'noop', 'error'].map((outcome) => total('dgw_counters_bus_rollups_total', { namespace: ns, outcome })));
    console.log(
      `rollup bus, shared: ${load.acked} adds over ${counters.length} counters; ${published} (counter, window) events published ` +
        `(the client saw ${load.windows.size} pairs by its own clock); handled: ${busRollups} rollups (per instance ${perInstance.join('/')}; ` +
        `applied/superseded/noop/error ${outcomes.join('/')}) + ${skipped} skipped = ${busRollups + skipped}; acknowledged ${acknowledged}; ` +
        `all rollups ${allRollups}; redelivered ${redelivered}; deferred ${deferred}; fallbacks ${fallbacks}`,
    );
    assert.ok(perInstance.every((n) => n > 0), `every instance rolls up some counters: ${perInstance.join('/')}`);
    assert.equal(fallbacks, 0, 'no event fell back to an in-process queue');
    assert.equal(redelivered, 0, 'no event was handled twice');
    // Once per window: every accepted event handled by exactly one rollup or one skip.
    assert.equal(busRollups + skipped, published, 'events handled (rollups + skips) = events published');
    assert.equal(acknowledged, published);
    assert.equal(allRollups, busRollups, 'every rollup was one the bus asked for (no in-process queue, no sweeper)');
  });

  it('a SIGKILLed instance holding unacknowledged events: the others get them again, counts exact with no further read or write', async () => {
    const ns = await createNamespace('bus_crash');
    const counters = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const victim = instances[2]!;
    // Writes go through the survivors only, so no acknowledged add is lost with the victim.
    const writers = [instances[0]!.url, instances[1]!.url];
    let stop = false;
    const loading = runLoad(() => writers, ns, counters, COALESCE_MS, () => stop);
    // Once the victim has handled bus events (it takes about a third of them), kill it mid-load.
    await pollUntil(async () => (await metricSum(victim.url, 'dgw_counters_bus_rollups_total', { namespace: ns })) >= 5, 60_000, () => 'the victim never handled a bus event');
    const redeliveredBefore = await Promise.all(instances.slice(0, 2).map((s) => metricSum(s.url, 'dgw_rollup_bus_redelivered_total')));
    stop = true;
    assert.equal(await victim.stop('SIGKILL'), 'SIGKILL');
    const load = await loading;
    assertKnownOutcomes(load.failures);
    const survivors = instances.slice(0, 2);
    instances = instances.slice(0, 2);

    // No read or write of a counter from here on: only the stored rollups are looked at.
    const convergedMs = await pollUntil(
      async () => (await mismatches(survivors[0]!.url, ns, counters, load.oracle)).length === 0,
      120_000,
      async () => (await mismatches(survivors[0]!.url, ns, counters, load.oracle)).join('; '),
      250,
    );
    const redelivered = await Promise.all(survivors.map((s) => metricSum(s.url, 'dgw_rollup_bus_redelivered_total')));
    const swept = await Promise.all(survivors.map((s) => metricSum(s.url, 'dgw_counters_swept_total')));
    const deferred = await Promise.all(survivors.map((s) => metricSum(s.url, 'dgw_rollup_bus_deferred_total')));
    console.log(
      `rollup bus, crash: ${load.acked} adds over ${counters.length} counters; exact ${Math.round(convergedMs)} ms after the kill; ` +
        `redelivered to the survivors ${redeliveredBefore.join('/')} before the kill, ${redelivered.join('/')} after; deferred ${deferred.join('/')}; swept ${swept.join('/')}`,
    );
    assert.ok(redelivered[0]! + redelivered[1]! > redeliveredBefore[0]! + redeliveredBefore[1]!, 'the victim\'s unacknowledged events were delivered again to a survivor');
    assert.deepEqual(swept, [0, 0], 'no sweeper pass ran: the bus alone finished the victim\'s events');
  });
});
