/** Asserts that a call fails with INVALID_ARGUMENT naming `field` (message prefix and details). */
import assert from 'node:assert/strict';
import { DgwError } from '../../src/kernel/errors.js';

export function assertInvalidArgument(call: () => unknown, field: string, pattern?: RegExp): void {
  assert.throws(call, (err: unknown) => {
    assert.ok(err instanceof DgwError, String(err));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.ok(err.message.startsWith(`${field}: `), `message "${err.message}" should name ${field}`);
    assert.equal(err.details[0]?.field, field);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}
