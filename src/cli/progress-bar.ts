/**
 * A progress bar for long CLI work (bulk import): drawn in place on a terminal at most
 * ten times a second, silent otherwise (logs and pipes get the final summary only).
 */

/** Progress of work measured in bytes of input, with a count of items done. */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly totalBytes: number,
    private readonly unit: string,
  ) {}

  /** Whether a bar is drawn at all. */
  get visible(): boolean {
    return this.out.isTTY === true && this.totalBytes > 0;
  }

  /** Redraws with `bytes` of the input consumed and `items` done (throttled unless `force`). */
  update(bytes: number, items: number, force = false): void {
    if (!this.visible) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = Math.min(1, bytes / this.totalBytes);
    const rate = items / Math.max(0.001, (now - this.started) / 1000);
    const tail = ` ${(fraction * 100).toFixed(0).padStart(3)}% ${items.toLocaleString('en-US')} ${this.unit} ${Math.round(rate).toLocaleString('en-US')}/s`;
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - tail.length - 3));
    const filled = Math.round(fraction * width);
    this.out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${tail}`);
  }

  /** Clears the bar (a summary line follows). */
  done(): void {
    if (this.visible) this.out.write('\r\x1b[2K');
  }
}
