/**
 * Restart and crash durability with real processes: data, namespaces and page tokens
 * survive a graceful restart; every acknowledged write survives SIGKILL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callJson, spawnServer } from '../support/server-process.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('restart', () => {
  it('keeps namespaces, events and page tokens across a graceful restart, and acknowledged writes across SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dgw-restart-'));
    try {
      let server = await spawnServer(dataDir);
      assert.equal((await callJson(server.url, 'PUT', '/v1/timeseries/namespaces/restart_ns', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1h' } }] })).status, 201);
      const base = Date.now() - 60_000;
      const events = Array.from({ length: 30 }, (_, i) => ({
        timeSeriesId: 'series',
        eventTime: new Date(base + i * 1000).toISOString(),
        eventId: `e${String(i).padStart(2, '0')}`,
        eventItems: [{ eventItemKey: 'i', eventItemValue: b64(String(i)) }],
      }));
      assert.equal((await callJson(server.url, 'POST', '/v1/timeseries/WriteEventRecordsSync', { namespace: 'restart_ns', events })).status, 200);
      const read = (pageToken?: unknown) =>
        callJson(server.url, 'POST', '/v1/timeseries/ReadEventRecords', {
          namespace: 'restart_ns',
          timeSeriesId: 'series',
          timeInterval: { start: new Date(base - 1000).toISOString(), end: new Date(base + 3_600_000).toISOString() },
          pageSize: 10,
          ...(pageToken ? { pageToken } : {}),
        });
      const page1 = await read();
      const ids = (r: { json: Record<string, unknown> }) => (r.json.events as { eventId: string }[]).map((e) => e.eventId);
      assert.deepEqual(ids(page1), events.slice(20).map((e) => e.eventId).reverse());
      assert.equal(await server.stop('SIGTERM'), 0, 'graceful shutdown exits 0');

      server = await spawnServer(dataDir);
      const page2 = await read(page1.json.nextPageToken);
      assert.equal(page2.status, 200, JSON.stringify(page2.json));
      assert.deepEqual(ids(page2), events.slice(10, 20).map((e) => e.eventId).reverse());

      // Acknowledged writes survive a crash.
      const more = events.map((e, i) => ({ ...e, eventId: `k${String(i).padStart(2, '0')}` }));
      assert.equal((await callJson(server.url, 'POST', '/v1/timeseries/WriteEventRecordsSync', { namespace: 'restart_ns', events: more })).status, 200);
      assert.equal(await server.stop('SIGKILL'), 'SIGKILL');

      server = await spawnServer(dataDir);
      const all: string[] = [];
      let token: unknown;
      do {
        const r = await read(token);
        all.push(...ids(r));
        token = r.json.nextPageToken;
      } while (token);
      assert.equal(all.length, 60);
      assert.equal((await callJson(server.url, 'GET', '/v1/timeseries/namespaces/restart_ns')).status, 200);
      await server.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
