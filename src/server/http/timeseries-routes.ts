/**
 * TimeSeries data-plane routes: POST /v1/timeseries/{WriteEventRecordsSync,
 * WriteEventRecords, ReadEventRecords, SearchEventRecords, AggregateEventRecords}.
 * Thin: decode, call the engine, encode.
 */
import type { FastifyInstance } from 'fastify';
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

/** What the TimeSeries routes need. */
export interface TimeSeriesRouteDeps {
  engine: TimeSeriesEngine;
  clock: Clock;
  namespaces: { getTimeSeries(name: string): Promise<TimeSeriesConfig> };
}

/** Registers the TimeSeries data-plane routes. */
export function registerTimeSeriesRoutes(app: FastifyInstance, deps: TimeSeriesRouteDeps): void {
  const { engine, clock, namespaces } = deps;
  const limits = engine.limits;

  app.post('/v1/timeseries/WriteEventRecordsSync', async (req, reply) => {
    const w = decodeWrite(req.body);
    const config = await namespaces.getTimeSeries(w.namespace);
    await engine.writeSync(config, w.events);
    return reply.code(200).send({});
  });

  app.post('/v1/timeseries/WriteEventRecords', async (req, reply) => {
    const w = decodeWrite(req.body);
    const config = await namespaces.getTimeSeries(w.namespace);
    await engine.writeBuffered(config, w.events);
    return reply.code(202).send({});
  });

  app.post('/v1/timeseries/ReadEventRecords', async (req) => {
    const q = decodeRead(req.body, limits, clock.nowMicros());
    const config = await namespaces.getTimeSeries(q.namespace);
    return encodePage(await engine.read(config, q));
  });

  app.post('/v1/timeseries/SearchEventRecords', async (req) => {
    const config = await namespaces.getTimeSeries(decodeNamespace(req.body));
    return encodePage(await engine.search(config, decodeSearch(req.body, config, limits)));
  });

  app.post('/v1/timeseries/AggregateEventRecords', async (req) => {
    const config = await namespaces.getTimeSeries(decodeNamespace(req.body));
    return encodeAggregate(await engine.aggregate(config, decodeAggregate(req.body, config, limits)));
  });
}
