/**
 * The V8 settings `dgw serve` runs with (issue 9), applied once at the start of the server
 * process, before it takes a request.
 *
 * Allocation-site pretenuring is off. V8 watches how many of the objects made at each
 * allocation site survive a young-generation collection; past a threshold it makes that
 * site allocate straight into the old generation from then on, and does not go back. A
 * server's request objects (node:http's request, response and header objects, dgw's
 * per-call objects) come from the same few sites for every route; while slow calls are in
 * flight (a bulk load through WriteEventRecordsSync on PostgreSQL: 100 batches of 1,000
 * events were enough) they survive, those sites are tenured, and every later call's
 * objects are born old. They die young all the same, but from the old generation: the
 * young objects they point to survive each scavenge through the remembered set, are
 * promoted, and major collections follow every second. Measured (BENCHMARKS.md,
 * fourteenth pass): after such a load, GetCount on PostgreSQL + Redis cost 57–77 µs of
 * server CPU instead of 35–44, each scavenge kept 3.4 MB instead of 0.3 MB, and it stayed
 * so for the life of the process. With pretenuring off a short-lived object is always
 * born young; a long-lived one is copied once more before it is promoted.
 *
 * `DGW_V8_PRETENURING=1` keeps V8's default (for comparisons).
 */
import { setFlagsFromString } from 'node:v8';

/** The flags {@link applyServingV8Flags} sets. */
export const SERVING_V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

/**
 * Sets {@link SERVING_V8_FLAGS} in this process (they are process-wide) unless `env`
 * has `DGW_V8_PRETENURING=1`; returns the flags set. `set` is injectable for tests.
 */
export function applyServingV8Flags(env: NodeJS.ProcessEnv = process.env, set: (flag: string) => void = setFlagsFromString): readonly string[] {
  if (env.DGW_V8_PRETENURING === '1') return [];
  for (const flag of SERVING_V8_FLAGS) set(flag);
  return SERVING_V8_FLAGS;
}
