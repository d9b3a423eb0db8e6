/**
 * gRPC TimeSeriesService handlers (proto/dgw/timeseries.proto). Thin: the same decoders,
 * engine calls and encoders as the HTTP routes, on the request's proto3 JSON form.
 */
import type { Clock } from '../../kernel/clock.js';
import type { TimeSeriesConfig } from '../../core/control/types.js';
import type { TimeSeriesEngine } from '../../core/timeseries/service.js';
import {
  decodeAggregate,
  decodeNamespace,
  decodeRead,
  decodeSearch,
  decodeWrite,
  encodeAggregate,
  encodePage,
} from '../wire/timeseries-wire.js';
import type { JsonObject } from './proto-json.js';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** The call's deadline in epoch milliseconds (wall clock); Infinity when there is none. */
  deadlineMs: number;
}

/** A unary method on proto3 JSON: request in, response out (DgwErrors thrown). */
export type JsonHandler = (request: JsonObject, context: CallContext) => Promise<unknown>;

/** What the TimeSeries handlers need. */
export interface TimeSeriesHandlerDeps {
  engine: TimeSeriesEngine;
  clock: Clock;
  namespaces: { getTimeSeries(name: string): Promise<TimeSeriesConfig> };
}

/**
 * Part of the remaining call time kept back so a partial answer (allowPartial) still
 * reaches the client before its deadline fires: 10%, at most 50 ms.
 */
function deadlineMargin(remainingMs: number): number {
  return Math.min(50, remainingMs / 10);
}

/** The TimeSeriesService methods, by proto method name. */
export function timeSeriesHandlers(deps: TimeSeriesHandlerDeps): Record<string, JsonHandler> {
  const { engine, clock, namespaces } = deps;
  const limits = engine.limits;
  return {
    WriteEventRecordsSync: async (body) => {
      const w = decodeWrite(body);
      await engine.writeSync(await namespaces.getTimeSeries(w.namespace), w.events);
      return {};
    },
    WriteEventRecords: async (body) => {
      const w = decodeWrite(body);
      await engine.writeBuffered(await namespaces.getTimeSeries(w.namespace), w.events);
      return {};
    },
    ReadEventRecords: async (body, context) => {
      const now = clock.nowMicros();
      const q = decodeRead(body, limits, now);
      if (Number.isFinite(context.deadlineMs)) {
        // The call deadline is wall-clock; the engine measures on the injected clock, so
        // carry over the remaining budget rather than the absolute time. The earlier of
        // the request's `timeout` and the call deadline wins.
        const remainingMs = Math.max(0, context.deadlineMs - Date.now());
        const fromCall = now + Math.floor((remainingMs - deadlineMargin(remainingMs)) * 1000);
        q.deadlineMicros = Math.min(q.deadlineMicros ?? Number.POSITIVE_INFINITY, fromCall);
      }
      return encodePage(await engine.read(await namespaces.getTimeSeries(q.namespace), q));
    },
    SearchEventRecords: async (body) => {
      const config = await namespaces.getTimeSeries(decodeNamespace(body));
      return encodePage(await engine.search(config, decodeSearch(body, config, limits)));
    },
    AggregateEventRecords: async (body) => {
      const config = await namespaces.getTimeSeries(decodeNamespace(body));
      return encodeAggregate(await engine.aggregate(config, decodeAggregate(body, config, limits)));
    },
  };
}
