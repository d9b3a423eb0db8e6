// Puts the samples of a `perf record -g` of one thread into buckets by call chain, and
// prints each bucket's share and its µs of CPU per operation (issue 9, sixteenth pass of
// BENCHMARKS.md). `perf` samples a thread only while it runs, unlike V8's profiles, which
// sample wall time and charge a sleep in fsync to the function that called it. Usage:
//   perf record -F 1999 -g -t <thread id> -o F -- sleep 5
//   perf script -i F -F ip,sym,dso | node bench/perf-buckets.mjs --ops <ops/s> [--hz 1999] [--seconds 5]
// A sample goes to the first bucket its chain matches, in the order below; the kernel
// buckets by the sample's leaf.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { ops: { type: 'string' }, hz: { type: 'string', default: '1999' }, seconds: { type: 'string', default: '5' } },
});
const ops = Number(values.ops);
const hz = Number(values.hz);
const seconds = Number(values.seconds);
if (!(ops > 0 && hz > 0 && seconds > 0)) {
  console.error('usage: perf script -i F -F ip,sym,dso | node bench/perf-buckets.mjs --ops <ops/s> [--hz 1999] [--seconds 5]');
  process.exit(2);
}

/** Buckets matched anywhere in the chain, first match wins. */
const BY_CHAIN = [
  ['SQLite: WAL frames written', ['pagerWalFrames', 'walWriteOneFrame']],
  ['fsync', ['fsync', 'fdatasync']],
  ['SQLite: WAL checkpoint', ['walCheckpoint']],
  ['SQLite: the statements\' own work', ['sqlite3_step', 'sqlite3_prepare', 'sqlite3_exec']],
  ['GC', ['Heap::CollectGarbage', 'ScavengerCollector', 'MarkCompactCollector', 'Heap::Scavenge', 'IncrementalMarking']],
];

/** The bucket of one sample's chain (leaf first). */
function bucket(chain) {
  const all = chain.join('\n');
  for (const [name, keys] of BY_CHAIN) if (keys.some((k) => all.includes(k))) return name;
  const leaf = chain[0] ?? '';
  if (leaf.includes('[kernel')) {
    if (all.includes('writev')) return 'kernel: socket writev';
    if (all.includes('epoll')) return 'kernel: epoll';
    if (all.includes('read')) return 'kernel: socket read';
    return 'kernel: other';
  }
  if (all.includes('llhttp')) return "node's HTTP parser and the handlers it calls";
  if (all.includes('JsonParser')) return 'JSON.parse outside the parser';
  if (leaf.includes('libc')) return 'libc (malloc, system call wrappers)';
  return 'JavaScript outside the parser (JIT, builtins, runtime, node C++)';
}

const counts = new Map();
let chain = [];
const flush = () => {
  if (chain.length === 0) return;
  const b = bucket(chain);
  counts.set(b, (counts.get(b) ?? 0) + 1);
  chain = [];
};
for await (const line of createInterface({ input: process.stdin })) {
  const t = line.trim();
  if (t === '') flush();
  else chain.push(t);
}
flush();
const total = [...counts.values()].reduce((a, b) => a + b, 0);
const usPerOp = (n) => ((n / hz / seconds / ops) * 1e6).toFixed(1);
for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1])) {
  console.log(`${((n / total) * 100).toFixed(1).padStart(5)}%  ${usPerOp(n).padStart(6)} µs/op  ${name}`);
}
console.log(`        ${usPerOp(total).padStart(6)} µs/op  the thread on CPU (${total} samples)`);
