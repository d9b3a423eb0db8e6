/**
 * V8's allocation-site pretenuring in `dgw serve` (issue 9), chosen by deployment.
 *
 * V8 has an allocation site (an object or array literal) allocate straight into the old
 * generation once most of its objects outlive a young collection, and keeps it so until a
 * mark-compact finds less than a tenth of the old generation alive, which a server with
 * tens of MB live does not reach. A phase of slow calls (a bulk load through
 * WriteEventRecordsSync on PostgreSQL) tenured sites every later call uses, among them the
 * `_events` literal of Node's own stream constructors (every request's IncomingMessage):
 * from then on each scavenge kept ~3.4 MB instead of ~0.3 MB. The sites are Node's, so the
 * lever is the flag.
 * With shared stores it is turned off (PostgreSQL + Redis: GetCount 29–33 % cheaper in five
 * A/B pairs, writes unchanged); embedded SQLite keeps V8's default (its batched writes cost
 * 7–19 % more without it). Figures: BENCHMARKS.md, the fourteenth and fifteenth passes;
 * docs/operations.md, "V8 allocation-site pretenuring". `DGW_V8_PRETENURING=on|off`
 * forces either.
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

/** The choice for a server on shared stores (`true`: PostgreSQL first) or on embedded SQLite. */
export function choosePretenuring(sharedStores: boolean, override: 'on' | 'off' | undefined): PretenuringChoice {
  if (override !== undefined) return { pretenuring: override, reason: `DGW_V8_PRETENURING=${override}` };
  return sharedStores
    ? { pretenuring: 'off', reason: 'shared stores: calls wait on the network' }
    : { pretenuring: 'on', reason: 'embedded SQLite' };
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
