/**
 * Group commit (DESIGN 3.3): concurrent callers submit work; a flush takes everything
 * pending and commits it together, so N concurrent requests cost one disk sync instead of
 * N. A caller's promise settles when the flush holding its items settles.
 *
 * By default one flush runs at a time (a single-writer store such as SQLite: a second flush
 * could only wait for the first). `maxConcurrentFlushes` lets more run at once, for a store
 * that commits concurrent transactions in parallel and merges their log syncs itself
 * (PostgreSQL): then a batch does not wait for the previous commit's round trips.
 */

/** Options of a {@link ResultGroupCommitter}. */
export interface ResultGroupCommitterOptions<T, R> {
  /** Commits a batch (all-or-nothing) and returns one result per item, in order. */
  flush(items: T[]): Promise<R[]>;
  /** Upper bound of items per flush (bounds one commit's latency). */
  maxBatchItems: number;
  /** Observes each flush (batch size, seconds taken). */
  onFlush?(items: number, seconds: number): void;
  /**
   * Flushes that may run at once (default 1). Flushes that run together have no order
   * between them: use more than 1 only where items of different flushes do not depend on
   * each other's commit order.
   */
  maxConcurrentFlushes?: number;
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
  private running = 0;
  private scheduled = false;
  private readonly maxRunning: number;

  constructor(private readonly options: ResultGroupCommitterOptions<T, R>) {
    const max = options.maxConcurrentFlushes ?? 1;
    // NaN would let no flush start: every caller would wait forever.
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConcurrentFlushes: ${max} must be a positive integer`);
    this.maxRunning = max;
  }

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
    if (this.running >= this.maxRunning || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request parsed in this event-loop turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Starts flushes of what is pending while fewer than the limit run; each, when done, starts the next. */
  private drain(): void {
    while (this.pending.length > 0 && this.running < this.maxRunning) {
      this.running++;
      void this.commit(this.takeBatch()).finally(() => {
        this.running--;
        this.drain();
      });
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
