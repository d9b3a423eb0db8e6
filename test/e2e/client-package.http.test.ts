/**
 * Issue 10 "SDK importable as `dgw/client`": the SDK imported the way a user imports it,
 * through the package's `exports` map (package.json "./client" -> dist/client), not from
 * src/. It resolves to the built file, its declarations exist, its client talks to a real
 * server, and a path the map does not export is refused.
 *
 * Needs the build output (dist/): `npm ci` builds it (the `prepare` script), so under
 * CI=true a missing dist/client is a failure; elsewhere the test skips with a banner
 * (run `npm run build`). A dist/ older than the sources tests the older SDK.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as ClientModule from '../../src/client/index.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = join(ROOT, 'dist/client/index.js');

function builtOrSkip(): boolean {
  if (existsSync(BUILT)) return true;
  const message = `${BUILT} not found: the package export dgw/client needs the build (npm run build; npm ci runs it)`;
  if (process.env.CI === 'true') throw new Error(message);
  console.error(`\n!!! SKIPPING: ${message}\n`);
  return false;
}

// Specifiers in variables: the typecheck must not need dist/ (it runs before any build).
const CLIENT = 'dgw/client';
const NOT_EXPORTED = 'dgw/dist/server/runtime.js';

describe('the SDK through the package export dgw/client', { skip: !builtOrSkip() }, () => {
  let t: TestServer;
  const ns = uniqueNamespace('sdk_pkg');

  before(async () => {
    // The SDK stamps its idempotency tokens with the real time.
    t = await startTestServer({ clockStart: new Date().toISOString() });
    const doc = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] };
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, doc)).status, 201);
  });
  after(() => t?.stop());

  it('resolves to dist/client with its declarations, and its client works against a server', async () => {
    assert.equal(import.meta.resolve(CLIENT), pathToFileURL(BUILT).href);
    assert.ok(existsSync(join(ROOT, 'dist/client/index.d.ts')), 'the "types" of the export exist');
    const sdk = (await import(CLIENT)) as typeof ClientModule;
    assert.equal(typeof sdk.DgwClient, 'function');
    assert.equal(typeof sdk.DgwClientError, 'function');

    const client = new sdk.DgwClient({ baseUrls: t.url });
    assert.equal(await client.addAndGetCount({ namespace: ns, counterName: 'c', delta: 6n }), 6n);
    assert.equal(await client.getCount({ namespace: ns, counterName: 'c' }), 6n);
    const missing = await client.getCount({ namespace: `${ns}_none`, counterName: 'c' }).catch((e: unknown) => e);
    assert.ok(missing instanceof sdk.DgwClientError, String(missing));
    assert.equal(missing.code, 'NOT_FOUND');
  });

  it('refuses a path the exports map does not list', async () => {
    const err = await import(NOT_EXPORTED).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as { code?: string } | undefined)?.code, 'ERR_PACKAGE_PATH_NOT_EXPORTED', String(err));
  });
});
