/**
 * `dgw status`: the server's GET /v1/status as a short report (or the JSON with
 * --json): version, uptime, stores and their health, namespaces with slices and events,
 * queue depths, rollup lag, request rates and latency per operation.
 */
import type { Command } from '../command.js';
import { DgwHttpClient, URL_OPTION } from '../http-client.js';
import type { StatusReport } from '../../server/ops/status.js';

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${d ? d + 'd ' : ''}${h ? h + 'h ' : ''}${m ? m + 'm ' : ''}${seconds % 60}s`;
}

/** Renders the report as text, one section per concern. */
export function formatStatus(s: StatusReport, base: string): string {
  const lines = [
    `# server`,
    `url: ${base}`,
    `version: ${s.version} (node ${s.node})`,
    `uptime: ${duration(s.uptimeSeconds)} (since ${s.startedAt})`,
    `ports: http ${s.ports.http}${s.ports.grpc !== undefined ? `, grpc ${s.ports.grpc}` : ''}`,
    '',
    `# stores`,
    ...s.stores.map((st) => `${st.key}: ${st.healthy ? 'ok' : 'DOWN'} (${st.pingMs} ms)${st.error ? ' ' + st.error : ''}`),
    '',
    `# namespaces (${s.namespaces.length})`,
    ...s.namespaces.map((n) => {
      const slices = n.slices ? Object.entries(n.slices).map(([k, v]) => `${v} ${k.toLowerCase()}`).join(', ') || 'none' : '-';
      const rollup = n.kind === 'counter' ? `, rollup queue ${n.rollupQueueDepth ?? 0}, lag ${(n.rollupLagSeconds ?? 0).toFixed(1)} s` : '';
      return `${n.kind} ${n.name} v${n.version}: slices ${slices}, ${n.eventsWritten} events written since start${rollup}`;
    }),
    '',
    `# queues`,
    `write buffers: ${s.queues.writeBufferEvents} events, ${s.queues.writeBufferBytes} bytes`,
    `rollup queues: ${s.queues.rollupQueueDepth} counters`,
    `rollup lag: ${s.rollupLagSeconds.toFixed(1)} s (worst namespace)`,
    ...(s.rollupBus
      ? [
          `rollup bus (NATS): ${s.rollupBus.connected ? 'connected' : 'DOWN (rollups in process)'}, ${s.rollupBus.pending} pending, ${s.rollupBus.ackPending} awaiting ack, ` +
            `${s.rollupBus.acknowledged} acknowledged, ${s.rollupBus.redelivered} redelivered, ${s.rollupBus.deferred ?? 0} deferred, ${s.rollupBus.fallbacks} fallbacks since start`,
        ]
      : []),
    '',
    `# requests (last minute)`,
    `rate: ${s.requests.ratePerSecond.toFixed(2)}/s`,
    ...s.requests.operations.map((o) => `${o.operation}: ${o.rate.toFixed(2)}/s, p50 ${o.p50.toFixed(1)} ms, p99 ${o.p99.toFixed(1)} ms, ${o.errors} errors`),
  ];
  return lines.join('\n');
}

/** The `status` command. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'Shows what the server runs and how it is doing (like Redis INFO).',
  args: '',
  required: 0,
  options: { json: { type: 'boolean', description: 'print the raw GET /v1/status JSON' }, url: URL_OPTION },
  async run(ctx) {
    const client = new DgwHttpClient(ctx.values.url as string | undefined);
    const report = await client.call<StatusReport>('GET', '/v1/status');
    ctx.stdout.write((ctx.values.json ? JSON.stringify(report, null, 2) : formatStatus(report, client.base)) + '\n');
    return report.stores.every((s) => s.healthy) ? 0 : 1;
  },
};
