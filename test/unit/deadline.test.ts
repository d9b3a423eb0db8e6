/** Request deadlines: a stalled call answers DEADLINE_EXCEEDED; a prompt one is untouched. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withDeadline } from '../../src/core/deadline.js';
import { DgwError } from '../../src/kernel/errors.js';

describe('withDeadline', () => {
  it('rejects a call that never answers with DEADLINE_EXCEEDED naming it', async () => {
    const never = new Promise<string>(() => undefined);
    await assert.rejects(withDeadline(never, 20, 'POST /v1/counter/GetCount'), (err: unknown) => {
      assert.ok(err instanceof DgwError);
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.match(err.message, /GetCount: no answer within 20 ms/);
      return true;
    });
  });

  it('passes a prompt result or error through, and a late failure is not unhandled', async () => {
    assert.equal(await withDeadline(Promise.resolve(7), 1000, 'x'), 7);
    await assert.rejects(withDeadline(Promise.reject(new Error('boom')), 1000, 'x'), /boom/);
    const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late')), 30));
    await assert.rejects(withDeadline(late, 5, 'x'), (err: unknown) => err instanceof DgwError);
    await new Promise((r) => setTimeout(r, 40)); // the late rejection lands here, handled
  });
});
