/**
 * The counter oracle (DESIGN 5, issue 3): seeded random sequences of adds (positive,
 * negative, zero, beyond 2^53), hedged duplicates, retries (also after accept_limit),
 * same-token-new-time mutations, clears and reads, sent to two dgw instances that share
 * the stores and each run their own rollup pipelines, on a ManualClock. ACCURATE must
 * equal the oracle at every read; EVENTUAL rollups must always equal the oracle as of
 * their checkpoint and end at the exact oracle count once the clock passes
 * accept_limit + skew and the pipelines drain. Runs on memory and SQLite.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CounterConfig } from '../../src/core/control/types.js';
import type { AddCountRequest, ClearCountRequest, IdempotencyToken } from '../../src/core/counter/types.js';
import { ADAPTERS, makeHarness, uniqueNamespace, type CounterHarness } from '../support/counter-harness.js';
import { prng } from '../support/dgw-load.js';


type Mutation = { kind: 'add'; time: number; delta: bigint } | { kind: 'clear'; time: number };

/** The oracle: every acknowledged mutation once, by identity; the count by the written rule. */
class Oracle {
  private readonly byCounter = new Map<string, Map<string, Mutation>>();

  record(counter: string, id: string, m: Mutation): void {
    let events = this.byCounter.get(counter);
    if (!events) this.byCounter.set(counter, (events = new Map()));
    if (!events.has(id)) events.set(id, m); // a retry of the same identity changes nothing
  }

  /** A clear at T drops every add at or before T (ties: the clear wins). */
  count(counter: string, asOf = Number.POSITIVE_INFINITY): bigint {
    const events = [...(this.byCounter.get(counter)?.values() ?? [])].filter((m) => m.time <= asOf);
    let lastClear = Number.NEGATIVE_INFINITY;
    for (const m of events) if (m.kind === 'clear' && m.time > lastClear) lastClear = m.time;
    let sum = 0n;
    for (const m of events) if (m.kind === 'add' && m.time > lastClear) sum += m.delta;
    return sum;
  }
}

interface Sent {
  ns: 'eventual' | 'accurate';
  kind: 'add' | 'clear';
  request: AddCountRequest | ClearCountRequest;
}

const COUNTERS = ['c0', 'c1', 'c2', 'c3'];
const LARGE = 2n ** 60n;

async function runOracle(h: CounterHarness, seed: number, steps: number): Promise<void> {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const tweak = (c: CounterConfig): CounterConfig => ({
    ...c,
    rollup: { ...c.rollup, coalesceMicros: 500_000, rollupBatchCount: 3, numQueues: 2 },
  });
  const configs = {
    eventual: tweak(h.config(uniqueNamespace('ev'), 'EVENTUAL')),
    accurate: tweak(h.config(uniqueNamespace('acc'), 'ACCURATE')),
  };
  const oracles = { eventual: new Oracle(), accurate: new Oracle() };
  const largeBudget = new Map<string, number>();
  const sent: Sent[] = [];
  let seq = 0;
  const instance = () => pick(h.instances).counters;
  const key = (ns: string, c: string) => `${ns}/${c}`;

  const makeToken = (): IdempotencyToken => ({
    token: `tok-${seed}-${seq++}`,
    generationTimeMicros: h.clock.nowMicros() - Math.floor(rand() * 1_500_000),
  });
  const randomDelta = (ns: string, counter: string): bigint => {
    const r = rand();
    if (r < 0.1) return 0n;
    if (r < 0.18 && (largeBudget.get(key(ns, counter)) ?? 0) < 6) {
      // Beyond 2^53: precision must survive every layer. At most 6 per counter keeps
      // every partial sum inside int64 whatever order the events fall in.
      largeBudget.set(key(ns, counter), (largeBudget.get(key(ns, counter)) ?? 0) + 1);
      return (rand() < 0.5 ? 1n : -1n) * (LARGE + BigInt(Math.floor(rand() * 1e9)));
    }
    return BigInt(Math.floor(rand() * 201) - 100);
  };

  /** Sends one mutation (maybe hedged to both instances at once) and records it when acknowledged. */
  const mutate = async (s: Sent, hedge: boolean): Promise<void> => {
    const config = configs[s.ns];
    const send = (target = instance()) =>
      s.kind === 'add' ? target.addCount(config, s.request as AddCountRequest) : target.clearCount(config, s.request);
    if (hedge) await Promise.all(h.instances.map((i) => send(i.counters)));
    else await send();
    const time = s.request.token?.generationTimeMicros;
    assert.ok(time !== undefined);
    const id = `${s.request.token?.token}@${time}`;
    const m: Mutation =
      s.kind === 'add' ? { kind: 'add', time, delta: (s.request as AddCountRequest).delta } : { kind: 'clear', time };
    oracles[s.ns].record(s.request.counterName, id, m);
  };

  const randomOp = (touched: Set<string>): (() => Promise<void>) => {
    const ns = pick(['eventual', 'accurate'] as const);
    const counter = pick(COUNTERS);
    touched.add(key(ns, counter));
    const r = rand();
    if (r < 0.12 && sent.length > 0) {
      // A retry of an earlier mutation with the same token and time, maybe long after
      // accept_limit: succeeds, never counted twice.
      const old = pick(sent);
      touched.add(key(old.ns, old.request.counterName));
      return () => mutate(old, rand() < 0.3);
    }
    if (r < 0.16 && sent.length > 0) {
      // Same token, new generation time: a different mutation, counted again.
      const old = pick(sent.filter((s) => s.kind === 'add'));
      if (old && old.request.token) {
        touched.add(key(old.ns, old.request.counterName));
        const again: Sent = {
          ...old,
          request: { ...old.request, token: { token: old.request.token.token, generationTimeMicros: h.clock.nowMicros() } },
        };
        return () => mutate(again, false);
      }
    }
    const kind = r < 0.24 ? 'clear' : 'add';
    const token = makeToken();
    const s: Sent =
      kind === 'add'
        ? { ns, kind, request: { counterName: counter, delta: randomDelta(ns, counter), token } }
        : { ns, kind, request: { counterName: counter, token } };
    sent.push(s);
    return () => mutate(s, rand() < 0.25);
  };

  const checkAccurate = async (counter: string): Promise<void> => {
    const got = await instance().getCount(configs.accurate, counter);
    assert.equal(got, oracles.accurate.count(counter), `seed ${seed}: ACCURATE ${counter}`);
  };

  /** A stored EVENTUAL rollup always equals the oracle as of its checkpoint. */
  const checkCheckpoint = async (counter: string): Promise<void> => {
    const ns = configs.eventual;
    const row = await h.catalog.rollups(ns.rollup.storage.store).get(ns.name, counter);
    if (!row) return;
    assert.equal(row.lastRollupCount, oracles.eventual.count(counter, row.lastRollupTsMicros), `seed ${seed}: rollup row of ${counter}`);
    const cached = await h.catalog.rollupCache(ns.cache.storage.store).get(ns.name, counter);
    if (cached) assert.equal(cached.count, oracles.eventual.count(counter, cached.rollupTsMicros), `seed ${seed}: cached rollup of ${counter}`);
  };

  for (let step = 0; step < steps; step++) {
    const r = rand();
    if (r < 0.05) {
      // A long pause: rollups catch up; retries after this are past accept_limit.
      await h.scheduler.advance(6000 + rand() * 3000);
    } else if (r < 0.12) {
      // AddAndGetCount alone: read-your-write for EVENTUAL and ACCURATE.
      const ns = pick(['eventual', 'accurate'] as const);
      const counter = pick(COUNTERS);
      const delta = randomDelta(ns, counter);
      if (rand() < 0.5) {
        const token = makeToken();
        const got = await instance().addAndGetCount(configs[ns], { counterName: counter, delta, token });
        oracles[ns].record(counter, `${token.token}@${token.generationTimeMicros}`, { kind: 'add', time: token.generationTimeMicros, delta });
        sent.push({ ns, kind: 'add', request: { counterName: counter, delta, token } });
        assert.equal(got, oracles[ns].count(counter), `seed ${seed}: AddAndGetCount ${ns} ${counter}`);
      } else {
        // No token: the server's clock is the event time (nothing moves the clock here).
        const time = h.clock.nowMicros();
        if (rand() < 0.2) {
          await instance().clearCount(configs[ns], { counterName: counter });
          oracles[ns].record(counter, `clear-${seq++}`, { kind: 'clear', time });
        } else {
          const got = await instance().addAndGetCount(configs[ns], { counterName: counter, delta });
          oracles[ns].record(counter, `plain-${seq++}`, { kind: 'add', time, delta });
          assert.equal(got, oracles[ns].count(counter), `seed ${seed}: AddAndGetCount (no token) ${ns} ${counter}`);
        }
      }
    } else {
      // 1-4 concurrent mutations, rollups running meanwhile (the clock moves < skew
      // margin while writes are in flight), and ACCURATE reads of untouched counters.
      const touched = new Set<string>();
      const ops = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomOp(touched));
      const untouched = COUNTERS.filter((c) => !touched.has(key('accurate', c)));
      await Promise.all([
        ...ops.map((op) => op()),
        h.scheduler.advance(rand() * 300),
        ...untouched.slice(0, 2).map((c) => checkAccurate(c)),
        instance().getCount(configs.eventual, pick(COUNTERS)).then(() => undefined),
      ]);
    }
    await checkAccurate(pick(COUNTERS));
    await checkCheckpoint(pick(COUNTERS));
  }

  // Converge: past accept_limit + skew margin, re-queued counters catch up on their own.
  for (let i = 0; i < 10; i++) await h.scheduler.advance(1000);
  for (const inst of h.instances) await inst.counters.shutdown();
  for (const counter of COUNTERS) {
    const expectedEventual = oracles.eventual.count(counter);
    const row = await h.catalog.rollups(configs.eventual.rollup.storage.store).get(configs.eventual.name, counter);
    assert.equal(row?.lastRollupCount ?? 0n, expectedEventual, `seed ${seed}: converged rollup of ${counter}`);
    for (const inst of h.instances) {
      assert.equal(await inst.counters.getCount(configs.eventual, counter), expectedEventual, `seed ${seed}: EVENTUAL ${counter}`);
      assert.equal(await inst.counters.getCount(configs.accurate, counter), oracles.accurate.count(counter), `seed ${seed}: ACCURATE ${counter}`);
    }
  }
  // ACCURATE counters were rolled up too (reads trigger rollups): their rows match as well.
  for (const counter of COUNTERS) {
    const row = await h.catalog.rollups(configs.accurate.rollup.storage.store).get(configs.accurate.name, counter);
    if (row) assert.equal(row.lastRollupCount, oracles.accurate.count(counter, row.lastRollupTsMicros), `seed ${seed}: ACCURATE row ${counter}`);
  }
}

const SEEDS = (process.env['DGW_ORACLE_SEEDS'] ?? '1,2,3,20241112').split(',').map(Number);
const STEPS = Number(process.env['DGW_ORACLE_STEPS'] ?? 120);

for (const adapter of ADAPTERS) {
  describe(`counter oracle on ${adapter} (two instances, concurrent rollups)`, () => {
    for (const seed of SEEDS) {
      it(`converges to the exact oracle count (seed ${seed})`, async () => {
        const h = makeHarness(adapter, { instances: 2 });
        try {
          await runOracle(h, seed, STEPS);
        } catch (err) {
          console.error(`counter oracle failed on ${adapter}: reproduce with DGW_ORACLE_SEEDS=${seed} DGW_ORACLE_STEPS=${STEPS}`);
          throw err;
        } finally {
          await h.close();
        }
      });
    }
  });
}
