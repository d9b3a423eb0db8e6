/**
 * Cassandra error translation, the one translator of the Cassandra adapter (handed to the
 * store wrapper): the driver's errors by name and CQL protocol code (no quorum, overloaded,
 * write and read timeouts → UNAVAILABLE; refused credentials → UNAUTHENTICATED; invalid
 * CQL → INTERNAL), then Node socket errors.
 *
 * A replica set without quorum (Unavailable), replicas or a coordinator not answering in
 * time (read/write timeouts, the client's own timeout), no reachable node, an overloaded or
 * bootstrapping node: UNAVAILABLE, retryable, since dgw's Cassandra writes are idempotent.
 * Auth failures keep their meaning; invalid CQL is a bug.
 */
import { errorTranslator, socketErrors, type ErrorTranslator, type NativeErrorMeaning, type NativeErrorTable } from '../native-errors.js';

/** `ResponseError`s by CQL protocol code. */
const CQL_ERRORS: Record<number, NativeErrorMeaning> = {
  0x0100: { code: 'UNAUTHENTICATED', reason: 'Cassandra refused the credentials' },
  0x2100: { code: 'PERMISSION_DENIED', reason: 'Cassandra refused the operation (unauthorized)' },
  0x1000: { code: 'UNAVAILABLE', reason: 'Cassandra: not enough live replicas for the consistency level' },
  0x1001: { code: 'UNAVAILABLE', reason: 'Cassandra: coordinator overloaded' },
  0x1002: { code: 'UNAVAILABLE', reason: 'Cassandra: node is bootstrapping' },
  0x1100: { code: 'UNAVAILABLE', reason: 'Cassandra: replicas did not acknowledge the write in time' },
  0x1200: { code: 'UNAVAILABLE', reason: 'Cassandra: replicas did not answer the read in time' },
  0x1300: { code: 'UNAVAILABLE', reason: 'Cassandra: read failed on replicas' },
  0x1500: { code: 'UNAVAILABLE', reason: 'Cassandra: write failed on replicas' },
  0x1700: { code: 'UNAVAILABLE', reason: 'Cassandra: lightweight transaction outcome unknown' },
};

/** The driver's own errors, by name. */
const CLIENT_ERRORS: Record<string, NativeErrorMeaning> = {
  NoHostAvailableError: { code: 'UNAVAILABLE', reason: 'Cassandra: no node could serve the request' },
  OperationTimedOutError: { code: 'UNAVAILABLE', reason: 'Cassandra: the node did not answer in time' },
  BusyConnectionError: { code: 'UNAVAILABLE', reason: 'Cassandra: every connection is busy' },
  AuthenticationError: { code: 'UNAUTHENTICATED', reason: 'Cassandra refused the credentials' },
};

/** cassandra-driver errors: by name, and a `ResponseError` by CQL code (an unknown one: INTERNAL). */
export const cassandraErrors: NativeErrorTable = (err) => {
  if (!(err instanceof Error)) return undefined;
  const known = CLIENT_ERRORS[err.name];
  if (known) return known;
  if (err.name !== 'ResponseError') return undefined;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'number' ? CQL_ERRORS[code] : undefined) ?? { code: 'INTERNAL', reason: 'Cassandra error' };
};

/** Translates anything the Cassandra adapter threw into a DgwError (DgwErrors unchanged). */
export const translateCassandraError: ErrorTranslator = errorTranslator(cassandraErrors, socketErrors);
