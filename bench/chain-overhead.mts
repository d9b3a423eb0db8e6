/**
 * The cost of the shared operation chain (issue 10: "no slower than today"), isolated:
 * in one process, on the same running dgw (embedded SQLite, in-memory BEST_EFFORT counters
 * and an EVENTUAL namespace), the same calls go
 *
 *  A. through the operation chain as an HTTP route calls it today (chain.run → deadline
 *     interceptor → the operation's run: decode, core call, encode), and
 *  B. through the route body of the commit before the chain (07c3d87^,
 *     src/server/http/counter-routes.ts: decode, core call, encode, raced against the
 *     request deadline by app.ts's raceDeadline), copied here verbatim,
 *
 * alternating A and B in rounds, so both see the same heap, JIT and machine. What differs
 * between them is exactly what the chain adds per call; HTTP parsing, hooks and the store
 * are the same on both sides and excluded. Prints ns per call (median of the rounds).
 *
 * Run it compiled, as production runs (tsx keeps function names by wrapping every named
 * closure in a `__name` call, which costs about a microsecond per closure made and would be
 * measured as chain cost):
 *
 *   mkdir -p .bench/a/b && npx esbuild bench/chain-overhead.mts --bundle --platform=node \
 *     --format=esm --packages=external --outfile=.bench/a/b/chain-overhead.mjs
 *   node .bench/a/b/chain-overhead.mjs [CALLS_PER_ROUND=20000] [ROUNDS=15]
 *
 * (two folders deep, so build-info finds ../../../package.json as it does from src/).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/runtime.js';
import { OPERATIONS } from '../src/server/operations/table.js';
import type { CallInfo, JsonObject } from '../src/server/operations/operation.js';
import type { OperationChain } from '../src/server/operations/chain.js';
import { decodeAddCount, decodeGetCount } from '../src/server/wire/counter-wire.js';
import { formatInt64 } from '../src/core/counter/int64.js';
import { DgwError } from '../src/kernel/errors.js';

const CALLS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 15);

const dir = mkdtempSync(join(tmpdir(), 'dgw-chain-overhead-'));
const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: dir, lifecycleIntervalSeconds: 3600 });
const chain = (server as unknown as { chain: OperationChain }).chain;
const { counters, namespaces } = server;
await namespaces.putCounter('chain_be', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'BEST_EFFORT' } }] });
const NO_DEADLINE: CallInfo = { deadlineMs: Number.POSITIVE_INFINITY };
const op = (name: string) => OPERATIONS.find((o) => o.name === name)!;

/** app.ts's raceDeadline of 07c3d87^, verbatim but for its parameters. */
function raceDeadline(result: unknown, ms: number, method: string, url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new DgwError(
            'DEADLINE_EXCEEDED',
            `${method} ${url}: no answer within ${ms} ms; the outcome is unknown (a write may still be applied): ` +
              'retry with the same idempotency token or event ids',
          ),
        ),
      ms,
    );
    Promise.resolve(result).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

interface Case {
  name: string;
  input: (i: number) => JsonObject;
  viaChain: (input: JsonObject) => Promise<unknown>;
  before: (input: JsonObject) => Promise<unknown>;
}
const cases: Case[] = [
  {
    name: 'GetCount (BEST_EFFORT)',
    input: (i) => ({ namespace: 'chain_be', counter_name: `c${i % 100}` }),
    viaChain: (input) => chain.run({ operation: op('GetCount'), input, info: NO_DEADLINE, transport: 'http' }),
    before: (input) =>
      raceDeadline(
        (async () => {
          const r = decodeGetCount(input);
          const count = await counters.getCount(await namespaces.getCounter(r.namespace), r.counterName);
          return { count: formatInt64(count) };
        })(),
        10_000,
        'POST',
        '/v1/counter/GetCount',
      ),
  },
  {
    name: 'AddCount (BEST_EFFORT)',
    input: (i) => ({ namespace: 'chain_be', counter_name: `c${i % 100}`, delta: 1 }),
    viaChain: (input) => chain.run({ operation: op('AddCount'), input, info: NO_DEADLINE, transport: 'http' }),
    before: (input) =>
      raceDeadline(
        (async () => {
          const r = decodeAddCount(input);
          await counters.addCount(await namespaces.getCounter(r.namespace), r);
          return {};
        })(),
        10_000,
        'POST',
        '/v1/counter/AddCount',
      ),
  },
];

/** ns per call of `calls` sequential calls, 64 in flight at a time (as concurrent requests would be). */
async function time(run: (input: JsonObject) => Promise<unknown>, input: (i: number) => JsonObject): Promise<number> {
  const inputs = Array.from({ length: CALLS }, (_, i) => input(i));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 64) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(CALLS, i + 64); j++) batch.push(run(inputs[j]!));
    await Promise.all(batch);
  }
  return Number(process.hrtime.bigint() - t0) / CALLS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const c of cases) {
  await time(c.viaChain, c.input); // warm-up, both paths
  await time(c.before, c.input);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(await time(c.viaChain, c.input));
      b.push(await time(c.before, c.input));
    } else {
      b.push(await time(c.before, c.input));
      a.push(await time(c.viaChain, c.input));
    }
  }
  const ma = median(a);
  const mb = median(b);
  console.log(`${c.name.padEnd(24)} chain ${ma.toFixed(0).padStart(6)} ns/call   before the chain ${mb.toFixed(0).padStart(6)} ns/call   difference ${(ma - mb).toFixed(0).padStart(5)} ns (${(((ma - mb) / mb) * 100).toFixed(1)}%)`);
}
await server.close();
rmSync(dir, { recursive: true, force: true });
