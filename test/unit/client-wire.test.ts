/**
 * The SDK's wire types (src/client/wire.gen.ts) are what the protos and the operation
 * table give now (issue 10: the SDK's types come from the one operation table). A changed
 * message or route makes this test fail until the file is regenerated; the regenerated
 * file then breaks the client's typecheck wherever the codec no longer fits.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientWireSource } from '../../src/server/operations/client-wire.js';
import { OPERATIONS } from '../../src/server/operations/table.js';
import { HTTP_ROUTES } from '../../src/client/wire.gen.js';

const CHECKED_IN = fileURLToPath(new URL('../../src/client/wire.gen.ts', import.meta.url));

describe('client wire types', () => {
  it('src/client/wire.gen.ts is generated from the protos and the operation table', () => {
    const source = clientWireSource();
    if (process.env['DGW_UPDATE_CLIENT_WIRE'] === '1') writeFileSync(CHECKED_IN, source);
    assert.equal(readFileSync(CHECKED_IN, 'utf8'), source, 'src/client/wire.gen.ts is stale: run npm run gen:client-wire');
  });

  it('names every operation of the table with its HTTP method and paths', () => {
    assert.deepEqual(Object.keys(HTTP_ROUTES), OPERATIONS.map((op) => op.name));
    for (const op of OPERATIONS) {
      const route = HTTP_ROUTES[op.name as keyof typeof HTTP_ROUTES];
      assert.equal(route.method, op.http.method, op.name);
      assert.deepEqual([...route.paths], op.http.routes.map((r) => r.url.replace(':ns', '{namespace}')), op.name);
    }
  });
});
