/**
 * The Counter data-plane operations (proto/dgw/counter.proto, DESIGN 4): the shared wire
 * decoders, the CounterService call, int64 counts as decimal strings.
 */
import { formatInt64 } from '../../core/counter/int64.js';
import { decodeAddCount, decodeClearCount, decodeGetCount } from '../wire/counter-wire.js';
import {
  decodeCompareCounts,
  decodeReadCounterLog,
  decodeRecountCount,
  encodeCompare,
  encodeCounterLog,
  encodeRecount,
} from '../wire/counter-audit-wire.js';
import type { JsonObject, Operation } from './operation.js';

/** Full name of the Counter gRPC service. */
export const COUNTER_SERVICE = 'dgw.v1.CounterService';

const post = (name: string) => ({ method: 'POST' as const, routes: [{ url: `/v1/counter/${name}` }], status: 200, input: 'body' as const });

const EMPTY: JsonObject = {};

/** AddCount, AddAndGetCount, GetCount, ClearCount, then audit, recount and comparison. */
export const COUNTER_OPERATIONS: readonly Operation[] = [
  {
    name: 'AddCount',
    grpcService: COUNTER_SERVICE,
    http: post('AddCount'),
    plane: 'data',
    summary: 'Adds an int64 delta to a counter; idempotent under its token for EVENTUAL and ACCURATE.',
    async run(deps, input) {
      const r = decodeAddCount(input);
      await deps.counters.addCount(await deps.namespaces.getCounter(r.namespace), r);
      return { body: EMPTY };
    },
  },
  {
    name: 'AddAndGetCount',
    grpcService: COUNTER_SERVICE,
    http: post('AddAndGetCount'),
    plane: 'data',
    summary: 'Adds, then returns the count including this add.',
    async run(deps, input) {
      const r = decodeAddCount(input);
      return { body: { count: formatInt64(await deps.counters.addAndGetCount(await deps.namespaces.getCounter(r.namespace), r)) } };
    },
  },
  {
    name: 'GetCount',
    grpcService: COUNTER_SERVICE,
    http: post('GetCount'),
    plane: 'data',
    summary: 'The count of a counter (0 for one never written).',
    async run(deps, input) {
      const r = decodeGetCount(input);
      return { body: { count: formatInt64(await deps.counters.getCount(await deps.namespaces.getCounter(r.namespace), r.counterName)) } };
    },
    // A fresh cached namespace and a cached EVENTUAL count: the answer without a promise.
    // Otherwise (BEST_EFFORT, ACCURATE, a count not cached) `run` decodes the body again:
    // ~0.2 µs, against the ~3 µs this saves a cached GetCount.
    runNow(deps, input) {
      const r = decodeGetCount(input);
      const config = deps.namespaces.cachedCounter(r.namespace);
      if (config === undefined) return undefined;
      const count = deps.counters.getCountNow(config, r.counterName);
      return count === undefined ? undefined : { body: { count: formatInt64(count) } };
    },
  },
  {
    name: 'ClearCount',
    grpcService: COUNTER_SERVICE,
    http: post('ClearCount'),
    plane: 'data',
    summary: 'Resets a counter to 0.',
    async run(deps, input) {
      const r = decodeClearCount(input);
      await deps.counters.clearCount(await deps.namespaces.getCounter(r.namespace), r);
      return { body: EMPTY };
    },
  },
  {
    name: 'ReadCounterLog',
    grpcService: COUNTER_SERVICE,
    http: post('ReadCounterLog'),
    plane: 'data',
    summary: "Audit: a counter's adds and clears with their tokens and times, newest first, paged (EVENTUAL and ACCURATE).",
    async run(deps, input) {
      const r = decodeReadCounterLog(input);
      return { body: encodeCounterLog(await deps.counters.readLog(await deps.namespaces.getCounter(r.namespace), r)) };
    },
  },
  {
    name: 'RecountCount',
    grpcService: COUNTER_SERVICE,
    http: post('RecountCount'),
    plane: 'data',
    summary: 'Recounts a counter from its event log: the rollup, the recount and their difference; repairs only when asked.',
    async run(deps, input) {
      const r = decodeRecountCount(input);
      return { body: encodeRecount(await deps.counters.recount(await deps.namespaces.getCounter(r.namespace), r.counterName, r.repair)) };
    },
  },
  {
    name: 'CompareCounts',
    grpcService: COUNTER_SERVICE,
    http: post('CompareCounts'),
    plane: 'data',
    summary: 'Anytime-valid sequential test that the arms\' rates are in the proportions of their assignment probabilities (DESIGN 4.6).',
    async run(deps, input) {
      const r = decodeCompareCounts(input);
      return { body: encodeCompare(await deps.counters.compare(await deps.namespaces.getCounter(r.namespace), r)) };
    },
  },
];
