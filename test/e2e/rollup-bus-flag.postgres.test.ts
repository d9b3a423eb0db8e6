/**
 * The durable rollup queue chosen with the `--nats-url` flag (issue 13, item 1), not the
 * config file's `nats` section: one `dgw serve --nats-url nats://127.0.0.1:4222` on
 * PostgreSQL (a private schema from --config, which has no `nats` section), so the stream,
 * subjects and consumer are the defaults (DGW_ROLLUP, dgw.rollup.*, dgw-rollup).
 *
 * Asserted: the bus is connected; a load of tokened adds puts rollup events on it
 * (dgw_rollup_bus_published_total > 0) and none falls back in process; every counter
 * converges to the exact oracle with no rollup outside the bus (no sweeper runs:
 * --lifecycle-interval 1h); the gauges of events on the stream and delivered but
 * unacknowledged (dgw_rollup_bus_pending_events, dgw_rollup_bus_ack_pending_events) show
 * events during the load (events are held until due, seconds after their window) and
 * return to 0 once every published event is acknowledged.
 *
 * The default stream is deleted afterwards only if this test created it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { call, pollUntil } from '../support/dgw-load.js';
import { counterDoc, deleteStream, metricSum, mismatches, runLoad, type Instance } from '../support/rollup-bus-cluster.js';
import { spawnServer } from '../support/server-process.js';

const pgGate = await backendTest('postgres');
const natsGate = await backendTest('nats');
const skip = pgGate.skip || natsGate.skip;
const DEFAULT_STREAM = 'DGW_ROLLUP';
const COALESCE_MS = 500;

/** Whether a stream exists on the NATS server. */
async function streamExists(url: string, stream: string): Promise<boolean> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    return await jsm.streams.info(stream).then(
      () => true,
      () => false,
    );
  } finally {
    await nc.close();
  }
}

describe('durable rollup queue chosen with --nats-url', { skip }, () => {
  let dir: string;
  let schema: string;
  let dgw: Instance | undefined;
  let streamWasThere = true;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-busflag-'));
    schema = uniqueName('dgw_busflag');
    const configPath = join(dir, 'dgw.json');
    writeFileSync(configPath, JSON.stringify({ clusters: [{ name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 8 }] }));
    streamWasThere = await streamExists(natsGate.url, DEFAULT_STREAM);
    dgw = await spawnServer(join(dir, 'd0'), ['--config', configPath, '--nats-url', natsGate.url, '--lifecycle-interval', '1h']);
  });

  after(async () => {
    await dgw?.stop();
    if (process.env.DGW_TEST_VERBOSE && dgw) console.log(dgw.output());
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (schema) await dropPostgresSchema(schema, pgGate.url);
    if (!streamWasThere) await deleteStream(natsGate.url, DEFAULT_STREAM);
  });

  it('publishes rollup events to the bus; counts exact; pending and ack-pending gauges back to 0', async () => {
    const url = dgw!.url;
    // The bus connects in the background (a NATS down at start-up must not stop the server;
    // rollups use the in-process queue meanwhile), so the server may answer before it is
    // connected: wait for the gauge, bounded.
    await pollUntil(async () => (await metricSum(url, 'dgw_rollup_bus_connected')) === 1, 15_000, () => 'dgw_rollup_bus_connected is not 1');
    const ns = uniqueName('bus_flag');
    const created = await call(url, 'PUT', `/v1/counter/namespaces/${ns}`, counterDoc(COALESCE_MS, '10s'));
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const counters = Array.from({ length: 10 }, (_, i) => `f${i}`);

    // The gauges are sampled from the start of the load until the counts converge (the
    // stream's consumer info is polled every 2 s; events are held, unacknowledged, until
    // due, seconds after their window). Sampling only while the load ran saw nothing in CI
    // on a quiet box: the 300 adds took less than one consumer-info poll.
    let stop = false;
    let maxInFlight = 0;
    const sampling = (async () => {
      while (!stop) {
        const inFlight = (await metricSum(url, 'dgw_rollup_bus_pending_events')) + (await metricSum(url, 'dgw_rollup_bus_ack_pending_events'));
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const until = Date.now() + 8_000;
    let calls = 0;
    let load: Awaited<ReturnType<typeof runLoad>>;
    try {
      load = await runLoad(() => [url], ns, counters, COALESCE_MS, () => Date.now() > until || ++calls > 300, 3);
      assert.deepEqual([...load.failures], [], 'every add stored');
      assert.ok(load.acked >= 30, `only ${load.acked} adds`);
      const oracle = load.oracle;
      await pollUntil(async () => (await mismatches(url, ns, counters, oracle)).length === 0, 120_000, async () => (await mismatches(url, ns, counters, oracle)).join('; '), 250);
    } finally {
      stop = true;
      await sampling;
    }
    await pollUntil(
      async () => (await metricSum(url, 'dgw_rollup_bus_acknowledged_total')) >= (await metricSum(url, 'dgw_rollup_bus_published_total')),
      60_000,
      async () => `acknowledged ${await metricSum(url, 'dgw_rollup_bus_acknowledged_total')} of ${await metricSum(url, 'dgw_rollup_bus_published_total')} published`,
      250,
    );
    // The gauges come from the last consumer-info poll (every 2 s): wait for one after the acks.
    const gauges = async () => [await metricSum(url, 'dgw_rollup_bus_pending_events'), await metricSum(url, 'dgw_rollup_bus_ack_pending_events')];
    await pollUntil(async () => (await gauges()).every((v) => v === 0), 30_000, async () => `pending / ack pending: ${(await gauges()).join(' / ')}`, 250);

    const published = await metricSum(url, 'dgw_rollup_bus_published_total');
    const acknowledged = await metricSum(url, 'dgw_rollup_bus_acknowledged_total');
    const fallbacks = await metricSum(url, 'dgw_counters_bus_fallbacks_total', { namespace: ns });
    const busRollups = await metricSum(url, 'dgw_counters_bus_rollups_total', { namespace: ns });
    const allRollups = await metricSum(url, 'dgw_counters_rollups_total', { namespace: ns });
    console.log(
      `--nats-url: ${load.acked} adds over ${counters.length} counters; ${published} events published, ${acknowledged} acknowledged; ` +
        `bus rollups ${busRollups}, all rollups ${allRollups}, fallbacks ${fallbacks}; most events pending + awaiting ack seen before convergence ${maxInFlight}`,
    );
    assert.ok(published > 0, 'rollup events went on the bus');
    assert.equal(fallbacks, 0, 'no event fell back to the in-process queue');
    assert.equal(allRollups, busRollups, 'every rollup was one the bus asked for');
    assert.ok(maxInFlight > 0, 'the pending / ack-pending gauges showed events before convergence');
    assert.deepEqual(await gauges(), [0, 0], 'nothing pending or awaiting ack after convergence');
  });
});
