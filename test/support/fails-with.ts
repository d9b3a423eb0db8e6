/** A validator for `assert.rejects` / `assert.throws`: a DgwError with `code` whose message matches `message`. */
import assert from 'node:assert/strict';
import { isDgwError, type ErrorCode } from '../../src/kernel/errors.js';

export function failsWith(code: ErrorCode, message: RegExp): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(isDgwError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  };
}
