/**
 * An injected overload signal for shedding tests (DESIGN 8): the event-loop delay is
 * whatever the test sets, so the overload fraction is deterministic.
 */
import type { OverloadSignals } from '../../src/server/shedding/shedder.js';

/** Overload signals turned by hand: set `delay` (ms of event-loop delay). */
export class Dial implements OverloadSignals {
  delay = 0;
  eventLoopDelayMs(): number {
    return this.delay;
  }
  bufferBytes(): number {
    return 0;
  }
}
