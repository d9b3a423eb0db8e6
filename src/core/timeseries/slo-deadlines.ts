/**
 * A namespace's `slos` (DESIGN 3.5) as the server's default deadlines: a call that names
 * no deadline of its own gives up at its endpoint's `latency.max` (DEADLINE_EXCEEDED),
 * and a read that allows partial results returns what it found just before then.
 * Applied once, in the engine, so HTTP and gRPC behave alike.
 */
import type { SloEndpoint, TimeSeriesConfig } from '../control/types.js';
import { withDeadline } from '../deadline.js';
import type { ReadQuery } from './api.js';

/**
 * Part of `max` kept back from a read's own deadline so its partial page (allowPartial)
 * is answered before the hard deadline fires: 10%, at most 50 ms.
 */
export function partialMarginMicros(maxMicros: number): number {
  return Math.min(50_000, Math.floor(maxMicros / 10));
}

/** The endpoint's `max` in milliseconds, or undefined when the namespace has no SLO for it. */
export function sloMaxMs(config: TimeSeriesConfig, endpoint: SloEndpoint): number | undefined {
  const slo = config.slos?.[endpoint];
  return slo === undefined ? undefined : slo.maxMicros / 1000;
}

/**
 * Runs `work` under the endpoint's SLO `max` when the namespace sets one; otherwise as is.
 * A late result is dropped (writes are idempotent, so a client retry is safe).
 */
export function withSloDeadline<T>(config: TimeSeriesConfig, endpoint: SloEndpoint, what: string, work: () => Promise<T>): Promise<T> {
  const ms = sloMaxMs(config, endpoint);
  // A write goes on after the deadline and may still be stored: say so (issue 14 item 2).
  const unknown = endpoint === 'write' ? ' (the outcome is unknown: the write may still be applied; retry with the same event ids)' : '';
  return ms === undefined ? work() : withDeadline(work(), ms, `${what} (namespace ${config.name}, slos.${endpoint}.latency.max)${unknown}`);
}

/**
 * The read with the SLO's deadline filled in when the request named none (no `timeout`,
 * no gRPC deadline). An explicit deadline wins, longer or shorter.
 */
export function withReadSlo(config: TimeSeriesConfig, query: ReadQuery, nowMicros: number): ReadQuery {
  const slo = config.slos?.read;
  if (slo === undefined || query.deadlineMicros !== undefined) return query;
  return { ...query, deadlineMicros: nowMicros + slo.maxMicros - partialMarginMicros(slo.maxMicros) };
}
