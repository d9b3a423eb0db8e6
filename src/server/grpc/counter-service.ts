/**
 * gRPC CounterService handlers (proto/dgw/counter.proto). Thin: the same decoders and
 * CounterService calls as the HTTP routes, on the request's proto3 JSON form (whose
 * camelCase keys the decoders accept next to the article's snake_case).
 */
import type { CounterConfig } from '../../core/control/types.js';
import { formatInt64 } from '../../core/counter/int64.js';
import type { CounterService } from '../../core/counter/types.js';
import { decodeAddCount, decodeClearCount, decodeGetCount } from '../wire/counter-wire.js';
import type { JsonHandler } from './timeseries-service.js';

/** What the Counter handlers need. */
export interface CounterHandlerDeps {
  counters: CounterService;
  namespaces: { getCounter(name: string): Promise<CounterConfig> };
}

/** The CounterService methods, by proto method name. */
export function counterHandlers(deps: CounterHandlerDeps): Record<string, JsonHandler> {
  const { counters, namespaces } = deps;
  return {
    AddCount: async (body) => {
      const r = decodeAddCount(body);
      await counters.addCount(await namespaces.getCounter(r.namespace), r);
      return {};
    },
    AddAndGetCount: async (body) => {
      const r = decodeAddCount(body);
      return { count: formatInt64(await counters.addAndGetCount(await namespaces.getCounter(r.namespace), r)) };
    },
    GetCount: async (body) => {
      const r = decodeGetCount(body);
      return { count: formatInt64(await counters.getCount(await namespaces.getCounter(r.namespace), r.counterName)) };
    },
    ClearCount: async (body) => {
      const r = decodeClearCount(body);
      await counters.clearCount(await namespaces.getCounter(r.namespace), r);
      return {};
    },
  };
}
