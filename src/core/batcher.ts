/**
 * Group commit (DESIGN 3.3): concurrent callers submit work; one flush at a time takes
 * everything pending and commits it together, so N concurrent requests cost one disk sync
 * instead of N. A caller's promise settles when the flush holding its items settles.
 */

/** Options of a {@link GroupCommitter}. */
export interface GroupCommitOptions<T> {
  /** Commits a batch; must be all-or-nothing. */
  flush(items: T[]): Promise<void>;
  /** Upper bound of items per flush (bounds one commit's latency). */
  maxBatchItems: number;
  /** Observes each flush (batch size, seconds taken). */
  onFlush?(items: number, seconds: number): void;
}

interface Submission<T> {
  items: T[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Batches concurrent submissions into shared commits. If a combined flush fails, each
 * submission of it is retried alone, so one bad request cannot fail its neighbours.
 */
export class GroupCommitter<T> {
  private pending: Submission<T>[] = [];
  private pendingItems = 0;
  private running = false;
  private scheduled = false;

  constructor(private readonly options: GroupCommitOptions<T>) {}

  /** Number of items waiting for a flush. */
  get depth(): number {
    return this.pendingItems;
  }

  /** Commits `items` with whatever else is pending; resolves once committed. */
  submit(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.pendingItems += items.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request parsed in this event-loop turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.takeBatch();
        await this.commit(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private takeBatch(): Submission<T>[] {
    const batch: Submission<T>[] = [];
    let count = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (batch.length > 0 && count + next.items.length > this.options.maxBatchItems) break;
      this.pending.shift();
      batch.push(next);
      count += next.items.length;
    }
    this.pendingItems -= count;
    return batch;
  }

  private async commit(batch: Submission<T>[]): Promise<void> {
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((s) => s.items);
    const started = process.hrtime.bigint();
    try {
      await this.options.flush(items);
      this.options.onFlush?.(items.length, Number(process.hrtime.bigint() - started) / 1e9);
      for (const s of batch) s.resolve();
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const s of batch) {
        try {
          await this.options.flush(s.items);
          s.resolve();
        } catch (own) {
          s.reject(own);
        }
      }
    }
  }
}
