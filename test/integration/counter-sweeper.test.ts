/**
 * Issue 14 item 1: acknowledged counter adds must not be lost when the instance that
 * took them dies before rolling them up, and retention closes or drops their slices.
 * DESIGN 4.5: rollups read every slice not yet dropped (CLOSED included), and a sweeper
 * rolls up every counter whose write mark is past its checkpoint before the lifecycle
 * drops a slice. Real server (in process, SQLite), injected clock, restart in between.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, uniqueNamespace } from '../support/http-server.js';

const START = '2024-10-03T21:25:00.000Z';

function doc(type: string, lifecycle: Record<string, string>) {
  return {
    persistence_configuration: [
      { id: 'COUNTER_ROLLUP', config: { counter_type: type, skew_margin: '100ms' } },
      {
        id: 'EVENT_STORAGE',
        config: {
          accept_limit: '1s',
          time_partition: { seconds_per_slice: 4, seconds_per_bucket: 4 },
        },
        lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: lifecycle }] },
      },
    ],
  };
}

/** Adds 3 with a token on a server, then closes it without any rollup past the add. */
async function addThenStop(dataDir: string, ns: string, type: string, lifecycle: Record<string, string>): Promise<number> {
  const t = await startTestServer({ clockStart: START, dataDir });
  try {
    const created = await t.call('PUT', `/v1/counter/namespaces/${ns}`, doc(type, lifecycle));
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const add = await t.post('/v1/counter/AddCount', {
      namespace: ns,
      counter_name: 'c',
      delta: 3,
      idempotency_token: { token: 'tok-1', generation_time: START },
    });
    assert.equal(add.status, 200, JSON.stringify(add.json));
    return t.clock.nowMicros();
  } finally {
    // The shutdown drain rolls the counter up once at the same clock reading: its window
    // ends before the add, so the add stays unrolled, as after a kill -9.
    await t.stop();
  }
}

describe('counter adds survive a crash before their rollup (issue 14.1)', () => {
  for (const type of ['EVENTUAL', 'ACCURATE']) {
    it(`${type}: counted after the restart once its slice is CLOSED`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'dgw-sweep-'));
      const ns = uniqueNamespace('sweep_closed');
      try {
        await addThenStop(dataDir, ns, type, { close_after: '2s', delete_after: '1h' });
        const t = await startTestServer({ clockStart: '2024-10-03T21:25:10.000Z', dataDir });
        try {
          await t.server.runLifecycle(); // closes the slice of the add
          const rollup = await t.server.namespaces.getCounter(ns);
          await t.server.counters.rollupNow(rollup, 'c');
          const got = await t.post('/v1/counter/GetCount', { namespace: ns, counter_name: 'c' });
          assert.equal(got.status, 200, JSON.stringify(got.json));
          assert.equal(got.json.count, '3');
        } finally {
          await t.stop();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it(`${type}: the lifecycle pass sweeps lagging counters before it drops their slices`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'dgw-sweep-'));
      const ns = uniqueNamespace('sweep_drop');
      try {
        await addThenStop(dataDir, ns, type, { close_after: '2s', delete_after: '4s' });
        // Restarted 10 s later: no queue holds the counter; the one lifecycle pass must roll
        // it up (the sweeper) before dropping the slice that holds its only event.
        const t = await startTestServer({ clockStart: '2024-10-03T21:25:10.000Z', dataDir });
        try {
          await t.server.runLifecycle();
          const slices = await t.server.catalog.events('sqlite').listSlices(`counter:${ns}`);
          const first = slices.find((s) => s.startMicros === Date.parse(START) * 1000);
          assert.equal(first?.status, 'DROPPED', JSON.stringify(slices.slice(0, 3)));
          const got = await t.post('/v1/counter/GetCount', { namespace: ns, counter_name: 'c' });
          assert.equal(got.status, 200, JSON.stringify(got.json));
          assert.equal(got.json.count, '3');
          const metrics = await (await fetch(`${t.url}/metrics`)).text();
          assert.match(metrics, new RegExp(`dgw_counters_swept_total\\{namespace="${ns}"\\} 1`));
        } finally {
          await t.stop();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
