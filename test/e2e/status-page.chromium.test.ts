/**
 * The status page (issue 11) in a real headless Chromium (Debian's chromium driven by
 * playwright-core): under a small steady load it draws request rates, latency
 * percentiles, queues, write-buffer fill, the namespaces table and a counter's value,
 * and the charts move between two looks. The CompareCounts panel (issue 13, item 3) draws
 * the running p-value of two arms, one with half the other's rate, falling below alpha and
 * says when; a bad input and an unknown namespace show their error text in the panel. The
 * screenshots are saved for the docs (DGW_UPDATE_SCREENSHOT=1 writes
 * docs/img/status-page.png and status-page-compare.png; otherwise a temp folder).
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
interface CompareState {
  query: { arms: string[]; alpha: number } | null;
  times: number[];
  pValues: number[];
  counts: string[];
  pValue?: number;
  firstBelowAlpha?: string;
  error: string;
  refreshes: number;
}
interface PageState {
  samples: number;
  charts: Record<string, ChartState>;
  compare: CompareState;
}

describe('status page in headless Chromium', { skip: executablePath === undefined }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let load: NodeJS.Timeout | undefined;
  /** The load's batch in flight, awaited before the server stops (its calls would fail "fetch failed"). */
  let inFlight: Promise<unknown> = Promise.resolve();
  const ns = uniqueNamespace('ui');
  const cns = `${ns}_clicks`;
  const abns = `${ns}_ab`;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const screenshotDir = () => {
    const dir = process.env.DGW_UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs', 'img') : tempDir('dgw-ui-');
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  before(async () => {
    t = await startTestServer({ clock: new SystemClock() });
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {})).status, 201);
    const counterDoc = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] };
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${cns}`, counterDoc)).status, 201);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${abns}`, counterDoc)).status, 201);
    // A small steady load: writes, reads, buffered writes and counter increments.
    let i = 0;
    let busy = false;
    load = setInterval(() => {
      if (busy) return;
      busy = true;
      const now = new Date().toISOString();
      const events = [0, 1, 2].map((k) => ({ timeSeriesId: `p${k}`, eventTime: now, eventId: `e${i}-${k}`, eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }] }));
      i++;
      inFlight = Promise.all([
        t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events }),
        t.post('/v1/timeseries/WriteEventRecords', { namespace: ns, events: events.map((e) => ({ ...e, eventId: `b${e.eventId}` })) }),
        t.post('/v1/timeseries/ReadEventRecords', { namespace: ns, timeSeriesId: 'p0', timeInterval: { start: '2020-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' }, pageSize: 10 }),
        t.post('/v1/counter/AddCount', { namespace: cns, counter_name: 'home', delta: 1 }),
      ]).finally(() => (busy = false));
      // A failed call of the load shows in the charts' assertions, never as an unhandled
      // rejection after the suite (one batch still in flight when the server stopped did).
      inFlight.catch(() => undefined);
    }, 100);
    browser = await chromium.launch({ executablePath, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  });

  after(async () => {
    clearInterval(load);
    await inFlight.catch(() => undefined);
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

    await page.screenshot({ path: join(screenshotDir(), 'status-page.png'), fullPage: true });
  });

  it('CompareCounts panel: the p-value of a halved rate falls below alpha, dated; errors shown', async () => {
    // Arm "control" gets 4 increments for every 2 of arm "treatment", over about 3 s.
    const firstWrite = Date.now();
    for (let round = 0; round < 30; round++) {
      const adds = await Promise.all([
        t.post('/v1/counter/AddCount', { namespace: abns, counter_name: 'control', delta: 4 }),
        t.post('/v1/counter/AddCount', { namespace: abns, counter_name: 'treatment', delta: 2 }),
      ]);
      for (const r of adds) assert.equal(r.status, 200, JSON.stringify(r.json));
      await sleep(100);
    }
    const lastWrite = Date.now();

    const errors: string[] = [];
    const tab = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    tab.on('pageerror', (err) => errors.push(err.message));
    const waitError = (pattern: string) =>
      tab.waitForFunction((p) => new RegExp(p).test((globalThis as unknown as { dgwStatus: PageState }).dgwStatus.compare.error), pattern, { timeout: 30_000 });
    const compareState = () => tab.evaluate(() => (globalThis as unknown as { dgwStatus: PageState }).dgwStatus.compare);
    await tab.goto(`${t.url}/ui/?compare=${abns}/control,treatment&probabilities=0.5,0.5&since=15s&alpha=0.05&interval=500`);
    await tab.waitForFunction(() => (globalThis as unknown as { dgwStatus: PageState }).dgwStatus.compare.refreshes >= 3, undefined, { timeout: 60_000 });
    const c = await compareState();
    assert.deepEqual(errors, []);
    assert.equal(c.error, '');
    assert.deepEqual(c.counts, ['120', '60']);
    assert.ok(c.pValues.length >= 24 + 2, `the path over the interval, then one point per refresh: ${c.pValues.length}`);
    // The path starts before the first add (p = 1) and ends below alpha; a running minimum never rises.
    assert.equal(c.pValues[0], 1);
    assert.ok(c.pValue! < 0.05, `p = ${c.pValue}`);
    assert.ok(c.pValues.every((p, i) => i === 0 || p <= c.pValues[i - 1]!), c.pValues.join(','));
    const below = Date.parse(c.firstBelowAlpha!);
    assert.ok(below >= firstWrite && below <= lastWrite, `fell below alpha at ${c.firstBelowAlpha}, writes ${new Date(firstWrite).toISOString()}–${new Date(lastWrite).toISOString()}`);
    const drawn = (await tab.evaluate(() => (globalThis as unknown as { dgwStatus: PageState }).dgwStatus.charts['chart-compare-plot']))!;
    assert.equal(drawn.data[0]!.length, drawn.data[1]!.length);
    assert.ok(drawn.data[2]!.every((a) => a === 0.05), 'the alpha line');
    const summary = await tab.locator('#compare-summary').textContent();
    assert.match(summary ?? '', new RegExp(`fell below α = 0\\.05 at ${c.firstBelowAlpha!.replace(/\./g, '\\.')}`));
    assert.match(summary ?? '', /control 120 · treatment 60/);
    await tab.locator('#chart-compare').screenshot({ path: join(screenshotDir(), 'status-page-compare.png') });

    // Bad input: probabilities that do not sum to 1, then an unknown namespace, then a bad interval.
    await tab.fill('#compare-probabilities', '0.5,0.6');
    await tab.click('#compare-form button');
    await tab.waitForFunction(() => (globalThis as unknown as { dgwStatus: PageState }).dgwStatus.compare.error !== '', undefined, { timeout: 30_000 });
    assert.match((await tab.locator('#compare-error').textContent()) ?? '', /INVALID_ARGUMENT.*assignment_probabilities/);
    assert.equal((await compareState()).pValues.length, 0, 'the old series is gone');

    await tab.fill('#compare-probabilities', '');
    await tab.fill('#compare-ns', `${abns}_missing`);
    await tab.click('#compare-form button');
    await waitError('NOT_FOUND');
    assert.match((await tab.locator('#compare-error').textContent()) ?? '', new RegExp(`NOT_FOUND.*${abns}_missing`));

    await tab.fill('#compare-ns', abns);
    await tab.fill('#compare-since', 'yesterday');
    await tab.click('#compare-form button');
    await waitError('since: "yesterday"');
    assert.match((await tab.locator('#compare-error').textContent()) ?? '', /since: "yesterday" is neither a duration/);
    assert.deepEqual(errors, []);
    await tab.close();
  });
});
