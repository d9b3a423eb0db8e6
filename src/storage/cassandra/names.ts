/**
 * Physical names on Cassandra: namespaces (up to 160 characters with `.:-`) become table
 * names of at most 48 `[a-z0-9_]` characters through a hash, and the tables created once
 * per keyspace get ids derived from their names, so that dgw instances creating them at
 * the same time produce the same schema (Cassandra's random table ids are what turns
 * concurrent `CREATE TABLE IF NOT EXISTS` into a "table id mismatch").
 */
import { createHash } from 'node:crypto';
import { DgwError } from '../../kernel/errors.js';

/** Cassandra keyspace names dgw accepts: lower-case, as Cassandra folds unquoted names. */
export const KEYSPACE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

/** Throws INVALID_ARGUMENT unless `keyspace` is a usable keyspace name. */
export function checkKeyspace(keyspace: string): void {
  if (!KEYSPACE_NAME.test(keyspace)) {
    throw new DgwError('INVALID_ARGUMENT', `cassandra keyspace: "${keyspace}" must match ${KEYSPACE_NAME.source}`);
  }
}

/** 16 hex characters identifying a namespace in table names (64 bits of SHA-256). */
export function namespaceTag(namespace: string): string {
  return createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, 16);
}

/** Table of one time slice of a namespace: `e_<tag>_<sliceId>` (a negative id gets `m`). */
export function sliceTable(namespace: string, sliceId: number): string {
  const id = sliceId < 0 ? `m${-sliceId}` : String(sliceId);
  return `e_${namespaceTag(namespace)}_${id}`;
}

/** Table of the rollup rows of one counter namespace: `r_<tag>`. */
export function rollupTable(namespace: string): string {
  return `r_${namespaceTag(namespace)}`;
}

/** A stable UUID for `keyspace.table`, used as the table id of the tables made at start-up. */
export function stableTableId(keyspace: string, table: string): string {
  const h = createHash('sha256').update(`dgw:${keyspace}.${table}`, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x40; // a version-4-shaped UUID (the id only has to be unique)
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
