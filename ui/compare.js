// dgw status page, CompareCounts panel (DESIGN 4.6, docs/counters.md): the running
// anytime-valid p-value that the arms' rates are in the proportions of their assignment
// probabilities, over the event time of the compared interval, on a log scale with the
// alpha line, the counts per arm and the first time the p-value fell below alpha (printed,
// and a vertical line on the chart).
//
// A comparison is one CompareCounts call per point: the p-value at time T is the answer
// over [since, T), the running minimum over the path up to T. On submit the panel draws
// POINTS points evenly over [since, until or now) one call after another, then refreshes
// with the page's interval: with no `until` it appends a point at now, with one it redraws
// the last point (late adds). Errors (unknown namespace, bad input) stay in the panel.
// window.dgwStatus.compare holds what the panel shows (the headless browser test reads it).
'use strict';
(function () {
  const ui = window.dgwUi;
  const POINTS = 24;
  const KEEP = 600;
  // p-values below this are drawn at it (the summary gives the exact value): a log axis
  // over hundreds of decades would squash the part an operator looks at.
  const FLOOR = 1e-30;
  const UNITS = { s: 1, m: 60, h: 3600, d: 86400 };
  const el = (id) => document.getElementById(id);
  let plot = null;
  let generation = 0;

  /** "15m", "2h", "30s", "7d" (before now) or an RFC 3339 time → epoch ms; throws on anything else. */
  function parseSince(text, now) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$/.exec(text);
    if (m) return now - Number(m[1]) * UNITS[m[2]] * 1000;
    return parseTime(text, 'since');
  }
  function parseTime(text, field) {
    const ms = Date.parse(text);
    if (!/^\d{4}-\d\d-\d\dT/.test(text.trim()) || Number.isNaN(ms)) {
      throw new Error(`${field}: "${text}" is neither a duration before now (15m, 2h, 30s, 7d) nor an RFC 3339 time`);
    }
    return ms;
  }

  /** The form's text → a comparison; the server checks the arms, probabilities and alpha. */
  function parseQuery(form) {
    const now = Date.now();
    const namespace = form.ns.trim();
    if (!namespace) throw new Error('namespace: is required');
    const arms = form.arms.split(',').map((a) => a.trim()).filter((a) => a !== '');
    const probabilities = form.probabilities.trim()
      ? form.probabilities.split(',').map((p) => Number(p.trim()))
      : arms.map(() => 1 / arms.length);
    const alpha = form.alpha.trim() ? Number(form.alpha) : 0.05;
    const startMs = parseSince(form.since.trim() || '1h', now);
    const untilMs = form.until.trim() ? parseTime(form.until, 'until') : undefined;
    if (untilMs !== undefined && untilMs <= startMs) throw new Error('until: must be after since');
    if (untilMs === undefined && startMs >= now) throw new Error('since: must be before now');
    return { namespace, arms, probabilities, alpha, startMs, untilMs };
  }

  async function compareAt(q, endMs) {
    const res = await fetch('/v1/counter/CompareCounts', {
      method: 'POST',
      headers: ui.headers(true),
      body: JSON.stringify({
        namespace: q.namespace,
        counter_names: q.arms,
        // JSON has no NaN: a number the form could not read is sent as text, so the
        // server's error names the field.
        assignment_probabilities: q.probabilities.map((p) => (Number.isFinite(p) ? p : String(p))),
        alpha: Number.isFinite(q.alpha) ? q.alpha : String(q.alpha),
        time_interval: { start: new Date(q.startMs).toISOString(), end: new Date(endMs).toISOString() },
      }),
    });
    if (res.status === 401) ui.askToken();
    let body;
    try {
      body = await res.json();
    } catch {
      body = {};
    }
    if (!res.ok) {
      const e = body.error || {};
      throw new Error(`${e.code || 'HTTP ' + res.status}: ${e.message || res.statusText}`);
    }
    return body;
  }

  function show(state) {
    const c = state;
    const summary = el('compare-summary');
    if (!c.query || c.pValue === undefined) {
      summary.textContent = '';
    } else {
      const counts = c.query.arms.map((a, i) => `${a} ${c.counts[i]}`).join(' · ');
      const when = c.firstBelowAlpha ? `fell below α = ${c.query.alpha} at ${c.firstBelowAlpha}` : `not below α = ${c.query.alpha}`;
      summary.textContent = `p = ${c.pValue.toPrecision(3)} · ${when} · counts ${counts}`;
    }
    summary.className = c.firstBelowAlpha ? 'below' : '';
    el('compare-error').textContent = c.error || '';
  }

  // A vertical line at the first time the p-value fell below alpha (when in the chart's range).
  function markFirstBelow(u) {
    const c = ui.state.compare;
    if (!c || !c.firstBelowAlpha) return;
    const t = Date.parse(c.firstBelowAlpha) / 1000;
    if (t < u.scales.x.min || t > u.scales.x.max) return;
    const x = Math.round(u.valToPos(t, 'x', true));
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = ui.PALETTE[2];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.fillStyle = ui.PALETTE[2];
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(' first below α', x, u.bbox.top + 4 * devicePixelRatio);
    ctx.restore();
  }

  function draw(state) {
    const data = [state.times, state.pValues.map((p) => Math.max(p, FLOOR)), state.times.map(() => state.query.alpha)];
    if (!plot) {
      const box = el('chart-compare-plot');
      const width = Math.max(300, box.clientWidth - 20);
      plot = new uPlot(
        {
          width,
          height: 220,
          scales: { y: { distr: 3 } },
          series: [
            {},
            { label: 'p-value (running min)', stroke: ui.PALETTE[0], width: 1.5 },
            { label: 'α', stroke: ui.PALETTE[1], width: 1, dash: [6, 4] },
          ],
          axes: [{}, { size: 60 }],
          legend: { live: false },
          hooks: { draw: [markFirstBelow] },
        },
        data,
        box,
      );
      ui.state.charts['chart-compare-plot'] = { u: plot, labels: ['p-value', 'alpha'], data };
    } else {
      plot.setData(data);
      ui.state.charts['chart-compare-plot'].data = data;
    }
  }

  function reset() {
    generation++;
    if (plot) {
      plot.destroy();
      plot = null;
      delete ui.state.charts['chart-compare-plot'];
    }
    ui.state.compare = { query: null, times: [], pValues: [], counts: [], error: '', refreshes: 0 };
    return ui.state.compare;
  }

  function record(c, endMs, body, replaceLast) {
    const x = endMs / 1000;
    if (replaceLast && c.times.length > 0) {
      c.times[c.times.length - 1] = x;
      c.pValues[c.pValues.length - 1] = body.pValue;
    } else {
      c.times.push(x);
      c.pValues.push(body.pValue);
      if (c.times.length > KEEP) {
        c.times.shift();
        c.pValues.shift();
      }
    }
    c.counts = body.counts;
    c.pValue = body.pValue;
    c.logBayesFactor = body.logBayesFactor;
    c.firstBelowAlpha = body.firstBelowAlpha;
    c.error = '';
  }

  let busy = false;
  /** Draws the path over the interval (first call) or one more point (later ones). */
  async function refresh() {
    const c = ui.state.compare;
    if (!c || !c.query || busy) return;
    const mine = generation;
    busy = true;
    try {
      const q = c.query;
      if (c.times.length === 0) {
        const end = q.untilMs ?? Date.now();
        for (let k = 1; k <= POINTS; k++) {
          const at = q.startMs + Math.round(((end - q.startMs) * k) / POINTS);
          const body = await compareAt(q, at);
          if (mine !== generation) return;
          record(c, at, body, false);
        }
      } else if (q.untilMs !== undefined) {
        const body = await compareAt(q, q.untilMs);
        if (mine !== generation) return;
        record(c, q.untilMs, body, true);
      } else {
        const at = Date.now();
        const body = await compareAt(q, at);
        if (mine !== generation) return;
        record(c, at, body, false);
      }
      c.refreshes++;
      draw(c);
    } catch (err) {
      if (mine === generation) c.error = err.message;
    } finally {
      busy = false;
      if (mine === generation) show(c);
    }
  }

  function start(form) {
    const c = reset();
    try {
      c.query = parseQuery(form);
    } catch (err) {
      c.error = err.message;
    }
    show(c);
    void refresh();
  }

  const fields = ['ns', 'arms', 'probabilities', 'since', 'until', 'alpha'];
  const readForm = () => Object.fromEntries(fields.map((f) => [f, el(`compare-${f}`).value]));
  el('compare-form').addEventListener('submit', (e) => {
    e.preventDefault();
    start(readForm());
  });

  // ?compare=NAMESPACE/ARM1,ARM2&probabilities=0.5,0.5&since=1h&until=RFC3339&alpha=0.05
  reset();
  const p = ui.params;
  if (p.get('compare')) {
    const spec = p.get('compare');
    const slash = spec.indexOf('/');
    const form = {
      ns: slash < 0 ? spec : spec.slice(0, slash),
      arms: slash < 0 ? '' : spec.slice(slash + 1),
      probabilities: p.get('probabilities') || '',
      since: p.get('since') || '1h',
      until: p.get('until') || '',
      alpha: p.get('alpha') || '0.05',
    };
    for (const f of fields) el(`compare-${f}`).value = form[f];
    start(form);
  }
  setInterval(() => void refresh(), ui.interval);
})();
