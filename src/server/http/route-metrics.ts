/**
 * The per-route HTTP metrics (`dgw_http_requests_total`, `dgw_http_request_seconds`),
 * recorded for every request by both the Fastify hooks and the fast path (fast-routes.ts).
 * A route's labels are built once per route, and its series are updated through metric
 * cells (kernel/metric-cells.ts): prom-client's label validation and hashing ran twice
 * per request before (issue 9); what a scrape shows is unchanged.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { CounterCell, HistogramCell } from '../../kernel/metric-cells.js';

/** Labels of the per-route HTTP metrics. */
export interface RouteLabels {
  method: string;
  route: string;
}

/** The series of one route's labels: its latency, and its request count per status code. */
class RouteSeries {
  private readonly latency: HistogramCell<'method' | 'route'>;
  private readonly byStatus = new Map<number, CounterCell<'method' | 'route' | 'code'>>();

  constructor(
    private readonly requests: Counter<'method' | 'route' | 'code'>,
    latency: Histogram<'method' | 'route'>,
    private readonly labels: RouteLabels,
  ) {
    this.latency = new HistogramCell(latency, labels);
  }

  observe(status: number, elapsedMs: number): void {
    let requests = this.byStatus.get(status);
    if (requests === undefined) this.byStatus.set(status, (requests = new CounterCell(this.requests, { ...this.labels, code: String(status) })));
    requests.inc();
    this.latency.observe(elapsedMs / 1000);
  }
}

/** The HTTP request metrics of one app, registered on `registry`. */
export class HttpRouteMetrics {
  private readonly requests: Counter<'method' | 'route' | 'code'>;
  private readonly latency: Histogram<'method' | 'route'>;
  /** By labels object: callers keep one per route (fast path) or per route and method (hooks). */
  private readonly series = new WeakMap<RouteLabels, RouteSeries>();

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'dgw_http_requests_total',
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'code'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'dgw_http_request_seconds',
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    });
  }

  /** Records a finished request under `labels`, an object the caller keeps for its route. */
  observe(labels: RouteLabels, status: number, elapsedMs: number): void {
    let series = this.series.get(labels);
    if (series === undefined) this.series.set(labels, (series = new RouteSeries(this.requests, this.latency, labels)));
    series.observe(status, elapsedMs);
  }

  /** Records a finished request under labels built for it alone (unmatched routes). */
  observeOnce(labels: RouteLabels, status: number, elapsedMs: number): void {
    this.requests.inc({ ...labels, code: String(status) });
    this.latency.observe(labels, elapsedMs / 1000);
  }
}
