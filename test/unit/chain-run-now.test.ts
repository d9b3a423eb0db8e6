/**
 * OperationChain.runNow (issue 9): an operation's immediate answer is used only while every
 * interceptor lets it through (the deadline does); one interceptor without
 * `passesImmediate` sends every call the `run` way, through it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deadlineInterceptor, OperationChain, type Interceptor } from '../../src/server/operations/chain.js';
import type { Operation, OperationDeps, OperationResult } from '../../src/server/operations/operation.js';

const deps = {} as OperationDeps;

function operation(now: OperationResult | undefined): Operation {
  return {
    name: 'GetCount',
    grpcService: 'dgw.v1.CounterService',
    http: { method: 'POST', routes: [{ url: '/v1/counter/GetCount' }], status: 200, input: 'body' },
    plane: 'data',
    summary: 'test',
    run: () => Promise.resolve({ body: { via: 'run' } }),
    runNow: () => now,
  };
}

const call = (op: Operation) => ({ operation: op, input: {}, info: { deadlineMs: Infinity }, transport: 'http' as const });

describe('OperationChain.runNow', () => {
  it('answers from runNow through the deadline interceptor', () => {
    const chain = new OperationChain(deps).use(deadlineInterceptor(1000));
    assert.deepEqual(chain.runNow(call(operation({ body: { via: 'now' } }))), { body: { via: 'now' } });
    assert.equal(chain.runNow(call(operation(undefined))), undefined);
  });

  it('leaves every call to run once an interceptor must see it', async () => {
    const seen: string[] = [];
    const logger: Interceptor = (c, next) => {
      seen.push(c.operation.name);
      return next();
    };
    const chain = new OperationChain(deps).use(deadlineInterceptor(1000)).use(logger);
    const op = operation({ body: { via: 'now' } });
    assert.equal(chain.runNow(call(op)), undefined);
    assert.deepEqual(await chain.run(call(op)), { body: { via: 'run' } });
    assert.deepEqual(seen, ['GetCount']);
  });

  it('throws what runNow throws', () => {
    const op = { ...operation(undefined), runNow: () => { throw new Error('bad input'); } };
    assert.throws(() => new OperationChain(deps).runNow(call(op)), /bad input/);
  });
});
