/**
 * Event-loop delay as an overload signal: a timer that should fire every `intervalMs`
 * measures how late it runs. The reading is the smallest lateness of the last three
 * ticks: a saturated loop makes every tick late, while one stall (a GC pause, a slow
 * synchronous SQLite statement, start-up) makes only one tick late and must not shed.
 */

/** Samples event-loop delay in milliseconds. */
export class LoopDelaySampler {
  private readonly recent = [0, 0, 0];
  private next = 0;
  private expected: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly intervalMs = 20) {
    this.expected = performance.now() + intervalMs;
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    this.recent[this.next] = Math.max(0, now - this.expected);
    this.next = (this.next + 1) % this.recent.length;
    this.expected = now + this.intervalMs;
  }

  /** Current delay estimate in milliseconds. */
  delayMs(): number {
    return Math.min(this.recent[0]!, this.recent[1]!, this.recent[2]!);
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }
}
