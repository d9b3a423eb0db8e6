/**
 * The `slos` block of a TimeSeries namespace document (DESIGN 3.5, the article's
 * "SLO-based Hedging"): per endpoint (`read`, `write`) a `latency.target` (clients hedge
 * a call still unanswered at the target) and a `latency.max` (the call gives up; the
 * server uses it as the endpoint's default deadline). Lives at the document's top level,
 * beside `persistence_configuration`.
 */
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { invalidArgument } from '../../kernel/errors.js';
import { formatDurationMicros } from '../../kernel/time.js';
import { DocSection } from './doc-reader.js';
import type { NamespaceSlos, Slo, SloEndpoint } from './types.js';

/** The root key (one spelling: the article's). */
export const SLOS_KEYS = ['slos'] as const;

/** The endpoints an SLO may name. */
export const SLO_ENDPOINTS: readonly SloEndpoint[] = ['read', 'write'];

/** Latency bounds: at least 1 ms, at most 10 minutes. */
const LATENCY = { min: 1000, max: 600 * MICROS_PER_SECOND };

/**
 * Parses the `slos` object found at `path`. Each endpoint needs `latency.max`;
 * `latency.target` defaults to `max` (no hedging before giving up) and must not exceed it.
 * Unknown endpoints are INVALID_ARGUMENT (a typo would silently drop the deadline).
 */
export function parseSlos(value: unknown, path: string, notices: string[]): NamespaceSlos {
  const root = DocSection.of(value, path, notices);
  const slos: NamespaceSlos = {};
  for (const key of root.keys()) {
    if (!(SLO_ENDPOINTS as readonly string[]).includes(key)) {
      throw invalidArgument(`${path}.${key}`, `unknown endpoint (expected one of ${SLO_ENDPOINTS.join(', ')})`);
    }
  }
  for (const endpoint of SLO_ENDPOINTS) {
    const ep = root.section([endpoint]);
    if (ep === undefined) continue;
    const latency = ep.section(['latency']);
    if (latency === undefined) throw invalidArgument(`${ep.path}.latency`, 'required (an object with target and max)');
    const maxMicros = latency.duration(['max'], LATENCY);
    if (maxMicros === undefined) throw invalidArgument(`${latency.path}.max`, 'required (a duration such as "1s")');
    const targetMicros = latency.duration(['target'], LATENCY) ?? maxMicros;
    if (targetMicros > maxMicros) {
      throw invalidArgument(
        `${latency.path}.target`,
        `must not exceed max (${formatDurationMicros(maxMicros)}), got ${formatDurationMicros(targetMicros)}`,
      );
    }
    latency.finish();
    ep.finish();
    const slo: Slo = { targetMicros, maxMicros };
    slos[endpoint] = slo;
  }
  root.finish();
  return slos;
}
