/**
 * Request rates for GET /v1/status and the status page: per-second counts of finished
 * requests by operation (method and route, or gRPC method) over a sliding minute, and
 * latency percentiles per operation over the same minute. Kept in one-second buckets,
 * so memory is bounded by operations x 60.
 */

/** Latency summary of one operation over the window. */
export interface OperationStats {
  operation: string;
  /** Requests per second over the window. */
  rate: number;
  /** Requests in the window. */
  count: number;
  /** Requests since the server started (monotonic: clients derive live rates from it). */
  total: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  /** Answers with status >= 500 in the window. */
  errors: number;
}

const WINDOW_SECONDS = 60;

interface Bucket {
  second: number;
  latencies: number[];
  errors: number;
}

/** One operation's buckets and its total since start. */
interface OperationRecord {
  buckets: Bucket[];
  total: number;
}

/** Sliding per-operation request statistics. */
export class RequestRates {
  /** Operations with requests in the window. */
  private readonly ops = new Map<string, Bucket[]>();
  /** Every operation seen since start (its total survives the window). */
  private readonly records = new Map<string, OperationRecord>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** Records one finished request. */
  record(operation: string, latencyMs: number, failed: boolean): void {
    const second = Math.floor(this.nowMs() / 1000);
    // One map read per request (issue 9); `ops` is written only when the operation had
    // left the window (snapshot() removes it) or is new.
    let rec = this.records.get(operation);
    if (rec === undefined) this.records.set(operation, (rec = { buckets: [], total: 0 }));
    rec.total++;
    const buckets = rec.buckets;
    let last = buckets[buckets.length - 1];
    if (!last || last.second !== second) {
      if (buckets.length === 0) this.ops.set(operation, buckets);
      buckets.push((last = { second, latencies: [], errors: 0 }));
      while (buckets.length > 0 && buckets[0]!.second <= second - WINDOW_SECONDS) buckets.shift();
    }
    // Past a few thousand samples per second, keep a sample: percentiles stay representative.
    if (last.latencies.length < 5000) last.latencies.push(latencyMs);
    if (failed) last.errors++;
  }

  /** Statistics of every operation seen in the window, busiest first. */
  snapshot(): OperationStats[] {
    const now = Math.floor(this.nowMs() / 1000);
    const out: OperationStats[] = [];
    for (const [operation, buckets] of this.ops) {
      const live = buckets.filter((b) => b.second > now - WINDOW_SECONDS);
      if (live.length === 0) {
        this.ops.delete(operation);
        buckets.length = 0; // its next request starts afresh (and puts it back in `ops`)
        continue;
      }
      const all = live.flatMap((b) => b.latencies).sort((a, b) => a - b);
      const pct = (p: number) => (all.length === 0 ? 0 : all[Math.min(all.length - 1, Math.floor(p * all.length))]!);
      const count = all.length;
      out.push({ operation, rate: count / WINDOW_SECONDS, count, total: this.records.get(operation)?.total ?? count, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), errors: live.reduce((n, b) => n + b.errors, 0) });
    }
    return out.sort((a, b) => b.count - a.count);
  }
}
