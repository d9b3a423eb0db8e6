/**
 * Injected time. Everything in core that depends on "now" takes a Clock, so windows,
 * retention and rollups are tested by advancing a ManualClock, never by sleeping.
 * Times are microseconds since the Unix epoch, as a JS number (exact until year 2255).
 */
export interface Clock {
  /** Current time in microseconds since the epoch. */
  nowMicros(): number;
}

/** The wall clock, with microsecond resolution derived from a monotonic source. */
export class SystemClock implements Clock {
  private readonly originMicros = Date.now() * 1000;
  private readonly originHr = process.hrtime.bigint();

  nowMicros(): number {
    const elapsedNs = process.hrtime.bigint() - this.originHr;
    return this.originMicros + Number(elapsedNs / 1000n);
  }
}

/** A clock that moves only when told to; for deterministic tests. */
export class ManualClock implements Clock {
  private now: number;

  constructor(startMicros: number = Date.UTC(2024, 9, 3, 21, 0, 0) * 1000) {
    this.now = startMicros;
  }

  nowMicros(): number {
    return this.now;
  }

  /** Moves time forward by `micros` (never backward). */
  advance(micros: number): void {
    if (micros < 0) throw new Error('ManualClock cannot go backward');
    this.now += micros;
  }

  /** Moves time forward by `ms` milliseconds. */
  advanceMs(ms: number): void {
    this.advance(ms * 1000);
  }

  /** Sets the time; it must not move backward. */
  set(micros: number): void {
    if (micros < this.now) throw new Error('ManualClock cannot go backward');
    this.now = micros;
  }
}

export const MICROS_PER_MS = 1000;
export const MICROS_PER_SECOND = 1_000_000;
