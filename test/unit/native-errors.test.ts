/**
 * Native store errors become DgwErrors whose message a client may read (issue 14
 * hardening): a refusing PostgreSQL is UNAVAILABLE whatever the SQLSTATE of the refusal,
 * and no driver text (SQL, values, paths) is copied into a client-visible message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrorTranslator } from '../../src/storage/native-errors.js';
import { translatePgError, translatePostgresNativeError } from '../../src/storage/postgres/errors.js';
import { translateSqliteError } from '../../src/storage/sqlite/errors.js';
import { toHttpError } from '../../src/server/http/errors.js';
import { DgwError } from '../../src/kernel/errors.js';

function nativeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('native error translation', () => {
  it('maps every refusal of PostgreSQL to UNAVAILABLE naming the database', () => {
    for (const [code, text] of [
      ['55000', 'database "x" is not currently accepting connections'],
      ['57P01', 'terminating connection due to administrator command'],
      ['57P03', 'the database system is starting up'],
      ['53300', 'sorry, too many clients already'],
      ['53100', 'could not extend file "base/1/2": No space left on device'],
      ['08006', 'could not receive data from server: Connection reset by peer'],
      ['3D000', 'database "x" does not exist'],
      ['28P01', 'password authentication failed for user "postgres"'],
    ] as const) {
      const err = translatePgError(nativeError(code, text), '127.0.0.1:5432/test', undefined);
      assert.ok(err instanceof DgwError, `${code}: ${String(err)}`);
      assert.equal(err.code, 'UNAVAILABLE', code);
      assert.match(err.message, /^PostgreSQL at 127\.0\.0\.1:5432\/test is unavailable \(.*SQLSTATE/);
      assert.ok(!err.message.includes(text), `${code}: driver text leaked: ${err.message}`);
      assert.equal(toHttpError(err, 1).status, 503);
    }
  });

  it('copies no driver message into a non-internal error; keeps it in the cause', () => {
    // Each adapter translates with its own table (src/storage/<adapter>/errors.ts).
    const cases: Array<[ErrorTranslator, Error]> = [
      [translateSqliteError, nativeError('SQLITE_FULL', 'database or disk is full: INSERT INTO "slice_1" VALUES (...)')],
      [translateSqliteError, nativeError('SQLITE_BUSY', 'database is locked')],
      [translatePostgresNativeError, nativeError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
      [translatePostgresNativeError, nativeError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:5432')],
      [translatePostgresNativeError, nativeError('57014', 'canceling statement due to statement timeout')],
    ];
    for (const [toDgwError, native] of cases) {
      const err = toDgwError(native, 'store.events.append');
      assert.notEqual(err.code, 'INTERNAL');
      assert.ok(!err.message.includes(native.message), `leaked: ${err.message}`);
      assert.ok(err.message.startsWith('store.events.append: '), err.message);
      assert.equal(err.cause, native);
    }
  });

  it('an INTERNAL error is sent as a bare "internal error", whatever its message', () => {
    const err = translateSqliteError(nativeError('SQLITE_CORRUPT', 'database disk image is malformed: SELECT * FROM t'), 'sqlite.events.scan');
    assert.equal(err.code, 'INTERNAL');
    const mapped = toHttpError(err, 1);
    assert.equal(mapped.status, 500);
    assert.equal(mapped.internal, true);
    assert.deepEqual(mapped.body, { error: { code: 'INTERNAL', message: 'internal error; see the server log', details: [] } });
    const bare = toHttpError(new RangeError('Maximum call stack size exceeded'), 1);
    assert.deepEqual(bare.body.error.message, 'internal error; see the server log');
  });
});
