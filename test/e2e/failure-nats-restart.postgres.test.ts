/**
 * NATS restarted mid-load (issue 13): two dgw instances on the shared PostgreSQL (a
 * private schema) with the durable rollup queue on a PRIVATE nats-server (free port, own
 * JetStream store dir), so restarting it never disturbs the shared NATS on :4222 other
 * tests use. The server is stopped by its pid (SIGTERM) mid-load, held down, and started
 * again on the same port and store; it is always started again (finally) before the
 * assertions.
 *
 * Asserted: no add fails (the write mark, not the bus, is what an add needs); while NATS
 * is down rollup events fall back to the in-process queues (fallbacks > 0); after the
 * restart the instances publish to the bus again by themselves; every counter converges to
 * the exact oracle.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { call, pollUntil } from '../support/dgw-load.js';
import { PrivateNats, privateServersTest } from '../support/private-servers.js';
import { counterDoc, metricSum, mismatches, runLoad, writeDeployment, type Deployment, type Instance } from '../support/rollup-bus-cluster.js';
import { spawnServer } from '../support/server-process.js';

const pgGate = await backendTest('postgres');
const natsGate = await privateServersTest({ private: ['nats'] });
const skip = pgGate.skip || natsGate.skip;
const COALESCE_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('NATS restarted mid-load (durable rollup queue)', { skip }, () => {
  let nats: PrivateNats | undefined;
  let dir: string;
  let deployment: Deployment;
  let instances: Instance[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-failnats-'));
    nats = await PrivateNats.start();
    deployment = writeDeployment(dir, pgGate.url, nats.url, 5000);
    instances.push(await spawnServer(join(dir, 'd0'), ['--config', deployment.configPath]));
    instances.push(await spawnServer(join(dir, 'd1'), ['--config', deployment.configPath]));
  });

  after(async () => {
    await Promise.all(instances.map((s) => s.stop()));
    if (process.env.DGW_TEST_VERBOSE) for (const s of instances) console.log(s.output());
    instances = [];
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (deployment) await dropPostgresSchema(deployment.schema, pgGate.url);
  });

  it('adds keep succeeding, rollups fall back in process, the bus resumes, counts exact', async () => {
    const ns = uniqueName('bus_restart');
    // A long accept limit: a loaded machine's slow add is never refused as too old.
    const created = await call(instances[0]!.url, 'PUT', `/v1/counter/namespaces/${ns}`, counterDoc(COALESCE_MS, '10s'));
    assert.equal(created.status, 201, JSON.stringify(created.json));
    await pollUntil(async () => (await call(instances[1]!.url, 'POST', '/v1/counter/RecountCount', { namespace: ns, counter_name: 'probe' })).status === 200, 15_000, () => 'namespace not on instance 1');
    const counters = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const urls = instances.map((s) => s.url);
    const published = async () => (await Promise.all(urls.map((u) => metricSum(u, 'dgw_rollup_bus_published_total')))).reduce((a, b) => a + b, 0);
    const connected = async () => (await Promise.all(urls.map((u) => metricSum(u, 'dgw_rollup_bus_connected')))).every((v) => v === 1);

    await pollUntil(connected, 30_000, () => 'the instances never connected to NATS');
    let stop = false;
    const loading = runLoad(() => urls, ns, counters, COALESCE_MS, () => stop, 4);
    let stoppedAt = 0;
    let restartedAt = 0;
    let publishedBeforeRestart = 0;
    try {
      try {
        await pollUntil(async () => (await published()) >= 20, 60_000, () => 'nothing published to the bus before the restart');
        const pid = nats!.pid;
        stoppedAt = performance.now();
        await nats!.stopServer('SIGTERM');
        // Down until both instances have noticed and sent events to their own queues.
        await pollUntil(async () => !(await Promise.all(urls.map((u) => metricSum(u, 'dgw_rollup_bus_connected')))).some((v) => v === 1), 30_000, () => 'the instances did not notice NATS going down');
        await pollUntil(async () => (await Promise.all(urls.map((u) => metricSum(u, 'dgw_counters_bus_fallbacks_total', { namespace: ns })))).some((v) => v > 0), 30_000, () => 'no rollup event fell back in process');
        await sleep(1000);
        publishedBeforeRestart = await published();
        console.log(`nats-restart: nats-server pid ${pid} stopped (SIGTERM)`);
      } finally {
        // Always started again, whatever failed above.
        if (stoppedAt > 0) {
          await nats!.startServer();
          restartedAt = performance.now();
        }
      }
      try {
        await pollUntil(connected, 60_000, () => 'the instances did not reconnect to NATS by themselves');
        await pollUntil(async () => (await published()) > publishedBeforeRestart, 60_000, () => 'nothing published to the bus after the restart');
      } finally {
        stop = true;
      }
    } finally {
      // The load ends whatever failed, so the file never outlives its test.
      stop = true;
    }
    const load = await loading;
    assert.deepEqual([...load.failures], [], `adds failed: ${JSON.stringify([...load.failures])}`);
    const fallbacks = await Promise.all(urls.map((u) => metricSum(u, 'dgw_counters_bus_fallbacks_total', { namespace: ns })));
    const convergedMs = await pollUntil(
      async () => (await mismatches(urls[0]!, ns, counters, load.oracle)).length === 0,
      120_000,
      async () => (await mismatches(urls[0]!, ns, counters, load.oracle)).join('; '),
      250,
    );
    console.log(
      `nats-restart: ${load.acked} adds, none failed; NATS down ${Math.round(restartedAt - stoppedAt)} ms; ` +
        `fallbacks ${fallbacks.join('/')}; published before/after restart ${publishedBeforeRestart}/${await published()}; exact ${Math.round(convergedMs)} ms after the load`,
    );
  });
});
