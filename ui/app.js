// dgw status page: polls GET /v1/status (and, for the watched counter, GetCount) once a
// second, keeps the last 5 minutes in memory and redraws uPlot charts. window.dgwStatus
// exposes the sample count and chart data (the headless browser test reads it);
// window.dgwUi lends the chart and header helpers to compare.js (the CompareCounts panel).
'use strict';
(function () {
  const KEEP = 300;
  const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
  const state = { samples: 0, charts: {}, lastTotals: null, lastTime: 0, counter: null, errors: 0 };
  // With bearer tokens on (docs/security.md) the page asks for one (metrics scope for the
  // status, read for the counter) and keeps it for this tab only.
  function headers(json) {
    const h = json ? { 'content-type': 'application/json' } : {};
    const token = sessionStorage.getItem('dgwToken');
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  }
  let asked = false;
  function askToken() {
    if (asked) return;
    asked = true;
    const token = prompt('This dgw requires a bearer token (metrics scope; read for the counter chart):');
    if (token) sessionStorage.setItem('dgwToken', token);
  }
  window.dgwStatus = state;

  function chart(id, seriesLabels, opts) {
    const el = document.getElementById(id);
    const width = Math.max(300, el.clientWidth - 20);
    const series = [{}].concat(seriesLabels.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5 })));
    const data = [[]].concat(seriesLabels.map(() => []));
    const u = new uPlot({ width, height: 220, series, axes: [{}, { size: 60 }], legend: { live: false }, ...(opts || {}) }, data, el);
    const c = { u, labels: seriesLabels.slice(), data };
    state.charts[id] = c;
    return c;
  }

  // Adds a series the first time an operation shows up; earlier points stay empty.
  function ensureSeries(c, label) {
    let i = c.labels.indexOf(label);
    if (i >= 0) return i + 1;
    c.labels.push(label);
    c.data.push(c.data[0].map(() => null));
    c.u.addSeries({ label, stroke: PALETTE[(c.labels.length - 1) % PALETTE.length], width: 1.5 }, c.labels.length);
    return c.labels.length;
  }

  function push(c, t, values) {
    c.data[0].push(t);
    for (let i = 1; i < c.data.length; i++) c.data[i].push(values[i] === undefined ? null : values[i]);
    if (c.data[0].length > KEEP) for (const s of c.data) s.shift();
    c.u.setData(c.data);
  }

  const rate = chart('chart-rate', []);
  const latency = chart('chart-latency', []);
  const queues = chart('chart-queues', ['rollup lag (s)', 'rollup queue (counters)', 'write buffer (events)']);
  const buffer = chart('chart-buffer', ['fill %'], { scales: { y: { range: [0, 100] } } });
  let counterChart = null;
  // Drawn once the status says a durable rollup queue is configured (--nats-url).
  let busChart = null;
  let lastBus = null;

  // The operations charted: data-plane calls over HTTP and gRPC.
  function isDataPlane(operation) {
    return /^POST \/v1\/(timeseries|counter)\/[A-Z]/.test(operation) || operation.startsWith('gRPC ');
  }

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function renderNamespaces(list) {
    const body = document.querySelector('#namespaces tbody');
    body.replaceChildren(
      ...list.map((n) => {
        const tr = document.createElement('tr');
        const cfg = n.config || {};
        const primary = (cfg.primary || (cfg.events && cfg.events.primary)) || {};
        const summary = n.kind === 'counter'
          ? `${cfg.counterType} · rollup on ${cfg.rollup && cfg.rollup.storage.store} · cache on ${cfg.cache && cfg.cache.storage.store}`
          : `${primary.storage && primary.storage.store} · slice ${primary.secondsPerTimeSlice}s · ${primary.eventBuckets} buckets · buffer ${primary.bufferCapacityBytes} B`;
        const slices = n.slices ? Object.entries(n.slices).map(([k, v]) => `${v} ${k.toLowerCase()}`).join(', ') : '–';
        const rollup = n.kind === 'counter' ? `${n.rollupQueueDepth} / ${Number(n.rollupLagSeconds).toFixed(1)} s` : '–';
        for (const v of [n.kind, n.name, String(n.version), null, slices, String(n.eventsWritten), rollup]) {
          const td = document.createElement('td');
          if (v === null) {
            const code = document.createElement('code');
            code.textContent = summary;
            td.appendChild(code);
          } else td.textContent = v;
          tr.appendChild(td);
        }
        return tr;
      }),
    );
  }

  async function pollCounter(t) {
    const watch = state.counter;
    if (!watch) return;
    try {
      const res = await fetch('/v1/counter/GetCount', {
        method: 'POST',
        headers: headers(true),
        body: JSON.stringify({ namespace: watch.ns, counter_name: watch.name }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
      if (!counterChart) counterChart = chart('chart-counter', [`${watch.ns}/${watch.name}`]);
      push(counterChart, t, [null, Number(body.count)]);
    } catch (err) {
      text('state', `counter: ${err.message}`);
    }
  }

  async function poll() {
    const t = Date.now() / 1000;
    let s;
    try {
      const res = await fetch('/v1/status', { headers: headers(false) });
      if (res.status === 401) askToken();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      s = await res.json();
    } catch (err) {
      state.errors++;
      const el = document.getElementById('state');
      el.textContent = `unreachable: ${err.message}`;
      el.className = 'state down';
      return;
    }
    const el = document.getElementById('state');
    el.textContent = `live · ${s.requests.ratePerSecond.toFixed(1)} req/s (1 min avg)`;
    el.className = 'state';
    text('build', `v${s.version} · node ${s.node} · http ${s.ports.http}${s.ports.grpc ? ' · grpc ' + s.ports.grpc : ''}`);
    text('uptime', `up ${s.uptimeSeconds}s`);
    text('stores', s.stores.map((x) => `${x.key} ${x.healthy ? 'ok' : 'DOWN'}`).join(' · '));

    // Live rates from the monotonic totals between two polls.
    const totals = new Map(s.requests.operations.map((o) => [o.operation, o.total]));
    const rateRow = [null];
    const latRow = [null];
    for (const o of s.requests.operations) {
      if (!isDataPlane(o.operation)) continue; // not the control plane, this page, or 404s
      const i = ensureSeries(rate, o.operation);
      const prev = state.lastTotals ? state.lastTotals.get(o.operation) : undefined;
      if (prev !== undefined && t > state.lastTime) rateRow[i] = (o.total - prev) / (t - state.lastTime);
      latRow[ensureSeries(latency, `p50 ${o.operation}`)] = o.p50;
      latRow[ensureSeries(latency, `p99 ${o.operation}`)] = o.p99;
    }
    state.lastTotals = totals;
    state.lastTime = t;
    push(rate, t, rateRow);
    push(latency, t, latRow);
    push(queues, t, [null, s.rollupLagSeconds, s.queues.rollupQueueDepth, s.queues.writeBufferEvents]);
    const cap = s.queues.writeBufferCapacityBytes;
    push(buffer, t, [null, cap > 0 ? (100 * s.queues.writeBufferBytes) / cap : 0]);
    if (s.rollupBus) {
      if (!busChart) {
        document.getElementById('chart-bus').hidden = false;
        busChart = chart('chart-bus', ['pending', 'awaiting ack', 'acknowledged / s', 'redelivered / s', 'deferred / s', 'fallbacks / s']);
      }
      const b = s.rollupBus;
      const per = (now, before) => (lastBus && t > lastBus.t ? Math.max(0, now - before) / (t - lastBus.t) : null);
      push(busChart, t, [
        null,
        b.pending,
        b.ackPending,
        lastBus ? per(b.acknowledged, lastBus.acknowledged) : null,
        lastBus ? per(b.redelivered, lastBus.redelivered) : null,
        lastBus ? per(b.deferred ?? 0, lastBus.deferred ?? 0) : null,
        lastBus ? per(b.fallbacks, lastBus.fallbacks) : null,
      ]);
      lastBus = { ...b, t };
    }
    renderNamespaces(s.namespaces);
    await pollCounter(t);
    state.samples++;
  }

  document.getElementById('counter-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.counter = { ns: document.getElementById('counter-ns').value, name: document.getElementById('counter-name').value };
    if (counterChart) {
      counterChart.u.destroy();
      counterChart = null;
    }
  });
  const params = new URLSearchParams(location.search);
  if (params.get('counter')) {
    const [ns, name] = params.get('counter').split('/');
    state.counter = { ns, name };
    document.getElementById('counter-ns').value = ns;
    document.getElementById('counter-name').value = name || '';
  }

  const interval = Number(params.get('interval')) || 1000;
  window.dgwUi = { chart, headers, askToken, state, params, interval, PALETTE };

  let running = false;
  setInterval(() => {
    if (running) return;
    running = true;
    poll().finally(() => (running = false));
  }, interval);
})();
