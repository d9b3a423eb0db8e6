/**
 * The SDK in a real browser (issue 10: "for Node 20 and browsers"): `src/client` bundled
 * for the browser with esbuild, loaded by a page served from another origin than dgw's,
 * in headless Chromium (Debian's chromium driven by playwright-core). With that origin in
 * `allowedOrigins`, dgw approves the CORS preflights and the page's SDK writes and reads
 * events (page iterator), counts with idempotency tokens made by Web Crypto, and reads a
 * typed error; a page on an origin not allowed gets nothing through.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SystemClock } from '../../src/kernel/clock.js';
import type * as ClientModule from '../../src/client/index.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { requireTool } from '../support/system-tool.js';

const executablePath = requireTool('chromium', ['/usr/bin/chromium'], 'apt-get install chromium');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CLIENT_ENTRY = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));

/** What the page reports back (bigints as strings: page.evaluate cannot carry them). */
interface PageResult {
  added?: string;
  count?: string;
  pages?: number[];
  ids?: string[];
  error?: { name: string; code?: string; httpStatus?: number; message: string };
}

describe('the SDK in headless Chromium, from another origin', { skip: executablePath === undefined }, () => {
  let t: TestServer;
  let site: Server;
  let siteOrigin: string;
  let browser: Browser;
  let page: Page;
  const ts = uniqueNamespace('web');
  const cn = uniqueNamespace('webclicks');

  before(async () => {
    const bundle = await build({ entryPoints: [CLIENT_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
    const sdk = bundle.outputFiles[0]!.text;
    site = createServer((req, res) => {
      if (req.url === '/sdk.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>dgw SDK</title><p>sdk page</p>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteOrigin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    // The page's origin differs from dgw's by its port: every call is cross-origin.
    t = await startTestServer({ clock: new SystemClock(), allowedOrigins: [siteOrigin] });
    browser = await chromium.launch({ executablePath, headless: true, args: FLAGS });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    await new Promise((r) => site?.close(r));
  });

  /** Runs the SDK in the page at `origin` against dgw. */
  const inPage = async (origin: string, script: 'counters' | 'events' | 'error'): Promise<PageResult> => {
    await page.goto(`${origin}/`);
    return page.evaluate(
      async ({ dgwUrl, script, ts, cn }) => {
        const sdkUrl = '/sdk.js'; // a variable: the module exists only in the page
        const m = (await import(sdkUrl)) as typeof ClientModule;
        const dgw = new m.DgwClient({ baseUrls: [dgwUrl], priority: 80 });
        try {
          if (script === 'counters') {
            await dgw.putNamespace('counter', cn, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
            await dgw.addCount({ namespace: cn, counterName: 'home', delta: 3n });
            const added = await dgw.addAndGetCount({ namespace: cn, counterName: 'home', delta: 2 });
            const count = await dgw.getCount({ namespace: cn, counterName: 'home' });
            return { added: String(added), count: String(count) };
          }
          if (script === 'events') {
            await dgw.putNamespace('timeseries', ts, {});
            const now = Date.now();
            const events = Array.from({ length: 25 }, (_, i) => ({
              timeSeriesId: 'p1',
              eventTime: new Date(now - 1000 - i * 10),
              eventId: `e${i}`,
              eventItems: [{ eventItemKey: 'k', eventItemValue: `v${i}` }],
            }));
            await dgw.writeEventRecordsSync({ namespace: ts, events });
            const pages: number[] = [];
            const ids: string[] = [];
            for await (const p of dgw.readEventPages({ namespace: ts, timeSeriesId: 'p1', timeInterval: { start: new Date(now - 60_000), end: new Date(now + 60_000) }, pageSize: 10 })) {
              pages.push(p.events.length);
              for (const e of p.events) ids.push(e.eventId);
            }
            return { pages, ids };
          }
          await dgw.getCount({ namespace: 'no_such_namespace_web', counterName: 'x' }, { deadlineMs: 5000 });
          return {};
        } catch (err) {
          const e = err as { name: string; code?: string; httpStatus?: number; message: string };
          return { error: { name: e.name, code: e.code, httpStatus: e.httpStatus, message: e.message } };
        }
      },
      { dgwUrl: t.url, script, ts, cn },
    );
  };

  it('counts with idempotency tokens made in the browser', async () => {
    const r = await inPage(siteOrigin, 'counters');
    assert.deepEqual(r, { added: '5', count: '5' });
  });

  it('writes events and walks every page once, newest first', async () => {
    const r = await inPage(siteOrigin, 'events');
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual(r.pages, [10, 10, 5]);
    assert.deepEqual(r.ids, Array.from({ length: 25 }, (_, i) => `e${i}`));
  });

  it('reads dgw’s error across origins: a typed NOT_FOUND', async () => {
    const r = await inPage(siteOrigin, 'error');
    assert.equal(r.error?.code, 'NOT_FOUND', JSON.stringify(r));
    assert.equal(r.error?.httpStatus, 404);
  });

  it('a page on an origin not allowed gets nothing through', async () => {
    // Same page server, reached as "localhost": another origin, not in allowedOrigins.
    const foreign = siteOrigin.replace('127.0.0.1', 'localhost');
    const r = await inPage(foreign, 'counters');
    assert.ok(r.error, 'the call failed');
    assert.notEqual(r.error.code, 'NOT_FOUND');
    const direct = await fetch(`${t.url}/v1/counter/GetCount`, {
      method: 'OPTIONS',
      headers: { origin: foreign, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(direct.headers.get('access-control-allow-origin'), null, 'no approval for a foreign origin');
  });
});
