// Before/after table of two `dgw bench` result files (BENCHMARKS.md): per dgw scenario its
// ops/s, p99 and server CPU per operation in both runs, then the ratios to the baselines.
// Usage: node bench/compare-runs.mjs BEFORE.json AFTER.json [BACKEND_REGEX]
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile, backendArg] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error('usage: node bench/compare-runs.mjs BEFORE.json AFTER.json [BACKEND_REGEX]');
  process.exit(2);
}
const load = (f) => JSON.parse(readFileSync(f, 'utf8'));
const before = load(beforeFile);
const after = load(afterFile);
const backend = new RegExp(backendArg ?? '^(sqlite|postgres\\+redis)$');
const n = (x, digits = 0) => (x === undefined ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ms = (x) => (x === undefined ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const byId = (run) => new Map(run.results.map((r) => [r.id, r]));
const b = byId(before);
const a = byId(after);
console.log(`before: ${before.commit} ${before.date}, load ${before.loadAverage?.start ?? '?'} → ${before.loadAverage?.end ?? '?'}`);
console.log(`after:  ${after.commit} ${after.date}, load ${after.loadAverage?.start ?? '?'} → ${after.loadAverage?.end ?? '?'}\n`);
let current = '';
for (const r of after.results) {
  if (r.target !== undefined && r.target !== 'dgw' && !backend.test(r.backend)) continue;
  if (!backend.test(r.backend) || r.status !== 'ok') continue;
  if (r.backend !== current) {
    current = r.backend;
    console.log(`\n### ${current}\n\n| scenario | ops/s before → after | p99 ms | srv CPU µs/op |\n|---|---:|---:|---:|`);
  }
  const o = b.get(r.id);
  const ok = o?.status === 'ok' ? o : undefined;
  console.log(`| ${r.title} | ${n(ok?.opsPerSec)} → ${n(r.opsPerSec)} | ${ms(ok?.p99Ms)} → ${ms(r.p99Ms)} | ${n(ok?.serverCpuMicrosPerOp)} → **${n(r.serverCpuMicrosPerOp)}** |`);
}
const ratioKey = (x) => `${x.dgw} ÷ ${x.baseline}`;
const br = new Map((before.ratios ?? []).map((x) => [ratioKey(x), x]));
console.log('\n| pair | throughput before → after |\n|---|---:|');
for (const x of after.ratios ?? []) {
  const o = br.get(ratioKey(x));
  console.log(`| ${ratioKey(x)} | ${o ? o.throughput.toFixed(2) : '–'}× → ${x.throughput.toFixed(2)}× |`);
}
