/**
 * Group commit (DESIGN 3.3): concurrent callers submit work; one flush at a time takes
 * everything pending and commits it together, so N concurrent requests cost one disk sync
 * instead of N. A caller's promise settles when the flush holding its items settles.
 */

/** Options of a {@link ResultGroupCommitter}. */
export interface ResultGroupCommitterOptions<T, R> {
  /** Commits a batch (all-or-nothing) and returns one result per item, in order. */
  flush(items: T[]): Promise<R[]>;
  /** Upper bound of items per flush (bounds one commit's latency). */
  maxBatchItems: number;
  /** Observes each flush (batch size, seconds taken). */
  onFlush?(items: number, seconds: number): void;
}

interface Submission<T, R> {
  items: T[];
  resolve(results: R[]): void;
  reject(err: unknown): void;
}

/**
 * Batches concurrent submissions into shared flushes that return a result per item. If a
 * combined flush fails, each submission of it is retried alone, so one bad request cannot
 * fail its neighbours.
 */
export class ResultGroupCommitter<T, R> {
  private pending: Submission<T, R>[] = [];
  private pendingItems = 0;
  private running = false;
  private scheduled = false;

  constructor(private readonly options: ResultGroupCommitterOptions<T, R>) {}

  /** Number of items waiting for a flush. */
  get depth(): number {
    return this.pendingItems;
  }

  /** Flushes `items` with whatever else is pending; resolves with their results. */
  submit(items: T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
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
      while (this.pending.length > 0) await this.commit(this.takeBatch());
    } finally {
      this.running = false;
    }
  }

  private takeBatch(): Submission<T, R>[] {
    const batch: Submission<T, R>[] = [];
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

  private async commit(batch: Submission<T, R>[]): Promise<void> {
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((s) => s.items);
    const started = process.hrtime.bigint();
    try {
      const results = await this.options.flush(items);
      this.options.onFlush?.(items.length, Number(process.hrtime.bigint() - started) / 1e9);
      let at = 0;
      for (const s of batch) {
        s.resolve(results.slice(at, at + s.items.length));
        at += s.items.length;
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const s of batch) {
        try {
          s.resolve(await this.options.flush(s.items));
        } catch (own) {
          s.reject(own);
        }
      }
    }
  }
}

/** Options of a {@link GroupCommitter}: a flush with no per-item result. */
export interface GroupCommitterOptions<T> extends Omit<ResultGroupCommitterOptions<T, void>, 'flush'> {
  flush(items: T[]): Promise<void>;
}

/** A {@link ResultGroupCommitter} whose flush has no per-item result (appends, marks). */
export class GroupCommitter<T> {
  private readonly inner: ResultGroupCommitter<T, void>;

  constructor(options: GroupCommitterOptions<T>) {
    this.inner = new ResultGroupCommitter<T, void>({
      ...options,
      flush: async (items) => {
        await options.flush(items);
        return [];
      },
    });
  }

  /** Number of items waiting for a flush. */
  get depth(): number {
    return this.inner.depth;
  }

  /** Commits `items` with whatever else is pending; resolves once committed. */
  async submit(items: T[]): Promise<void> {
    await this.inner.submit(items);
  }
}
