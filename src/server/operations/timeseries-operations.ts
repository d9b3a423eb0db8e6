/**
 * The TimeSeries data-plane operations (proto/dgw/timeseries.proto, DESIGN 3): the shared
 * wire decoders, the engine call, the shared encoders.
 */
import {
  decodeAggregate,
  decodeNamespace,
  decodeRead,
  decodeSearch,
  decodeWrite,
  encodeAggregate,
  encodePackedPageJson,
  encodePackedSearchPageJson,
  encodePage,
} from '../wire/timeseries-wire.js';
import type { JsonObject, Operation, OperationResult } from './operation.js';

/** Full name of the TimeSeries gRPC service. */
export const TIMESERIES_SERVICE = 'dgw.v1.TimeSeriesService';

const post = (name: string, status = 200) => ({
  method: 'POST' as const,
  routes: [{ url: `/v1/timeseries/${name}` }],
  status,
  input: 'body' as const,
});

/**
 * Part of the remaining call time kept back so a partial answer (allowPartial) still
 * reaches the client before its deadline fires: 10%, at most 50 ms.
 */
function deadlineMargin(remainingMs: number): number {
  return Math.min(50, remainingMs / 10);
}

const EMPTY: JsonObject = {};

/**
 * A result answered as JSON text; its body, if anything reads it, parsed from the text. A
 * class with the getter on its prototype: an object literal with a getter closure per call
 * made V8 promote ~16 KB per read to the old generation (trace-gc-nvp: 18.5 vs 3.9 KB per
 * call), which cost more in collections than the text saved.
 */
class JsonResult implements OperationResult {
  private parsed: JsonObject | undefined;

  constructor(readonly json: string) {}

  get body(): JsonObject {
    this.parsed ??= JSON.parse(this.json) as JsonObject;
    return this.parsed;
  }
}

/** WriteEventRecordsSync, WriteEventRecords, ReadEventRecords, SearchEventRecords, AggregateEventRecords. */
export const TIMESERIES_OPERATIONS: readonly Operation[] = [
  {
    name: 'WriteEventRecordsSync',
    grpcService: TIMESERIES_SERVICE,
    http: post('WriteEventRecordsSync'),
    plane: 'data',
    summary: 'Writes events durably; answers once they are stored (idempotent per event item).',
    async run(deps, input) {
      const w = decodeWrite(input);
      await deps.engine.writeSync(await deps.namespaces.getTimeSeries(w.namespace), w.events);
      return { body: EMPTY };
    },
  },
  {
    name: 'WriteEventRecords',
    grpcService: TIMESERIES_SERVICE,
    http: post('WriteEventRecords', 202),
    plane: 'data',
    summary: 'Validates events and queues them in the namespace buffer (202); RESOURCE_EXHAUSTED when full.',
    async run(deps, input) {
      const w = decodeWrite(input);
      await deps.engine.writeBuffered(await deps.namespaces.getTimeSeries(w.namespace), w.events);
      return { body: EMPTY };
    },
  },
  {
    name: 'ReadEventRecords',
    grpcService: TIMESERIES_SERVICE,
    http: post('ReadEventRecords'),
    plane: 'data',
    summary: 'Events of one series in a time interval, newest first, paged.',
    async run(deps, input, call) {
      const now = deps.clock.nowMicros();
      const q = decodeRead(input, deps.engine.limits, now);
      if (Number.isFinite(call.deadlineMs)) {
        // The call deadline is wall-clock; the engine measures on the injected clock, so
        // carry over the remaining budget rather than the absolute time. The earlier of
        // the request's `timeout` and the call deadline wins.
        const remainingMs = Math.max(0, call.deadlineMs - Date.now());
        const fromCall = now + Math.floor((remainingMs - deadlineMargin(remainingMs)) * 1000);
        q.deadlineMicros = Math.min(q.deadlineMicros ?? Number.POSITIVE_INFINITY, fromCall);
      }
      const config = await deps.namespaces.getTimeSeries(q.namespace);
      // On the HTTP fast path the page is written as JSON text from packed events (issue 9).
      const packed = call.jsonText ? await deps.engine.readPacked?.(config, q) : undefined;
      if (packed) return new JsonResult(encodePackedPageJson(packed, q.timeSeriesId));
      return { body: encodePage(await deps.engine.read(config, q)) as JsonObject };
    },
  },
  {
    name: 'SearchEventRecords',
    grpcService: TIMESERIES_SERVICE,
    http: post('SearchEventRecords'),
    plane: 'data',
    summary: 'Events matching a search over the index, in a time interval, paged.',
    async run(deps, input, call) {
      const config = await deps.namespaces.getTimeSeries(decodeNamespace(input));
      const q = decodeSearch(input, config, deps.engine.limits);
      // On the HTTP fast path the page is written as JSON text from packed events (issue 9).
      const packed = call.jsonText ? await deps.engine.searchPacked?.(config, q) : undefined;
      if (packed) return new JsonResult(encodePackedSearchPageJson(packed));
      return { body: encodePage(await deps.engine.search(config, q)) as JsonObject };
    },
  },
  {
    name: 'AggregateEventRecords',
    grpcService: TIMESERIES_SERVICE,
    http: post('AggregateEventRecords'),
    plane: 'data',
    summary: 'Distinct values of an item key, or a count, over the events matching a search.',
    async run(deps, input) {
      const config = await deps.namespaces.getTimeSeries(decodeNamespace(input));
      return { body: encodeAggregate(await deps.engine.aggregate(config, decodeAggregate(input, config, deps.engine.limits))) as JsonObject };
    },
  },
];
