// Summarises a V8 .cpuprofile (from `dgw bench --profile DIR`): self time by function
// and by file, and inclusive time of dgw's own functions. Usage:
//   node bench/profile-summary.mjs FILE.cpuprofile [top=25] [--last SECONDS]
// `--last S` keeps only the samples of the profile's last S seconds (the measured window of
// a one-scenario run, without the preload before it).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const lastAt = args.indexOf('--last');
const lastSeconds = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) : undefined;
const [file, topArg] = args;
if (!file || (lastSeconds !== undefined && !(lastSeconds > 0))) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [top] [--last SECONDS]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const dt = new Map();
const at = [];
for (let i = 0, t = p.startTime; i < p.samples.length; i++) at.push((t += p.timeDeltas[i] ?? 0));
const from = lastSeconds === undefined ? -Infinity : p.endTime - lastSeconds * 1e6;
for (let i = 0; i < p.samples.length; i++) if (at[i] >= from) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const total = [...dt.values()].reduce((a, b) => a + b, 0);
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const short = (url) => url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:').replace(/.*\/dist\//, 'dist/');
const label = (n) => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const self = new Map();
const fileSelf = new Map();
const incl = new Map();
for (const [id, t] of dt) {
  const n = byId.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + t);
  const f = short(n.callFrame.url) || `(${n.callFrame.functionName})`;
  fileSelf.set(f, (fileSelf.get(f) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + t);
  }
}
const pct = (t) => ((t / total) * 100).toFixed(1).padStart(5) + '%';
const show = (title, m, filter = () => true) => {
  console.log(`\n${title}`);
  [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top).forEach(([k, t]) => console.log(`${pct(t)}  ${k}`));
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
show('self time by file', fileSelf);
show('self time by function', self);
show('inclusive time, dgw code (dist/ or src/)', incl, (k) => k.includes('dist/') || k.includes('/src/'));
