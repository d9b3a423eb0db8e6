/**
 * `dgw bench --overload SECONDS`: memory under overload (issue 5 item 5; not for CI).
 * Drives buffered WriteEventRecords (batches of 100) at high concurrency against one
 * embedded server for the given time, samples the server's RSS every 5 s, and checks
 * that excess load is refused with RESOURCE_EXHAUSTED (429) while RSS stays flat: the
 * peak of the last third of the run may not exceed the peak of the first third by more
 * than 20 % (+ 32 MiB of slack for heap sizing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgwClient } from './dgw-setup.js';
import { ClientPool, measure } from './driver.js';
import { progress, progressDone } from './progress.js';
import { rssMiB, startDgw } from './procs.js';

/** Options of {@link runOverload}. */
export interface OverloadOptions {
  seconds: number;
  concurrency: number;
}

/** Runs the overload check; resolves to the exit code (0 when RSS stayed flat and 429s were seen). */
export async function runOverload(o: OverloadOptions): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dgw-overload-'));
  const server = await startDgw({ dataDir });
  const samples: { t: number; rss: number }[] = [];
  const pool = new ClientPool(2);
  try {
    const c = new DgwClient(server.origin);
    // A small buffer (1 MiB) so the cap, not the disk, decides within seconds. A 5 s
    // accept limit would refuse events that waited in the overloaded server's socket
    // queues longer than that (FAILED_PRECONDITION): 1 min keeps this a test of the cap.
    await c.call('PUT', '/v1/timeseries/namespaces/bench_overload', {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', config: { acceptLimit: '1m', queueBuffering: { coalesce: '1s', bufferCapacity: '1MiB' } } },
      ],
    });
    await c.close();
    const t0 = Date.now();
    const timer = setInterval(() => {
      const rss = rssMiB(server.pid);
      if (rss === undefined) return;
      samples.push({ t: (Date.now() - t0) / 1000, rss });
      progress(`overload: ${Math.round((Date.now() - t0) / 1000)}/${o.seconds} s, server RSS ${rss.toFixed(0)} MiB`);
    }, 5000);
    const concurrency = Math.max(o.concurrency, 200);
    const m = await measure(
      { kind: 'http', origin: server.origin, path: '/v1/timeseries/WriteEventRecords', body: { gen: 'writeEvents', namespace: 'bench_overload', batch: 100, series: 1000 } },
      { pool, concurrency, clients: 2, warmupMs: 0, durationMs: o.seconds * 1000, target: { pids: () => [server.pid], rssPid: server.pid } },
    );
    clearInterval(timer);
    progressDone();
    const third = Math.max(1, Math.floor(samples.length / 3));
    const first = Math.max(...samples.slice(0, third).map((s) => s.rss));
    const last = Math.max(...samples.slice(-third).map((s) => s.rss));
    const flat = samples.length < 3 || last <= first * 1.2 + 32;
    console.log(`overload: ${o.seconds} s, concurrency ${concurrency}, buffered writes of 100 events`);
    console.log(`  accepted ${m.ok} (${(m.ok / m.measuredS).toFixed(0)}/s), RESOURCE_EXHAUSTED ${m.rejected} (${(m.rejected / m.measuredS).toFixed(0)}/s), errors ${m.errors}${m.errorSample ? ` (${m.errorSample})` : ''}`);
    console.log(`  server RSS: peak of first third ${first.toFixed(0)} MiB, of last third ${last.toFixed(0)} MiB, overall peak ${m.serverPeakRssMiB?.toFixed(0) ?? '?'} MiB, server CPU ${m.serverCpuPct?.toFixed(0) ?? '?'}%`);
    console.log(`  samples (s:MiB): ${samples.map((s) => `${s.t.toFixed(0)}:${s.rss.toFixed(0)}`).join(' ')}`);
    const ok = flat && m.rejected > 0 && m.errors === 0;
    console.log(`  verdict: ${flat ? 'RSS flat' : 'RSS GREW'}; ${m.rejected > 0 ? 'excess load refused with 429' : 'NO 429 seen (load not in excess?)'}; ${ok ? 'PASS' : 'FAIL'}`);
    return ok ? 0 : 1;
  } finally {
    await pool.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
