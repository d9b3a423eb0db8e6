/**
 * The status page (issue 11) in a real headless Chromium (Debian's chromium driven by
 * playwright-core): under a small steady load it draws request rates, latency
 * percentiles, queues, write-buffer fill, the namespaces table and a counter's value,
 * and the charts move between two looks. The screenshot is saved for the docs
 * (DGW_UPDATE_SCREENSHOT=1 writes docs/img/status-page.png; otherwise a temp folder).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SystemClock } from '../../src/kernel/clock.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { requireTool } from '../support/system-tool.js';
import { tempDir } from '../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const executablePath = requireTool('chromium', ['/usr/bin/chromium'], 'apt-get install chromium');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface ChartState {
  labels: string[];
  data: (number | null)[][];
}
interface PageState {
  samples: number;
  charts: Record<string, ChartState>;
}

describe('status page in headless Chromium', { skip: executablePath === undefined }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let load: NodeJS.Timeout | undefined;
  const ns = uniqueNamespace('ui');
  const cns = `${ns}_clicks`;

  before(async () => {
    t = await startTestServer({ clock: new SystemClock() });
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {})).status, 201);
    const counterDoc = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] };
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${cns}`, counterDoc)).status, 201);
    // A small steady load: writes, reads, buffered writes and counter increments.
    let i = 0;
    let busy = false;
    load = setInterval(() => {
      if (busy) return;
      busy = true;
      const now = new Date().toISOString();
      const events = [0, 1, 2].map((k) => ({ timeSeriesId: `p${k}`, eventTime: now, eventId: `e${i}-${k}`, eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }] }));
      i++;
      void Promise.all([
        t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events }),
        t.post('/v1/timeseries/WriteEventRecords', { namespace: ns, events: events.map((e) => ({ ...e, eventId: `b${e.eventId}` })) }),
        t.post('/v1/timeseries/ReadEventRecords', { namespace: ns, timeSeriesId: 'p0', timeInterval: { start: '2020-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' }, pageSize: 10 }),
        t.post('/v1/counter/AddCount', { namespace: cns, counter_name: 'home', delta: 1 }),
      ]).finally(() => (busy = false));
    }, 100);
    browser = await chromium.launch({ executablePath, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  });

  after(async () => {
    clearInterval(load);
    await browser?.close();
    await t?.stop();
  });

  const pageState = () => page.evaluate(() => (globalThis as unknown as { dgwStatus: PageState }).dgwStatus);

  it('draws live charts, the namespaces and a counter, and they move', async () => {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${t.url}/ui/?counter=${cns}/home&interval=500`);
    await page.waitForFunction(() => (globalThis as unknown as { dgwStatus?: PageState }).dgwStatus!.samples >= 6, undefined, { timeout: 60_000 });
    const first = await pageState();
    const rateCanvas = () => page.locator('#chart-rate canvas').first().screenshot();
    const before = await rateCanvas();
    await page.waitForFunction((n) => (globalThis as unknown as { dgwStatus: PageState }).dgwStatus.samples >= n + 4, first.samples, { timeout: 60_000 });
    const later = await pageState();
    const after = await rateCanvas();
    assert.deepEqual(errors, []);

    const series = (c: ChartState, label: string) => c.data[c.labels.indexOf(label) + 1] ?? [];
    const rate = later.charts['chart-rate']!;
    const writes = series(rate, 'POST /v1/timeseries/WriteEventRecordsSync').filter((v): v is number => v !== null);
    assert.ok(writes.some((v) => v > 0), `write rate drawn: ${JSON.stringify(rate.labels)}`);
    const latency = later.charts['chart-latency']!;
    assert.ok(series(latency, 'p99 POST /v1/counter/AddCount').some((v) => v !== null && v > 0), 'latency percentiles drawn');
    assert.ok(later.charts['chart-queues']!.data[0]!.length >= first.charts['chart-queues']!.data[0]!.length + 4, 'queues chart grows');
    assert.ok(later.charts['chart-buffer']!.data[1]!.every((v) => v !== null && v >= 0 && v <= 100), 'buffer fill in percent');
    const counter = later.charts['chart-counter']!.data[1]!.filter((v): v is number => v !== null);
    assert.ok(counter.length >= 4 && counter[counter.length - 1]! > counter[0]!, `counter value rises: ${counter.join(',')}`);
    assert.ok(!before.equals(after), 'the request-rate chart moved');
    const rows = await page.locator('#namespaces tbody tr').allTextContents();
    assert.ok(rows.some((r) => r.includes(ns) && r.includes('timeseries')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes(cns) && r.includes('ACCURATE')), rows.join('\n'));

    const dir = process.env.DGW_UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs', 'img') : tempDir('dgw-ui-');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'status-page.png'), fullPage: true });
  });
});
