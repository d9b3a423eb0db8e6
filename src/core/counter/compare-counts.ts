/**
 * CompareCounts (DESIGN 4.6): the anytime-valid sequential test over the event logs of two
 * or more counters of one namespace (the arms of an experiment). The arms' adds are
 * replayed in time order into a {@link SequentialTest}, so the p-value is the running
 * minimum over the real path of counts and the first time it fell below α is a time the
 * caller could have stopped at.
 *
 * The test is about counting processes: a clear or a negative delta inside the interval
 * has no meaning for it and is refused (FAILED_PRECONDITION naming the counter and time).
 * Zero deltas are skipped. Counts come from the event log, so they are exact under
 * retries and hedges (the idempotency key deduplicates them before they are stored).
 */
import type { Clock } from '../../kernel/clock.js';
import type { CounterConfig } from '../control/types.js';
import { DgwError, invalidArgument } from '../../kernel/errors.js';
import type { TimeSeriesService } from '../timeseries/api.js';
import { decodeCounterEvent } from './counter-events.js';
import { checkSequentialTestOptions, DEFAULT_CONCENTRATION, SequentialTest } from './sequential-test.js';
import { validateCounterName } from './validate.js';

/** Most increments events one comparison replays (memory bound: narrow the interval beyond it). */
export const MAX_COMPARE_EVENTS = 2_000_000;
/** Most arms of one comparison. */
export const MAX_ARMS = 16;

/** A CompareCounts request in domain terms. */
export interface CompareCountsQuery {
  counterNames: string[];
  assignmentProbabilities: number[];
  concentration?: number;
  /** `[startMicros, endMicros)`; default: the whole retained log up to now. */
  startMicros?: number;
  endMicros?: number;
  /** Level whose first crossing is reported (default 0.05). */
  alpha?: number;
}

/** The answer of CompareCounts. */
export interface CompareCountsResult {
  /** Increments per arm over the interval, in request order. */
  counts: bigint[];
  /** The anytime-valid p-value: running minimum of min(1, 1/BF) over the replayed path. */
  pValue: number;
  /** log BF at the final counts. */
  logBayesFactor: number;
  /** Event time of the increment that first took the p-value below α, if it did. */
  firstBelowAlphaMicros?: number;
}

interface Step {
  arm: number;
  timeMicros: number;
  increments: number;
}

/** Checks the request, naming the wire field of each problem. */
export function validateCompareCounts(query: CompareCountsQuery): void {
  const names = query.counterNames;
  if (!Array.isArray(names) || names.length < 2 || names.length > MAX_ARMS) {
    throw invalidArgument('counter_names', `needs 2 to ${MAX_ARMS} counter names`);
  }
  names.forEach((n, i) => {
    try {
      validateCounterName(n);
    } catch {
      throw invalidArgument(`counter_names[${i}]`, 'is not a valid counter name');
    }
  });
  if (new Set(names).size !== names.length) throw invalidArgument('counter_names', 'lists a counter twice');
  if (!Array.isArray(query.assignmentProbabilities) || query.assignmentProbabilities.length !== names.length) {
    throw invalidArgument('assignment_probabilities', 'needs one probability per counter name');
  }
  const problem = checkSequentialTestOptions({
    assignmentProbabilities: query.assignmentProbabilities,
    concentration: query.concentration ?? DEFAULT_CONCENTRATION,
  });
  if (problem) {
    throw invalidArgument(problem.startsWith('concentration') ? 'concentration' : 'assignment_probabilities', problem);
  }
  const alpha = query.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw invalidArgument('alpha', `${alpha} is not in (0, 1)`);
  if (query.startMicros !== undefined && query.endMicros !== undefined && query.endMicros <= query.startMicros) {
    throw invalidArgument('time_interval', 'end must be after start');
  }
}

/** Replays the arms' logs in time order and runs the sequential test over them. */
export async function compareCounts(timeseries: TimeSeriesService, clock: Clock, config: CounterConfig, query: CompareCountsQuery): Promise<CompareCountsResult> {
  validateCompareCounts(query);
  const start = query.startMicros ?? 0;
  const end = query.endMicros ?? clock.nowMicros() + config.events.primary.futureLimitMicros + 1;
  const steps: Step[] = [];
  for (let arm = 0; arm < query.counterNames.length; arm++) {
    const counter = query.counterNames[arm]!;
    for await (const event of timeseries.scanSeries(config.events, counter, start, end)) {
      const m = decodeCounterEvent(event);
      if (!m) continue;
      if (m.kind === 'clear') {
        throw new DgwError('FAILED_PRECONDITION', `counter_names[${arm}]: "${counter}" was cleared at ${new Date(m.timeMicros / 1000).toISOString()} inside the interval; compare an interval after the clear`);
      }
      if (m.delta < 0n) {
        throw new DgwError('FAILED_PRECONDITION', `counter_names[${arm}]: "${counter}" has a negative delta at ${new Date(m.timeMicros / 1000).toISOString()}; CompareCounts needs counting processes (non-negative deltas)`);
      }
      if (m.delta === 0n) continue;
      if (m.delta > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new DgwError('OUT_OF_RANGE', `counter_names[${arm}]: a delta of ${m.delta} is too large to compare`);
      }
      if (steps.length >= MAX_COMPARE_EVENTS) {
        throw new DgwError('OUT_OF_RANGE', `time_interval: more than ${MAX_COMPARE_EVENTS} events in the interval; compare a narrower one`);
      }
      steps.push({ arm, timeMicros: m.timeMicros, increments: Number(m.delta) });
    }
  }
  // Time order; equal times in arm order, so the replay is deterministic.
  steps.sort((a, b) => a.timeMicros - b.timeMicros || a.arm - b.arm);
  const test = new SequentialTest(
    { assignmentProbabilities: query.assignmentProbabilities, concentration: query.concentration ?? DEFAULT_CONCENTRATION },
    query.alpha ?? 0.05,
  );
  let firstBelow: number | undefined;
  for (const step of steps) {
    if (test.observe(step.arm, step.increments)) firstBelow = step.timeMicros;
  }
  const r = test.result();
  const out: CompareCountsResult = { counts: r.counts.map((n) => BigInt(n)), pValue: r.pValue, logBayesFactor: r.logBayesFactor };
  if (firstBelow !== undefined) out.firstBelowAlphaMicros = firstBelow;
  return out;
}
