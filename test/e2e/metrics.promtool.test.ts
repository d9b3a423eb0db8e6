/**
 * /metrics (issue 11) after a little traffic of every kind passes `promtool check
 * metrics` (Prometheus' own linter, Debian's prometheus package), keeps method and
 * route as separate labels, and carries dgw_build_info and the rollup-lag gauge the
 * Grafana dashboard and the alert rules use. The alert rules pass `promtool test rules`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { requireTool } from '../support/system-tool.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const promtool = requireTool('promtool', ['promtool'], 'apt-get install prometheus');

describe('Prometheus metrics', { skip: promtool === undefined }, () => {
  let t: TestServer;
  let text = '';
  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    const ns = uniqueNamespace('prom');
    await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {});
    await t.call('PUT', `/v1/counter/namespaces/${ns}c`, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    const event = { timeSeriesId: 'p', eventTime: '2024-10-03T21:25:00Z', eventId: 'e', eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }] };
    await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [event] });
    await t.post('/v1/counter/AddAndGetCount', { namespace: `${ns}c`, counter_name: 'c', delta: 1 });
    await t.server.counters.rollupNow(await t.server.namespaces.getCounter(`${ns}c`), 'c');
    await t.call('GET', '/nope');
    await t.call('GET', '/v1/status');
    text = await (await fetch(`${t.url}/metrics`)).text();
  });
  after(async () => {
    await t.stop();
  });

  it('passes promtool check metrics', () => {
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('has method and route as separate labels, build info and the rollup-lag gauge', () => {
    assert.match(text, /dgw_http_requests_total\{method="POST",route="\/v1\/timeseries\/WriteEventRecordsSync",code="200"\} 1/);
    assert.match(text, /dgw_http_request_seconds_bucket\{le="[^"]+",method="PUT",route="\/v1\/timeseries\/namespaces\/:ns"\}/);
    assert.match(text, /dgw_http_requests_total\{method="GET",route="unmatched",code="404"\} 1/);
    assert.match(text, /dgw_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*"\} 1/);
    assert.match(text, /# TYPE dgw_counters_rollup_lag_current_seconds gauge\ndgw_counters_rollup_lag_current_seconds\{namespace="[^"]+"\} \d/);
  });

  it('the Grafana dashboard only queries metrics that exist', () => {
    const dashboard = JSON.parse(readFileSync(`${ROOT}/deploy/grafana/dgw-dashboard.json`, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const names = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => [p.title, target.expr] as const));
    assert.ok(exprs.length >= 8, 'a dashboard with its panels');
    for (const [title, expr] of exprs) {
      for (const [metric] of expr.matchAll(/\b(?:dgw|nodejs|process)_[a-z_]+\b/g)) assert.ok(names.has(metric), `panel "${title}" uses ${metric}, which /metrics does not expose`);
    }
  });

  it('the alert rules pass promtool check rules and their unit tests', () => {
    const check = spawnSync(promtool!, ['check', 'rules', `${ROOT}/deploy/prometheus/dgw-alerts.yml`], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    const tests = spawnSync(promtool!, ['test', 'rules', `${ROOT}/deploy/prometheus/dgw-alerts.test.yml`], { encoding: 'utf8' });
    assert.equal(tests.status, 0, `${tests.stdout}${tests.stderr}`);
  });
});
