/**
 * V8's allocation-site pretenuring in `dgw serve` (issue 9), chosen by deployment.
 *
 * V8 watches how many of the objects made at each allocation site (an object or array
 * literal in some function) outlive a young-generation collection; past a threshold it has
 * that site allocate straight into the old generation, and it does not go back while the
 * old generation stays mostly live. A phase of slow calls tenures sites that every later
 * call uses too. Seen on PostgreSQL + Redis after a bulk load through
 * WriteEventRecordsSync (1,000-event batches, ~100 ms each in PostgreSQL): among the
 * tenured sites were Node's own stream constructors (the `_events` literal of every
 * Readable and Duplex, so of every request's IncomingMessage), so every later request's
 * objects were born old, the young objects they point to survived each scavenge (3.4 MB
 * kept instead of 0.3 MB) and a major collection ran every second or two. Those sites are
 * Node's, not dgw's, so the only lever is the V8 flag (BENCHMARKS.md, the fifteenth pass).
 *
 * Measured after a 100,000-event preload:
 * - PostgreSQL + Redis, five A/B pairs: pretenuring off cut GetCount from 58–82 to 40–55 µs
 *   of server CPU per call (all five pairs) and AddCount from 127–151 to 92–154 µs (four of
 *   five); batches of 100 and reads did not move beyond the VM's swings.
 * - Embedded SQLite (the fourteenth pass): off cost WriteEventRecordsSync batches of 100
 *   7–19 % more CPU, and its calls are quick enough that the effect did not appear.
 *
 * So pretenuring is turned off when the server's default event store is shared (the
 * server deployments, whose default store is PostgreSQL: calls wait on the network) and
 * left on for embedded SQLite.
 * `DGW_V8_PRETENURING=on` or `off` overrides the choice.
 */
import { setFlagsFromString } from 'node:v8';

/** The flag that turns pretenuring off. */
export const NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring';

/** Whether V8's allocation-site pretenuring stays on, and why. */
export interface PretenuringChoice {
  pretenuring: 'on' | 'off';
  reason: string;
}

/**
 * `DGW_V8_PRETENURING`: `on` or `off` force the choice; unset or empty leave it to the
 * store. Throws on any other value, naming the variable (checked before the server starts).
 */
export function pretenuringOverride(env: NodeJS.ProcessEnv = process.env): 'on' | 'off' | undefined {
  const forced = env.DGW_V8_PRETENURING;
  if (forced === 'on' || forced === 'off') return forced;
  if (forced === undefined || forced === '') return undefined;
  throw new Error(`DGW_V8_PRETENURING must be "on" or "off" (or unset, to choose by store): got ${JSON.stringify(forced)}`);
}

/** The choice for a server whose default event store is shared (`true`) or embedded. */
export function choosePretenuring(defaultStoreShared: boolean, override: 'on' | 'off' | undefined): PretenuringChoice {
  if (override !== undefined) return { pretenuring: override, reason: `DGW_V8_PRETENURING=${override}` };
  return defaultStoreShared
    ? { pretenuring: 'off', reason: 'the default event store is shared: calls wait on the network' }
    : { pretenuring: 'on', reason: 'the default event store is embedded' };
}

/**
 * Applies a choice to this process (V8 flags are process-wide; each `--workers` child
 * applies its own). Returns the flags set. `set` is injectable for tests.
 */
export function applyPretenuring(choice: PretenuringChoice, set: (flag: string) => void = setFlagsFromString): readonly string[] {
  if (choice.pretenuring === 'on') return [];
  set(NO_PRETENURING_FLAG);
  return [NO_PRETENURING_FLAG];
}
