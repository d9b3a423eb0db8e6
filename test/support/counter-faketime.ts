/**
 * The faketime suite of issue 15, shared by its deployments (PostgreSQL + Redis in
 * test/e2e/counter-faketime.process.test.ts, Cassandra in counter-faketime.cassandra.test.ts):
 * `dgw serve` instances on one set of shared stores, instance A on the host's clock, B, C
 * and D under libfaketime (`LD_PRELOAD=libfaketimeMT.so.1`, `FAKETIME=+3s`, `-3s`, `+10s`:
 * Node's Date.now() and its monotonic clock move with it, checked first). Servers run with
 * `--clock-skew-margin 4s`.
 *
 * For each skewed instance S in turn: concurrent AddCounts (with tokens, some up to 4.5 s
 * old so that claims and refusals happen, and without tokens) and GetCounts spread over A
 * and S, on EVENTUAL and ACCURATE namespaces whose skew_margin is the default 1 s (S is
 * beyond it: its rollups pause and it refuses tokenless adds) or 4 s (±3 s within it).
 * The oracle holds every acknowledged add (200); FAILED_PRECONDITION and the refusals are
 * "not stored"; an UNAVAILABLE "outcome unknown" may go either way. Every acknowledged add
 * is counted: ACCURATE at once, EVENTUAL once rolled up, on A and on S. S's
 * `dgw_clock_offset_seconds` shows its offset from each shared store's clock; `/readyz` is
 * 200 on ±3 s and 503 naming the clock offset on +10 s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from './backends.js';
import { call, errorCode, isoMicros, nowMicros, pollUntil, prng, type CallResult } from './dgw-load.js';
import { requireTool } from './system-tool.js';
import { spawnServer, type ServerProcess } from './server-process.js';

/** libfaketime's multi-threaded library (Debian's `faketime` package), or undefined (skip) outside CI. */
export function faketimeLibrary(): string | undefined {
  return requireTool('libfaketime', ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1'], 'apt-get install faketime');
}

/** One deployment the suite runs on. */
export interface FaketimeDeployment {
  /** Names the deployment in the suite's title ("PostgreSQL + Redis"). */
  name: string;
  /** Why the suite is skipped (a backend or libfaketime missing), or false. */
  skip: string | false;
  /** libfaketime's path (from {@link faketimeLibrary}). */
  lib: string | undefined;
  /** The `clusters` of the instances' `--config`. */
  clusters: unknown[];
  /** Store (catalog key) the counter namespaces must resolve to, e.g. "cassandra:cass". */
  counterStore: string;
  /** Stores whose `dgw_clock_offset_seconds` must show the skewed instance's offset. */
  clockStores: string[];
  /** Drops what the run made (schemas, keyspaces, key prefixes). */
  cleanup(): Promise<void>;
}

const SEED = Number(process.env.DGW_FAKETIME_SEED ?? 1515);
const LOAD_MS = 4000;
const CALL_TIMEOUT_MS = 15_000;
const OFFSETS = { B: '+3s', C: '-3s', D: '+10s' } as const;
const SHIFT_S = { B: 3, C: -3, D: 10 } as const;
type Skewed = keyof typeof OFFSETS;

type CounterType = 'EVENTUAL' | 'ACCURATE';
const counterDoc = (type: CounterType, skewMargin: string) => ({
  persistence_configuration: [
    {
      id: 'COUNTER_ROLLUP',
      config: {
        counter_type: type,
        skew_margin: skewMargin,
        [type === 'EVENTUAL' ? 'eventual_counter_config' : 'accurate_counter_config']: {
          internal_config: { queue_config: { num_queues: 2, coalesce_ms: 100 } },
        },
      },
    },
  ],
});

/** The environment that runs a process `offset` off the host's clock. */
function faketimeEnv(lib: string | undefined, offset: string): Record<string, string> {
  return { LD_PRELOAD: lib ?? '', FAKETIME: offset, FAKETIME_NO_CACHE: '1' };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Registers the suite (one describe) on `d`. */
export function describeFaketimeCounters(d: FaketimeDeployment): void {
  describe(`dgw instances whose clocks disagree, under libfaketime, on ${d.name} (issue 15)`, { skip: d.skip }, () => {
    let dir: string;
    const servers = new Map<string, ServerProcess>();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dgw-faketime-'));
      const config = join(dir, 'dgw.json');
      writeFileSync(config, JSON.stringify({ clusters: d.clusters }));
      const args = ['--config', config, '--clock-skew-margin', '4s'];
      // A first (it runs the migrations and creates the keyspace), then the three skewed instances together.
      servers.set('A', await spawnServer(join(dir, 'A'), args));
      const skewed = await Promise.all(
        (Object.keys(OFFSETS) as Skewed[]).map(async (name) => [name, await spawnServer(join(dir, name), args, { env: faketimeEnv(d.lib, OFFSETS[name]) })] as const),
      );
      for (const [name, s] of skewed) servers.set(name, s);
    });

    after(async () => {
      for (const s of servers.values()) await s.stop();
      if (process.env.DGW_TEST_VERBOSE) for (const [name, s] of servers) console.log(`--- ${name}\n${s.output()}`);
      if (dir) rmSync(dir, { recursive: true, force: true });
      await d.cleanup();
    });

    it("libfaketime moves Node's Date.now() (and keeps its monotonic clock steady)", () => {
      for (const name of Object.keys(OFFSETS) as Skewed[]) {
        const offset = OFFSETS[name];
        const before = Date.now();
        const r = spawnSync(process.execPath, ['-e', 'const h=process.hrtime.bigint();const d=Date.now();setTimeout(()=>console.log(d, Number(process.hrtime.bigint()-h)/1e6),100)'], {
          env: { ...process.env, ...faketimeEnv(d.lib, offset) },
          encoding: 'utf8',
        });
        const after = Date.now();
        const [seen, elapsedMs] = r.stdout.trim().split(' ').map(Number) as [number, number];
        const shift = SHIFT_S[name] * 1000;
        assert.ok(seen >= before + shift - 50 && seen <= after + shift + 50, `${name} (${offset}): Date.now() ${seen}, host ${before}..${after}`);
        assert.ok(elapsedMs >= 90 && elapsedMs < 5000, `${name}: a 100 ms timer measured ${elapsedMs} ms on the monotonic clock`);
      }
    });

    for (const name of Object.keys(OFFSETS) as Skewed[]) {
      it(`A and ${name} (FAKETIME=${OFFSETS[name]}): every acknowledged add counted, EVENTUAL and ACCURATE; offset on /metrics; /readyz`, async () => {
        const a = servers.get('A')!.url;
        const s = servers.get(name)!.url;
        const shift = SHIFT_S[name];

        // The measured offset: store clock − S's clock = −shift (± the measurement's error).
        const metrics = await (await fetch(`${s}/metrics`)).text();
        for (const store of d.clockStores) {
          const m = new RegExp(`^dgw_clock_offset_seconds\\{store="${escapeRe(store)}"\\} (\\S+)$`, 'm').exec(metrics);
          assert.ok(m, `dgw_clock_offset_seconds{store="${store}"} on ${name}'s /metrics`);
          assert.ok(Math.abs(Number(m[1]) + shift) < 0.5, `${name} measured ${m[1]} s on ${store}, expected about ${-shift} s`);
        }
        const ready = await call(s, 'GET', '/readyz', undefined);
        if (Math.abs(shift) > 4) {
          assert.equal(ready.status, 503, `${name} beyond the 4 s margin: ${JSON.stringify(ready.json)}`);
          for (const store of d.clockStores) {
            assert.match(JSON.stringify(ready.json), new RegExp(`clock offset of store \\\\"${escapeRe(store)}\\\\" is .* beyond the skew margin of 4\\.000 s`));
          }
        } else {
          assert.equal(ready.status, 200, `${name} within the 4 s margin: ${JSON.stringify(ready.json)}`);
        }
        assert.equal((await call(a, 'GET', '/readyz', undefined)).status, 200, 'A is ready');

        const rand = prng(SEED + shift);
        const namespaces: { ns: string; type: CounterType; margin: string }[] = [];
        for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
          for (const margin of ['1s', '4s']) {
            const ns = uniqueName(`ft_${name.toLowerCase()}_${type === 'EVENTUAL' ? 'ev' : 'acc'}_${margin}`);
            const r = await call(a, 'PUT', `/v1/counter/namespaces/${ns}`, counterDoc(type, margin));
            assert.equal(r.status, 201, JSON.stringify(r.json));
            assert.match(JSON.stringify(r.json), new RegExp(`"store":"${escapeRe(d.counterStore)}"`), `${ns} on ${d.counterStore}`);
            namespaces.push({ ns, type, margin });
          }
        }
        for (const { ns } of namespaces) {
          await pollUntil(async () => (await call(s, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: 'probe' })).status === 200, 10_000, () => `${name} never saw ${ns}`, 50);
        }

        const COUNTERS = ['c0', 'c1'];
        const acked = new Map<string, bigint>();
        const unknown = new Map<string, bigint>();
        const outcomes: Record<string, number> = {};
        const messages: Record<string, string> = {};
        const bump = (m: Map<string, bigint>, k: string, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);
        const classify = (r: CallResult): 'ok' | 'not stored' | 'unknown' => {
          if (r.status === 200) return 'ok';
          const code = errorCode(r);
          const message = String((r.json['error'] as Record<string, unknown> | undefined)?.['message'] ?? '');
          if (code === 'FAILED_PRECONDITION') return 'not stored';
          if (code === 'UNAVAILABLE' && /cannot be ordered here/.test(message)) return 'not stored';
          return 'unknown';
        };
        let seq = 0;
        // One add per counter through A first: the first write of a namespace makes its
        // tables (seconds of schema agreement on Cassandra), which must not eat the load window.
        for (const { ns } of namespaces) {
          for (const counter of COUNTERS) {
            const r = await call(a, 'POST', '/v1/counter/AddCount', { namespace: ns, counter_name: counter, delta: 1, idempotency_token: { token: `ft-${name}-${seq++}`, generation_time: isoMicros(nowMicros()) } }, CALL_TIMEOUT_MS);
            const outcome = classify(r);
            if (outcome === 'ok') bump(acked, `${ns}/${counter}`, 1n);
            else if (outcome === 'unknown') bump(unknown, `${ns}/${counter}`, 1n);
          }
        }
        const started = performance.now();
        const worker = async (): Promise<void> => {
          while (performance.now() - started < LOAD_MS) {
            const { ns } = namespaces[Math.floor(rand() * namespaces.length)]!;
            const counter = COUNTERS[Math.floor(rand() * COUNTERS.length)]!;
            const url = rand() < 0.5 ? a : s;
            const roll = rand();
            if (roll < 0.15) {
              await call(url, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: counter }, CALL_TIMEOUT_MS);
              continue;
            }
            const delta = BigInt(1 + Math.floor(rand() * 100));
            const body: Record<string, unknown> = { namespace: ns, counter_name: counter, delta: Number(delta) };
            // With a token: fresh, or up to 4.5 s old (inside A's 5 s accept window).
            if (roll < 0.75) body['idempotency_token'] = { token: `ft-${name}-${seq++}`, generation_time: isoMicros(nowMicros() - (rand() < 0.4 ? Math.floor(rand() * 4_500_000) : 0)) };
            const r = await call(url, 'POST', '/v1/counter/AddCount', body, CALL_TIMEOUT_MS);
            const outcome = classify(r);
            const label = `${url === a ? 'A' : name} ${body['idempotency_token'] ? 'token' : 'tokenless'} ${outcome === 'ok' ? 'ok' : `${r.status} ${errorCode(r)}`}`;
            outcomes[label] = (outcomes[label] ?? 0) + 1;
            if (outcome !== 'ok') messages[label] ??= String((r.json['error'] as Record<string, unknown> | undefined)?.['message'] ?? '');
            if (outcome === 'ok') bump(acked, `${ns}/${counter}`, delta);
            else if (outcome === 'unknown') bump(unknown, `${ns}/${counter}`, delta);
          }
        };
        await Promise.all(Array.from({ length: 6 }, () => worker()));
        console.log(`faketime ${name} (${OFFSETS[name]}) on ${d.name}: ${JSON.stringify(outcomes)}`);
        if (process.env.DGW_TEST_VERBOSE) console.log(JSON.stringify(messages, null, 1));
        assert.ok([...acked.values()].some((v) => v > 0n), 'some adds were acknowledged');

        const read = async (url: string, ns: string, counter: string): Promise<bigint | undefined> => {
          const r = await call(url, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: counter }, CALL_TIMEOUT_MS);
          return r.status === 200 ? BigInt(String(r.json['count'])) : undefined;
        };
        for (const { ns, type, margin } of namespaces) {
          for (const counter of COUNTERS) {
            const low = acked.get(`${ns}/${counter}`) ?? 0n;
            const high = low + (unknown.get(`${ns}/${counter}`) ?? 0n);
            const fits = (v: bigint | undefined) => v !== undefined && v >= low && v <= high;
            if (type === 'ACCURATE') {
              const v = await read(a, ns, counter);
              assert.ok(fits(v), `ACCURATE (skew_margin ${margin}) ${counter} on A reads ${v}; acknowledged ${low}..${high}`);
            }
            for (const url of [a, s]) {
              let last: bigint | undefined;
              await pollUntil(
                async () => fits((last = await read(url, ns, counter))),
                30_000,
                () => `${type} (skew_margin ${margin}) ${counter} on ${url === a ? 'A' : name} reads ${last}; acknowledged ${low}..${high}`,
                250,
              );
            }
          }
        }
      });
    }
  });
}
