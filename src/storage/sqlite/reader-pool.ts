/**
 * The main thread's side of the SQLite reader threads (reader-thread.ts, docs/storage.md
 * "Reads in reader threads"): the packed and JSON time-bucket scans and packed searches of a file
 * database run on N threads, each with its own read-only connection on the same WAL
 * file, so their SQLite work leaves the event loop and can use another core. Slice
 * metadata and table names stay resolved on the main thread; a thread gets the table
 * name (or the compiled statement) and the bound values. A read posted after a write was
 * acknowledged sees it: the write committed before its acknowledgement, and a WAL reader
 * sees every transaction committed before its statement began.
 */
import { Worker } from 'node:worker_threads';
import type { TimeBucketScan } from '../contracts.js';
import type { PackedEvents } from '../../domain/packed-events.js';
import type { JoinedEventJson } from '../../domain/event-json.js';
import { fromWire } from './append-wire.js';
import type { CompiledSql } from './search-sql.js';
import type { SliceTable } from './schema.js';
import type { ReaderReply, ReaderRequest, ReaderThreadData } from './reader-wire.js';

/** Whether this module runs from its TypeScript source (tests, `npm run dev`: tsx). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** The thread's module next to this one. */
const THREAD_URL = new URL(`./reader-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/** Starts a thread; from source with tsx registered first (as append-writer.ts does). */
function startThread(data: ReaderThreadData): Worker {
  if (!FROM_SOURCE) return new Worker(THREAD_URL, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(THREAD_URL.href)}); })`;
  return new Worker(script, { eval: true, workerData: data });
}

/** The error of a call no reader can take: the SQLite translator maps it to UNAVAILABLE. */
function notOpen(why: string): TypeError {
  return new TypeError(`The database connection is not open (${why})`);
}

interface Pending {
  resolve(answer: PackedEvents | JoinedEventJson | undefined): void;
  reject(err: unknown): void;
}

/** One reader thread and the requests it has not answered yet. */
interface Slot {
  worker: Worker | undefined;
  readonly pending: Map<number, Pending>;
}

/**
 * Posts packed reads to the least busy of its threads. A thread starts on its first
 * request, and again after it died (its pending reads fail UNAVAILABLE). Idle, the
 * threads do not keep the process alive.
 */
export class SqliteReaderPool {
  private readonly slots: Slot[];
  private nextId = 1;
  private next = 0;
  private closed = false;
  private idle: (() => void)[] = [];

  /**
   * @param file the database file, already migrated by the main connection.
   * @param threads how many reader threads (at least 1).
   */
  constructor(
    private readonly file: string,
    threads: number,
  ) {
    this.slots = Array.from({ length: Math.max(1, Math.floor(threads)) }, () => ({ worker: undefined, pending: new Map() }));
  }

  /** Threads running (for tests and metrics). */
  get running(): number {
    return this.slots.filter((s) => s.worker !== undefined).length;
  }

  /**
   * The packed scan of live slice table `table` (packed-reads.ts `packedTimeBucketScan`);
   * undefined when the table was dropped meanwhile.
   */
  scan(table: SliceTable, scan: TimeBucketScan): Promise<PackedEvents | undefined> {
    return this.post((id) => ({ type: 'scan', id, table, scan })) as Promise<PackedEvents | undefined>;
  }

  /**
   * The JSON scan of live slice table `table` (packed-reads.ts `jsonTimeBucketScan`);
   * undefined when the table was dropped meanwhile.
   */
  scanJson(table: SliceTable, scan: TimeBucketScan): Promise<JoinedEventJson | undefined> {
    return this.post((id) => ({ type: 'scanJson', id, table, scan })) as Promise<JoinedEventJson | undefined>;
  }

  /** The rows of a compiled packed search (packed-reads.ts `packedSearch`). */
  search(statement: CompiledSql): Promise<JoinedEventJson> {
    return this.post((id) => ({ type: 'search', id, statement })) as Promise<JoinedEventJson>;
  }

  /** Lets pending reads finish, then closes the readers' connections and ends the threads. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.busy()) await new Promise<void>((resolve) => this.idle.push(resolve));
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        if (!worker) return;
        worker.ref();
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'close' } satisfies ReaderRequest);
        await exited;
      }),
    );
  }

  private post(request: (id: number) => ReaderRequest): Promise<PackedEvents | JoinedEventJson | undefined> {
    if (this.closed) return Promise.reject(notOpen('store closed'));
    const slot = this.leastBusy();
    const worker = slot.worker ?? this.start(slot);
    const id = this.nextId++;
    const message = request(id);
    return new Promise((resolve, reject) => {
      if (slot.pending.size === 0) worker.ref();
      slot.pending.set(id, { resolve, reject });
      worker.postMessage(message);
    });
  }

  /** The slot with the fewest pending requests; ties go round-robin. */
  private leastBusy(): Slot {
    const n = this.slots.length;
    const first = this.next;
    this.next = (first + 1) % n;
    let best = this.slots[first]!;
    for (let k = 1; k < n && best.pending.size > 0; k++) {
      const slot = this.slots[(first + k) % n]!;
      if (slot.pending.size < best.pending.size) best = slot;
    }
    return best;
  }

  private start(slot: Slot): Worker {
    const worker = startThread({ file: this.file });
    worker.unref();
    worker.on('message', (reply: ReaderReply) => this.settle(slot, reply));
    let crash: unknown;
    worker.on('error', (err) => {
      crash = err;
    });
    worker.on('exit', (code) => {
      if (slot.worker === worker) slot.worker = undefined;
      const why = notOpen(crash instanceof Error ? `reader thread failed: ${crash.message}` : `reader thread exited with code ${code}`);
      for (const p of slot.pending.values()) p.reject(why);
      slot.pending.clear();
      this.wakeIfIdle();
    });
    slot.worker = worker;
    return worker;
  }

  private settle(slot: Slot, reply: ReaderReply): void {
    const p = slot.pending.get(reply.id);
    slot.pending.delete(reply.id);
    if (slot.pending.size === 0) slot.worker?.unref();
    if (p) {
      if ('ok' in reply) p.resolve(reply.ok);
      else if ('gone' in reply) p.resolve(undefined);
      else p.reject(fromWire(reply.error));
    }
    this.wakeIfIdle();
  }

  private busy(): boolean {
    return this.slots.some((s) => s.pending.size > 0);
  }

  private wakeIfIdle(): void {
    if (this.idle.length === 0 || this.busy()) return;
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }
}
