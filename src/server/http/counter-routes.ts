/**
 * Counter data-plane routes: POST /v1/counter/{AddCount,AddAndGetCount,GetCount,ClearCount}
 * with the article's request bodies (DESIGN 2, 4). Both the article's snake_case keys and
 * the proto3 JSON camelCase names are accepted (`counter_name`/`counterName`,
 * `idempotency_token`/`idempotencyToken`, `generation_time`/`generationTime`). int64
 * `delta` is a JSON number or a decimal string; `count` is answered as a decimal string.
 * Thin: decode (src/server/wire/counter-wire.ts), call the CounterService, encode.
 * Errors are DgwErrors; app.ts maps them.
 */
import type { FastifyInstance } from 'fastify';
import type { CounterConfig } from '../../core/control/types.js';
import { formatInt64 } from '../../core/counter/int64.js';
import type { CounterService } from '../../core/counter/types.js';
import { decodeAddCount, decodeClearCount, decodeGetCount } from '../wire/counter-wire.js';

/** What the counter routes need. */
export interface CounterRouteDeps {
  counters: CounterService;
  namespaces: { getCounter(name: string): Promise<CounterConfig> };
}

/** Registers the Counter data-plane routes. */
export function registerCounterRoutes(app: FastifyInstance, deps: CounterRouteDeps): void {
  const { counters, namespaces } = deps;

  app.post('/v1/counter/AddCount', async (req) => {
    const r = decodeAddCount(req.body);
    await counters.addCount(await namespaces.getCounter(r.namespace), r);
    return {};
  });

  app.post('/v1/counter/AddAndGetCount', async (req) => {
    const r = decodeAddCount(req.body);
    const count = await counters.addAndGetCount(await namespaces.getCounter(r.namespace), r);
    return { count: formatInt64(count) };
  });

  app.post('/v1/counter/GetCount', async (req) => {
    const r = decodeGetCount(req.body);
    const count = await counters.getCount(await namespaces.getCounter(r.namespace), r.counterName);
    return { count: formatInt64(count) };
  });

  app.post('/v1/counter/ClearCount', async (req) => {
    const r = decodeClearCount(req.body);
    await counters.clearCount(await namespaces.getCounter(r.namespace), r);
    return {};
  });
}
