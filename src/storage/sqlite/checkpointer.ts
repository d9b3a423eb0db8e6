/**
 * WAL checkpoints off the event loop (issue 9; docs/storage.md "WAL checkpoints off the
 * event loop"). With SQLite's automatic checkpoint, the commit that crosses
 * `wal_autocheckpoint` frames copies the WAL's pages back into the database file and syncs
 * it, on the main thread, inside that commit: every request waiting on the event loop
 * waits for it. Here a worker thread with its own connection (checkpoint-thread.ts) runs a
 * PASSIVE checkpoint every {@link DEFAULT_CHECKPOINT_INTERVAL_MS}, and the main
 * connection's automatic checkpoint is off while that thread runs. If the thread dies, the
 * automatic checkpoint is switched back on, so the WAL never grows without bound.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.js';

/** Whether this module runs from its TypeScript source (tests, `npm run dev`: tsx). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(`./checkpoint-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/** How often the thread checkpoints. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 250;

/** What the thread is started with. */
export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
}

/** The thread's report of one checkpoint. */
export interface CheckpointReport {
  type: 'checkpoint';
  /** Frames in the WAL when it ran. */
  frames: number;
  /** Frames copied into the database file (all of `frames` when no reader held older ones). */
  copied: number;
  seconds: number;
}

type ThreadMessage = CheckpointReport | { type: 'error'; message: string };

function startThread(data: CheckpointThreadData): Worker {
  if (!FROM_SOURCE) return new Worker(THREAD_URL, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(THREAD_URL.href)}); })`;
  return new Worker(script, { eval: true, workerData: data });
}

/** Runs the checkpoint thread of one database file for as long as the store is open. */
export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private closed = false;
  /** Checkpoints run and frames copied, for tests and metrics. */
  checkpoints = 0;
  framesCopied = 0;
  lastError: string | undefined;

  private readonly file: string;
  private readonly intervalMs: number;

  /**
   * Starts the thread on `sql`'s file (`options.file`: another file, for tests of a thread
   * that cannot open it) and turns `sql`'s automatic checkpoint off while it runs.
   */
  constructor(
    private readonly sql: SqliteDatabase,
    options: { intervalMs?: number; file?: string } = {},
  ) {
    this.file = options.file ?? sql.file;
    this.intervalMs = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.start();
  }

  /** Whether the thread runs (the main connection's automatic checkpoint is then off). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  private start(): void {
    const worker = startThread({ file: this.file, intervalMs: this.intervalMs });
    worker.unref();
    worker.on('message', (msg: ThreadMessage) => {
      if (msg.type === 'checkpoint') {
        this.checkpoints++;
        this.framesCopied += msg.copied;
      } else {
        // Frames that cannot be checkpointed here must not pile up: the commits checkpoint
        // again too (the thread keeps trying; two checkpointers only cost a little work).
        this.lastError = msg.message;
        if (!this.closed) this.sql.setAutoCheckpoint(true);
      }
    });
    worker.on('error', (err) => {
      this.lastError = err instanceof Error ? err.message : String(err);
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // Nobody checkpoints any more: the commits do it again, as without this thread.
      if (!this.closed) this.sql.setAutoCheckpoint(true);
    });
    this.worker = worker;
    this.sql.setAutoCheckpoint(false);
  }

  /** Ends the thread; the main connection checkpoints again (and at its own close). */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    // Unreferenced, the thread would not keep the process alive until it has exited.
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' });
    await exited;
    this.sql.setAutoCheckpoint(true);
  }
}
