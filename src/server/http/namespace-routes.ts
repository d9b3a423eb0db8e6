/**
 * Control-plane routes: PUT/GET/DELETE /v1/{timeseries,counter}/namespaces/{namespace}
 * and GET /v1/{timeseries,counter}/namespaces (DESIGN 2, 3.1, 4.1).
 */
import type { FastifyInstance } from 'fastify';
import type { NamespaceManager } from '../../core/control/namespace-manager.js';
import type { NamespaceRecord } from '../../domain/namespaces.js';
import type { NamespaceRegistry } from '../../storage/contracts.js';
import { formatTimestampMicros } from '../../kernel/time.js';
import { notFound } from '../../kernel/errors.js';

function view(record: NamespaceRecord) {
  return {
    namespace: record.name,
    kind: record.kind,
    version: record.version,
    updatedAt: formatTimestampMicros(record.updatedAtMicros),
    config: record.config,
  };
}

/** Registers the namespace routes for both kinds. */
export function registerNamespaceRoutes(app: FastifyInstance, namespaces: NamespaceManager, registry: NamespaceRegistry): void {
  for (const kind of ['timeseries', 'counter'] as const) {
    app.put<{ Params: { ns: string } }>(`/v1/${kind}/namespaces/:ns`, async (req, reply) => {
      const r =
        kind === 'timeseries'
          ? await namespaces.putTimeSeries(req.params.ns, req.body ?? {})
          : await namespaces.putCounter(req.params.ns, req.body ?? {});
      return reply.code(r.created ? 201 : 200).send({ ...view(r.record), notices: r.notices });
    });

    app.get<{ Params: { ns: string } }>(`/v1/${kind}/namespaces/:ns`, async (req) => {
      if (kind === 'timeseries') await namespaces.getTimeSeries(req.params.ns);
      else await namespaces.getCounter(req.params.ns);
      const record = await registry.get(kind, req.params.ns);
      if (!record) throw notFound(`namespace "${req.params.ns}" not found`);
      return view(record);
    });

    app.delete<{ Params: { ns: string } }>(`/v1/${kind}/namespaces/:ns`, async (req) => {
      await namespaces.delete(kind, req.params.ns);
      return {};
    });

    app.get(`/v1/${kind}/namespaces`, async () => ({
      namespaces: (await namespaces.list(kind)).map(view),
    }));
  }
}
