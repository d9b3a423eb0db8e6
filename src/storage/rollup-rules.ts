/**
 * Rules every RollupStore adapter shares (DESIGN 4.3): the initial row a first write mark
 * creates, and the int64 range counts must fit in.
 */
import { DgwError } from '../kernel/errors.js';

/** lastRollupTs of a row created by recordWrites before any rollup: nothing is rolled up yet. */
export const INITIAL_ROLLUP_TS_MICROS = 0;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Throws OUT_OF_RANGE unless `count` fits a signed 64-bit integer (the wire's int64). */
export function checkInt64(count: bigint, where: string): void {
  if (count < INT64_MIN || count > INT64_MAX) {
    throw new DgwError('OUT_OF_RANGE', `${where}: count ${count} does not fit in int64`);
  }
}
