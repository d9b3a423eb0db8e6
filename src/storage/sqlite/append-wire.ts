/**
 * The messages between the event store and its writer thread (append-writer.ts,
 * append-writer-thread.ts), and how an error crosses between them: structured clone keeps
 * an Error's message but drops its `code`, so errors travel as plain data and are rebuilt
 * on the main thread with the `code` the SQLite translator (errors.ts) reads, or as the
 * DgwError they were.
 */
import { DgwError, type ErrorCode, type ErrorDetail } from '../../kernel/errors.js';
import type { AppendRows } from './append-rows.js';

/** What the writer thread is started with. */
export interface WriterThreadData {
  /** The database file, already migrated by the main connection. */
  file: string;
}

/** Main → writer: commit these rows, not after `deadline` (ms on the shared `performance` timeline). */
export interface AppendRequest {
  type: 'append';
  id: number;
  rows: AppendRows;
  /** `performance.timeOrigin + performance.now()` past which the commit must not start; Infinity: no bound. */
  deadline: number;
  /** The request's time bound in µs, for the error message. */
  timeoutMicros: number;
}

/** Main → writer: nothing is pending any more; close the connection and end the thread. */
export interface CloseRequest {
  type: 'close';
}

/** What the main thread posts to the writer. */
export type WriterRequest = AppendRequest | CloseRequest;

/** Writer → main: the outcome of one group commit's requests. */
export interface AppendReply {
  /** Ids committed (durable). */
  done: number[];
  /** Of `done`, the ids whose every event row was newly inserted (append-rows.ts writeAppendRows). */
  allNew: number[];
  /** Ids that failed, with why; nothing of them is stored. */
  failed: [id: number, error: WireError][];
}

/** An error as plain data. */
export type WireError =
  | { kind: 'dgw'; code: ErrorCode; message: string; details: ErrorDetail[] }
  | { kind: 'native'; name: string; message: string; code?: string };

/** `err` as plain data (a DgwError keeps its code and details, a native error its `code`). */
export function toWire(err: unknown): WireError {
  if (err instanceof DgwError) return { kind: 'dgw', code: err.code, message: err.message, details: err.details };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { kind: 'native', name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The error {@link toWire} carried: a DgwError, or an Error (TypeError) with the native `code`. */
export function fromWire(w: WireError): Error {
  if (w.kind === 'dgw') return new DgwError(w.code, w.message, { details: w.details });
  const err = w.name === 'TypeError' ? new TypeError(w.message) : new Error(w.message);
  err.name = w.name;
  if (w.code !== undefined) Object.assign(err, { code: w.code });
  return err;
}
