// How ReadEventRecords' cost grows with the namespace (issue 9, "How cost grows"): runs
// `dgw bench` once per namespace size, each time on a fresh server and data directory with
// the read namespace preloaded to that many events (1,000 events per series, so the number
// of series grows with the size), measures the two read rows (50 and 4 in flight), and
// prints one Markdown table: p50 / p99 and server CPU per page of 100 by size.
//
// Usage (after `npm run build`):
//   node bench/read-scale.mjs [SIZES] [--backend sqlite|postgres+redis] [--duration S]
//   node bench/read-scale.mjs 10000,1000000,10000000
// SIZES defaults to 10000,1000000,10000000. The 10,000,000 preload writes ~1.5 GB and
// takes several minutes (its rate is printed). Results also go to .bench/read-scale-<size>.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const backend = flag('--backend', 'sqlite');
const duration = flag('--duration', '10');
const sizes = (args[0] ?? '10000,1000000,10000000').split(',').map((s) => Number(s.replace(/_/g, '')));
if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) {
  console.error('usage: node bench/read-scale.mjs [SIZES, e.g. 10000,1000000,10000000] [--backend sqlite|postgres+redis] [--duration S]');
  process.exit(2);
}
if (!['sqlite', 'postgres+redis'].includes(backend)) {
  console.error(`--backend: sqlite or postgres+redis, not ${backend}`);
  process.exit(2);
}

mkdirSync('.bench', { recursive: true });
const rows = [];
for (const n of sizes) {
  const out = `.bench/read-scale-${backend}-${n}.json`;
  const only = `^${backend.replace('+', '\\+')}\\.read\\.`;
  const bench = ['dist/cli/main.js', 'bench', '--warmup', '2', '--duration', duration, '--preload', String(n), '--no-baselines', '--only', only, '--out', out];
  console.error(`read-scale: ${n.toLocaleString('en-US')} events (load average ${loadavg()[0].toFixed(1)}): node ${bench.join(' ')}`);
  const run = spawnSync(process.execPath, bench, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) {
    console.error(`read-scale: the bench for ${n} events exited with ${run.status}`);
    process.exit(1);
  }
  const result = JSON.parse(readFileSync(out, 'utf8'));
  const byId = (suffix) => result.results.find((r) => r.id === `${backend}.${suffix}`);
  rows.push({ n, c50: byId('read.page100'), c4: byId('read.page100.c4'), load: result.loadAverage });
}

const f = (v, d = 2) => (v === undefined ? '' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
console.log(`\nReadEventRecords, page of 100, dgw on ${backend}, by namespace size (${new Date().toISOString()})\n`);
console.log('| events in the namespace | 4 in flight: ops/s | p50 ms | p99 ms | srv CPU µs/op | 50 in flight: ops/s | p50 ms | p99 ms | srv CPU µs/op | load average |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const { n, c4, c50, load } of rows) {
  console.log(
    `| ${n.toLocaleString('en-US')} | ${f(c4?.opsPerSec, 0)} | ${f(c4?.p50Ms)} | ${f(c4?.p99Ms)} | ${f(c4?.serverCpuMicrosPerOp, 0)} ` +
      `| ${f(c50?.opsPerSec, 0)} | ${f(c50?.p50Ms)} | ${f(c50?.p99Ms)} | ${f(c50?.serverCpuMicrosPerOp, 0)} | ${f(load?.start, 1)} → ${f(load?.end, 1)} |`,
  );
}
