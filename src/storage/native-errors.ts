/**
 * How a store's native errors become DgwErrors: the mechanism, not the tables. Each adapter
 * keeps its own table of native codes in `<adapter>/errors.ts` (SQLite `SQLITE_*` codes,
 * PostgreSQL SQLSTATEs, the Cassandra driver's errors, Redis's messages) and builds its one
 * translator with {@link errorTranslator}; that translator is handed to the store wrapper
 * (store-wrapper.ts), so a call's failure is translated exactly once. Node's socket codes,
 * shared by every networked adapter, are {@link socketErrors}.
 */
import { DgwError, isDgwError, type ErrorCode } from '../kernel/errors.js';

/** Turns anything an adapter threw into a DgwError; `where` names the store and call. */
export type ErrorTranslator = (err: unknown, where: string) => DgwError;

/** What a native error means: its DgwError code and short words a client may read. */
export interface NativeErrorMeaning {
  code: ErrorCode;
  /** Built from the native code alone: driver messages may quote SQL, values or paths. */
  reason: string;
}

/** One adapter's table of native errors: the meaning of an error it knows, else undefined. */
export type NativeErrorTable = (err: unknown) => NativeErrorMeaning | undefined;

/** The `code` property of a native error when it is a string (SQLSTATE, `SQLITE_*`, `ECONNREFUSED`). */
export function nativeCodeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

const SOCKET_ERRORS: Record<string, NativeErrorMeaning> = {
  ECONNREFUSED: { code: 'UNAVAILABLE', reason: 'connection refused' },
  ECONNRESET: { code: 'UNAVAILABLE', reason: 'connection reset' },
  EPIPE: { code: 'UNAVAILABLE', reason: 'connection closed' },
  ENOTFOUND: { code: 'UNAVAILABLE', reason: 'host not found' },
  EHOSTUNREACH: { code: 'UNAVAILABLE', reason: 'host unreachable' },
  ENETUNREACH: { code: 'UNAVAILABLE', reason: 'network unreachable' },
  EAI_AGAIN: { code: 'UNAVAILABLE', reason: 'name lookup failed' },
  NR_CLOSED: { code: 'UNAVAILABLE', reason: 'connection closed' },
  ETIMEDOUT: { code: 'DEADLINE_EXCEEDED', reason: 'connection timed out' },
};

/** Node socket errors (refused, reset, unreachable, timed out), for every networked adapter. */
export const socketErrors: NativeErrorTable = (err) => {
  const code = nativeCodeOf(err);
  return code === undefined ? undefined : SOCKET_ERRORS[code];
};

/**
 * An adapter's translator over its tables (the first that knows an error wins).
 * DgwErrors pass through unchanged. An error no table knows is INTERNAL: its message keeps
 * the driver's words, since INTERNAL messages are never sent (the HTTP and gRPC layers
 * answer a bare "internal error"); every other code reaches the client and says only what
 * the native code means. The message starts with `where` (`sqlite.events.appendEvents`).
 */
export function errorTranslator(...tables: NativeErrorTable[]): ErrorTranslator {
  return (err, where) => {
    if (isDgwError(err)) return err;
    let meaning: NativeErrorMeaning | undefined;
    for (const table of tables) if ((meaning = table(err)) !== undefined) break;
    const code = meaning?.code ?? 'INTERNAL';
    const message = meaning && code !== 'INTERNAL' ? meaning.reason : err instanceof Error ? err.message : String(err);
    const nativeCode = nativeCodeOf(err);
    return new DgwError(code, `${where}: ${message}`, {
      details: nativeCode !== undefined ? [{ reason: nativeCode }] : [],
      cause: err,
    });
  };
}

/**
 * The translator of stores that call no driver (memory, in-process caches): DgwErrors
 * unchanged, anything else INTERNAL.
 */
export const toDgwError: ErrorTranslator = errorTranslator();
