/**
 * The main thread's side of the SQLite writer thread (append-writer-thread.ts,
 * docs/storage.md "Writes in a writer thread"): event appends of a file database are
 * committed by a second connection in a worker thread, so the page work and the fsync of
 * one commit overlap with HTTP parsing and validation of the next requests on the main
 * thread. {@link SqliteAppendWriter.append} resolves once the rows are durable; a read on
 * the main connection then sees them (WAL: a read transaction sees every commit that
 * ended before it began).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { AppendRows } from './append-rows.js';
import { fromWire, type AppendReply, type AppendRequest, type WriterThreadData } from './append-wire.js';

/** Whether this module runs from its TypeScript source (tests, `npm run dev`: tsx). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** The thread's module next to this one. */
const THREAD_URL = new URL(`./append-writer-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * Starts the thread. From source, tsx's loader is not inherited by a worker (Node 20), so
 * a small script registers it in the thread before importing the `.ts` module.
 */
function startThread(data: WriterThreadData): Worker {
  if (!FROM_SOURCE) return new Worker(THREAD_URL, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(THREAD_URL.href)}); })`;
  return new Worker(script, { eval: true, workerData: data });
}

interface Pending {
  /** `allNew`: every event row of the append was newly inserted. */
  resolve(allNew: boolean): void;
  reject(err: unknown): void;
}

/** The error of a call the writer cannot take: the SQLite translator maps it to UNAVAILABLE. */
function notOpen(why: string): TypeError {
  return new TypeError(`The database connection is not open (${why})`);
}

/**
 * Posts appends to the writer thread and settles each when its group commit ends. The
 * thread starts on the first append, and again after it died (its pending appends fail
 * UNAVAILABLE: nothing of them is acknowledged). Idle, it does not keep the process alive.
 */
export class SqliteAppendWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private idle: (() => void)[] = [];

  /** @param file the database file, already migrated by the main connection. */
  constructor(private readonly file: string) {}

  /** Whether the thread is running (for tests and metrics). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Commits `rows` in the writer's next transaction; resolves once durable, with whether
   * every event row was newly inserted (none already there). Not started within
   * `timeoutMicros`: rejects DEADLINE_EXCEEDED and never commits.
   */
  append(rows: AppendRows, timeoutMicros?: number): Promise<boolean> {
    if (this.closed) return Promise.reject(notOpen('store closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const request: AppendRequest = {
      type: 'append',
      id,
      rows,
      deadline: timeoutMicros === undefined ? Infinity : performance.timeOrigin + performance.now() + timeoutMicros / 1000,
      timeoutMicros: timeoutMicros ?? Infinity,
    };
    return new Promise<boolean>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage(request);
    });
  }

  /** Lets pending appends finish, then closes the writer's connection and ends the thread. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pending.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' });
    await exited;
  }

  private start(): Worker {
    const data: WriterThreadData = { file: this.file };
    const worker = startThread(data);
    worker.unref();
    worker.on('message', (reply: AppendReply) => this.settle(reply));
    let crash: unknown;
    worker.on('error', (err) => {
      crash = err;
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      const why = notOpen(crash instanceof Error ? `writer thread failed: ${crash.message}` : `writer thread exited with code ${code}`);
      for (const p of this.pending.values()) p.reject(why);
      this.pending.clear();
      this.wake();
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: AppendReply): void {
    const allNew = reply.allNew.length === 0 ? undefined : new Set(reply.allNew);
    for (const id of reply.done) {
      const p = this.pending.get(id);
      this.pending.delete(id);
      p?.resolve(allNew?.has(id) === true);
    }
    for (const [id, error] of reply.failed) {
      const p = this.pending.get(id);
      this.pending.delete(id);
      p?.reject(fromWire(error));
    }
    if (this.pending.size === 0) {
      this.worker?.unref();
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }
}
