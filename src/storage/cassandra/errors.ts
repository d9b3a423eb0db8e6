/**
 * Cassandra error translation, the one translator of the Cassandra adapter (handed to the
 * store wrapper): the driver's errors by name and CQL protocol code (no quorum, overloaded,
 * write and read timeouts → UNAVAILABLE; refused credentials → UNAUTHENTICATED; invalid
 * CQL → INTERNAL), from the shared code table (../native-errors.ts).
 */
import type { DgwError } from '../../kernel/errors.js';
import { toDgwError } from '../native-errors.js';

/** Translates anything the Cassandra adapter threw into a DgwError (DgwErrors unchanged). */
export function translateCassandraError(err: unknown, where: string): DgwError {
  return toDgwError(err, where);
}
