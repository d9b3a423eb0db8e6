/**
 * The SQLite writer thread (docs/storage.md, "Writes in a writer thread"): its own
 * connection on the database file, fed append requests by the event store of the main
 * thread. Group commit: requests that arrive while a commit runs (its page work and
 * fsync) wait in the queue and all go into the next transaction, one fsync for all. When
 * that transaction fails, each of its requests is retried alone, so one failing request
 * (a slice table dropped meanwhile) cannot fail the others. A request is acknowledged
 * only after COMMIT returned: with synchronous=FULL it is on disk.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { DgwError } from '../../kernel/errors.js';
import { appendTimeoutError } from '../slice-rules.js';
import { COLUMNS, writeAppendRows } from './append-rows.js';
import { toWire, type AppendReply, type AppendRequest, type WireError, type WriterRequest, type WriterThreadData } from './append-wire.js';
import { SqliteDatabase } from './database.js';
import { SqliteIndexStore } from './index-store.js';
import { isMissingSliceTable } from './packed-reads.js';

/** Rows per transaction before the rest waits for the next one (bounds one commit's latency). */
const MAX_GROUP_ROWS = 20_000;

/** The writer's connection, or why it could not be opened (then every request fails with it). */
type Connection = { sql: SqliteDatabase; index: SqliteIndexStore } | { error: unknown };

function open(file: string): Connection {
  try {
    // The main connection migrated the file; the writer only writes events, index and outbox
    // (so it has no use for the page-JSON extension of reads).
    const sql = new SqliteDatabase(file, { migrate: false, pageJson: false });
    return { sql, index: new SqliteIndexStore(sql) };
  } catch (error) {
    return { error };
  }
}

/** A request's failure as it is reported: a slice table dropped after the request was checked is the precondition failure a write to a dropped slice is. */
function failure(err: unknown): WireError {
  if (isMissingSliceTable(err)) {
    return toWire(new DgwError('FAILED_PRECONDITION', `appendEvents: a slice table was dropped meanwhile (${(err as Error).message})`));
  }
  return toWire(err);
}

function rowsOf(r: AppendRequest): number {
  let n = r.rows.docs.length + r.rows.outbox.length;
  for (const [, params] of r.rows.tables) n += params.length / COLUMNS;
  return n;
}

/**
 * One transaction for `requests`. No savepoint per request: inside a transaction SQLite
 * copies each page a savepoint touches again into a sub-journal (a temporary file past
 * 64 KiB); measured at +2 µs of system time per event. Returns, once committed, the ids
 * of the requests whose every event row was newly inserted.
 */
function write({ sql, index }: { sql: SqliteDatabase; index: SqliteIndexStore }, requests: AppendRequest[]): number[] {
  return sql.transaction(() => {
    const allNew: number[] = [];
    for (const r of requests) if (writeAppendRows(sql, index, r.rows)) allNew.push(r.id);
    return allNew;
  });
}

/** The writer: a queue of requests and the group commit that empties it. */
class Writer {
  private readonly queue: AppendRequest[] = [];
  private scheduled = false;
  private closing = false;

  constructor(
    private readonly port: MessagePort,
    private readonly conn: Connection,
  ) {
    port.on('message', (m: WriterRequest) => this.accept(m));
  }

  private accept(m: WriterRequest): void {
    if (m.type === 'close') this.closing = true;
    else this.queue.push(m);
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: every request delivered in this turn joins the transaction.
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    for (;;) {
      // Requests posted while the last commit ran are waiting on the port: take them now.
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const request = m.message as WriterRequest;
        if (request.type === 'close') this.closing = true;
        else this.queue.push(request);
      }
      if (this.queue.length === 0) break;
      this.port.postMessage(this.commit(this.takeGroup()));
    }
    if (this.closing) {
      if ('sql' in this.conn) this.conn.sql.close();
      this.port.close();
    }
  }

  private takeGroup(): AppendRequest[] {
    let rows = 0;
    let n = 0;
    while (n < this.queue.length) {
      const size = rowsOf(this.queue[n]!);
      if (n > 0 && rows + size > MAX_GROUP_ROWS) break;
      rows += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Commits a group: the requests whose time bound still holds, in one transaction. */
  private commit(group: AppendRequest[]): AppendReply {
    const reply: AppendReply = { done: [], allNew: [], failed: [] };
    if ('error' in this.conn) {
      const e = toWire(this.conn.error);
      for (const r of group) reply.failed.push([r.id, e]);
      return reply;
    }
    const conn = this.conn;
    // The time bound holds until the commit starts; once started it runs to its end, as
    // the inline path does (contracts.ts AppendOptions.timeoutMicros).
    const now = performance.timeOrigin + performance.now();
    const live: AppendRequest[] = [];
    for (const r of group) {
      if (r.deadline <= now) reply.failed.push([r.id, toWire(appendTimeoutError(r.timeoutMicros))]);
      else live.push(r);
    }
    if (live.length === 0) return reply;
    try {
      reply.allNew = write(conn, live);
      reply.done = live.map((r) => r.id);
    } catch (err) {
      if (live.length === 1) {
        reply.failed.push([live[0]!.id, failure(err)]);
      } else {
        // Rare (a slice dropped meanwhile, a full disk): each request again alone, so one
        // bad request cannot fail the others.
        for (const r of live) {
          try {
            reply.allNew.push(...write(conn, [r]));
            reply.done.push(r.id);
          } catch (own) {
            reply.failed.push([r.id, failure(own)]);
          }
        }
      }
    }
    return reply;
  }
}

if (parentPort) new Writer(parentPort, open((workerData as WriterThreadData).file));
