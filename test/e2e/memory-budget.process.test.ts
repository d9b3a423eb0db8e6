/**
 * The server memory budget under a flood (issue 14 hardening, "RSS stays under the budget
 * whatever the namespace settings"): a `dgw serve` process with `--memory-budget-mb 64`
 * gets a namespace whose write buffer may hold 1 GiB and drains only every 60 s, then 16
 * clients send near-limit (7.6 MiB) WriteEventRecords bodies back to back. Before the
 * budget the same flood took the process past 3 GiB. Asserted: the process's peak RSS
 * stays under its RSS before the flood + the budget + the documented fixed overhead
 * (docs/operations.md "Memory budget"); refusals are 429 RESOURCE_EXHAUSTED with
 * Retry-After; /healthz and a small synchronous write keep answering during the flood.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { spawnServer, callJson, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';

const BUDGET_MIB = Number(process.env.DGW_TEST_BUDGET_MIB ?? 64);
/** RSS the process may add beyond the budget (docs/operations.md "Memory budget"). */
const OVERHEAD_MIB = 192;
const CLIENTS = 16;
const FLOOD_MS = 15_000;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe('memory budget: huge buffer settings and near-limit bodies', () => {
  let server: ServerProcess;
  const ns = `membudget_${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    const dir = tempDir('dgw-membudget-');
    server = await spawnServer(join(dir, 'data'), ['--memory-budget-mb', String(BUDGET_MIB)]);
    const put = await callJson(server.url, 'PUT', `/v1/timeseries/namespaces/${ns}`, {
      persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1h', queueBuffering: { coalesce: '60s', bufferCapacity: '1GiB' } } }],
    });
    assert.equal(put.status, 201, JSON.stringify(put.json));
  });
  after(async () => server?.stop());

  it(`keeps RSS under the budget + ${OVERHEAD_MIB} MiB and keeps answering`, async (t) => {
    const pid = server.child.pid!;
    // Large values: cheap for the server to parse, so the flood outruns the drain.
    const value = Buffer.alloc(65_536, 7).toString('base64');
    const eventTime = new Date(Date.now() - 1000).toISOString();
    const body = JSON.stringify({
      namespace: ns,
      events: Array.from({ length: 88 }, (_, i) => ({
        timeSeriesId: `s${i % 8}`,
        eventTime,
        eventId: `e${i}`,
        eventItems: [{ eventItemKey: 'k', eventItemValue: value }],
      })),
    });
    assert.ok(body.length > 7 * 2 ** 20 && body.length < 8 * 2 ** 20, `body of ${body.length} bytes`);

    const baseline = rssMiB(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);

    const pool = new Pool(server.url, { connections: CLIENTS, pipelining: 1 });
    const statuses = new Map<number, number>();
    let missingRetryAfter = 0;
    const until = performance.now() + FLOOD_MS;
    const flooder = async () => {
      while (performance.now() < until) {
        let res;
        try {
          res = await pool.request({ method: 'POST', path: '/v1/timeseries/WriteEventRecords', headers: { 'content-type': 'application/json' }, body });
        } catch (err) {
          // A body refused as it arrives: the server answers 429 and closes while this client
          // is still sending, so the write can fail with EPIPE / a reset before the answer is read.
          const code = (err as { code?: string }).code;
          if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') continue;
          throw err;
        }
        const text = await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode === 429) {
          if (res.headers['retry-after'] === undefined) missingRetryAfter++;
          assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'RESOURCE_EXHAUSTED');
        }
      }
    };
    // A small client beside the flood: probes and small synchronous writes keep answering.
    const probes: number[] = [];
    const small: number[] = [];
    const probeMs: number[] = [];
    const smallMs: number[] = [];
    const prober = async () => {
      let n = 0;
      while (performance.now() < until) {
        let s0 = performance.now();
        probes.push((await fetch(`${server.url}/healthz`)).status);
        probeMs.push(performance.now() - s0);
        s0 = performance.now();
        const w = await callJson(server.url, 'POST', '/v1/timeseries/WriteEventRecordsSync', {
          namespace: ns,
          events: [{ timeSeriesId: 'probe', eventTime: new Date(Date.now() - 1000).toISOString(), eventId: `p${n++}`, eventItems: [{ eventItemKey: 'k', eventItemValue: 'dg==' }] }],
        });
        small.push(w.status);
        smallMs.push(performance.now() - s0);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await Promise.all([...Array.from({ length: CLIENTS }, flooder), prober()]);
    await pool.close();
    clearInterval(sampler);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    t.diagnostic(
      `RSS before ${baseline.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB (budget ${BUDGET_MIB} MiB); statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `probes ${probes.filter((s) => s === 200).length}/${probes.length} ok, small writes ${small.filter((s) => s === 200).length}/${small.length} ok; ` +
        `probe ms ${probeMs.map((x) => x.toFixed(0)).join(',')}; small write ms ${smallMs.map((x) => x.toFixed(0)).join(',')}; ` +
        (/^dgw_memory_refusals_total \d+/m.exec(metrics)?.[0] ?? ''),
    );

    assert.deepEqual([...statuses.keys()].filter((s) => s !== 202 && s !== 429), [], 'only 202 and 429');
    assert.ok((statuses.get(429) ?? 0) > 0, 'the budget refused some bodies');
    assert.ok((statuses.get(202) ?? 0) > 0, 'bodies within the budget were accepted');
    assert.equal(missingRetryAfter, 0, 'every 429 says when to retry');
    assert.ok(probes.length > 0 && probes.every((s) => s === 200), `probes: ${probes.join(',')}`);
    assert.ok(small.filter((s) => s === 200).length >= 1, `small writes: ${small.join(',')}`);
    assert.ok(peak <= baseline + BUDGET_MIB + OVERHEAD_MIB, `peak RSS ${peak.toFixed(0)} MiB > ${baseline.toFixed(0)} + ${BUDGET_MIB} + ${OVERHEAD_MIB}`);
  });
});
