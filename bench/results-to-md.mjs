// Prints the Markdown tables of BENCHMARKS.md from a results file of `dgw bench`.
// Usage: node bench/results-to-md.mjs .bench/results-<date>.json
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/results-to-md.mjs .bench/results-<date>.json');
  process.exit(2);
}
const run = JSON.parse(readFileSync(file, 'utf8'));
const n = (v, d = 0) => (v === undefined ? '' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ms = (v) => (v === undefined ? '' : v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : n(v));
console.log(`date ${run.date}, commit ${run.commit}, ${run.machine.nproc} cores (${run.machine.cpuModel}), ${run.machine.memGiB} GiB, ` +
  `load average ${run.loadAverage?.start} → ${run.loadAverage?.end}, options ${JSON.stringify(run.options)}\n`);
const groups = new Map();
for (const r of run.results) {
  if (!groups.has(r.backend)) groups.set(r.backend, []);
  groups.get(r.backend).push(r);
}
for (const [backend, rows] of groups) {
  console.log(`### ${backend}\n`);
  console.log('| scenario | ops/s | events/s | p50 ms | p99 ms | p99.9 ms | srv CPU % | srv CPU µs/op | of it GC µs (major/s) | srv peak RSS MiB | client CPU % |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    if (r.status === 'skipped') {
      console.log(`| ${r.title} | skipped: ${r.reason} ||||||||||`);
      continue;
    }
    console.log(`| ${r.title} | ${n(r.opsPerSec)} | ${n(r.eventsPerSec)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.p999Ms)} | ${n(r.serverCpuPct)} | ${n(r.serverCpuMicrosPerOp)} | ${r.serverGcMicrosPerOp === undefined ? '' : `${r.serverGcMicrosPerOp.toFixed(r.serverGcMicrosPerOp < 10 ? 1 : 0)} (${r.serverMajorGcPerS.toFixed(1)})`} | ${n(r.serverPeakRssMiB)} | ${n(r.clientCpuPct)} |`);
  }
  for (const r of rows) if (r.reason && r.status !== 'skipped') console.log(`\n${r.title}: ${r.reason}`);
  const conv = run.convergence?.[backend];
  if (conv) console.log(`\nrollup convergence: ${conv.c.seconds !== undefined ? `${conv.c.seconds.toFixed(2)} s` : `not reached in ${conv.c.timeoutS} s`} (${conv.c.adds} adds on ${conv.c.counters} counters; bar ${conv.limitS} s)`);
  console.log('');
}
console.log('### dgw ÷ baseline\n\n| pair | throughput | p99 | srv CPU/op | bound by its client (≥ 95 % of a core) |\n|---|---:|---:|---:|---|');
for (const p of run.ratios) console.log(`| ${p.dgw} ÷ ${p.baseline} | ${p.throughput.toFixed(2)}× | ${p.p99.toFixed(2)}× | ${p.cpuPerOp !== undefined ? `${p.cpuPerOp.toFixed(2)}×` : ''} | ${(p.clientBound ?? []).join(', ')} |`);
console.log('\n### DESIGN 5\n\n| target | measured | verdict |\n|---|---|---|');
for (const v of run.verdicts) console.log(`| ${v.scenario}: ${v.label} | ${v.figure} | ${v.met ? 'met' : '**not met**'} |`);
