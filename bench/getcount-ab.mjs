// A/B of GetCount EVENTUAL server CPU per call between two builds (issue 9), steadier than
// pairs of `dgw bench` runs on this 2-core VM: there the server is saturated, so its
// µs/op is ~1/throughput and moves ±15 % with the machine (and with which run of a pair
// goes first). Here both servers (WT_A, WT_B: repository folders with dist/ built) run at
// once on their own data directories, pinned to one CPU (`taskset`, AB_SERVER_CPU, default
// 1), each driven by its own client process on the other CPU (AB_CLIENT_CPU, default 0);
// measured windows alternate A,B / B,A. With AB_RATE=N the clients send N requests/s
// (open loop, at most CONCURRENCY in flight; calls that would exceed it are counted as
// "bad"), so both servers see the same load whatever their speed. CPU is the server's
// utime+stime from /proc over each window, divided by its answered calls.
//
//   flock /work/coord/bench.lock env AB_RATE=14000 node bench/getcount-ab.mjs WT_A WT_B [pairs=6] [seconds=4] [concurrency=50]
//
// GetCount reads 100 counters of an EVENTUAL namespace written first by 300 AddCounts.
import { spawn, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../package.json', import.meta.url));
const { Pool } = require('undici');
const role = process.argv[2];
if (role === '--client') {
  const [origin, seconds, conc] = process.argv.slice(3);
  const pool = new Pool(origin, { connections: Number(conc), pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { 'content-type': 'application/json' };
  process.on('message', async (m) => {
    if (m === 'exit') { await pool.close(); process.exit(0); }
    let ok = 0, bad = 0;
    const end = performance.now() + Number(seconds) * 1000;
    const RATE = Number(process.env.AB_RATE ?? 0);
    const one = async () => {
      const r = await pool.request({ method: 'POST', path: '/v1/counter/GetCount', headers, body: `{"namespace":"ab_eventual","counter_name":"c${Math.floor(Math.random() * 100)}"}` });
      await r.body.dump();
      if (r.statusCode === 200) ok++; else bad++;
    };
    if (RATE > 0) {
      // Open loop: RATE requests per second, sent each millisecond, at most conc in flight.
      let inflight = 0, sent = 0, skipped = 0;
      const t0 = performance.now();
      await new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          if (now >= end) { const wait = () => (inflight === 0 ? resolve() : setTimeout(wait, 1)); wait(); return; }
          const due = Math.floor(((now - t0) / 1000) * RATE);
          while (sent < due) { sent++; if (inflight >= Number(conc)) { skipped++; continue; } inflight++; one().finally(() => inflight--); }
          setTimeout(tick, 1);
        };
        tick();
      });
      process.send({ ok, bad: bad + skipped });
      return;
    }
    const loop = async () => { while (performance.now() < end) await one(); };
    await Promise.all(Array.from({ length: Number(conc) }, loop));
    process.send({ ok, bad });
  });
  process.send('ready');
} else {
  const [wtA, wtB, pairsArg, secArg, concArg] = process.argv.slice(2);
  const PAIRS = Number(pairsArg ?? 4), SECONDS = Number(secArg ?? 5), CONC = Number(concArg ?? 50);
  const start = async (wt, port) => {
    const dir = mkdtempSync(join(tmpdir(), 'dgw-ab-'));
    const child = spawn('taskset', ['-c', process.env.AB_SERVER_CPU ?? '1', process.execPath, join(wt, 'dist/cli/main.js'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { const r = await fetch(origin + '/healthz'); if (r.ok) break; } catch {}
      if (i > 200) throw new Error('server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const call = async (method, path, body) => { const r = await fetch(origin + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }); if (r.status >= 300) throw new Error(`${path} ${r.status} ${await r.text()}`); return r.json(); };
    await call('PUT', '/v1/counter/namespaces/ab_eventual', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'EVENTUAL' } }, { id: 'CACHE' }, { id: 'EVENT_STORAGE', config: {} }] });
    for (let i = 0; i < 300; i++) await call('POST', '/v1/counter/AddCount', { namespace: 'ab_eventual', counter_name: `c${i % 100}`, delta: 1, idempotency_token: { token: `t${i}`, generation_time: new Date().toISOString() } });
    return { child, dir, origin, wt };
  };
  const cpuOf = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; }; // µs (100 Hz)
  const A = await start(wtA, 18461), B = await start(wtB, 18462);
  const clientOf = async (s) => { const c = fork(new URL(import.meta.url).pathname, ['--client', s.origin, String(SECONDS), String(CONC)], { execPath: 'taskset', execArgv: ['-c', process.env.AB_CLIENT_CPU ?? '0', process.execPath] }); await new Promise((r) => c.once('message', r)); return c; };
  const ca = await clientOf(A), cb = await clientOf(B);
  const window = async (s, c) => {
    const cpu0 = cpuOf(s.child.pid);
    c.send('go');
    const r = await new Promise((res) => c.once('message', res));
    const cpu = cpuOf(s.child.pid) - cpu0;
    return { us: cpu / r.ok, ops: r.ok / SECONDS, bad: r.bad };
  };
  // warm-up
  await window(A, ca); await window(B, cb);
  const res = { A: [], B: [] };
  for (let p = 0; p < PAIRS; p++) {
    const order = p % 2 === 0 ? [['A', A, ca], ['B', B, cb]] : [['B', B, cb], ['A', A, ca]];
    const line = [];
    for (const [k, s, c] of order) { const w = await window(s, c); res[k].push(w.us); line.push(`${k} ${w.us.toFixed(1)} µs/op (${w.ops.toFixed(0)}/s${w.bad ? `, ${w.bad} bad` : ''})`); }
    console.log(`pair ${p + 1}: ${line.join('  ')}`);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`A ${wtA}: median ${med(res.A).toFixed(1)} mean ${mean(res.A).toFixed(1)} | B ${wtB}: median ${med(res.B).toFixed(1)} mean ${mean(res.B).toFixed(1)} | B-A mean ${(mean(res.B) - mean(res.A)).toFixed(1)} µs/op`);
  for (const c of [ca, cb]) c.send('exit');
  for (const s of [A, B]) { s.child.kill('SIGTERM'); }
  await new Promise((r) => setTimeout(r, 1500));
  for (const s of [A, B]) rmSync(s.dir, { recursive: true, force: true });
}
