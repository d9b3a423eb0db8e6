/**
 * The server's garbage collection over a measured window (issue 9), read from dgw's
 * /metrics: `dgw_gc_pause_seconds_total` and `dgw_gc_collections_total` by kind
 * (src/server/ops/gc-metrics.ts: every collection, summed over `--workers` children when
 * their series carry a `worker` label). The bench reads them just before and just after
 * the window, so each dgw row says how long the server's main threads were paused in GC
 * per operation and how often a major collection ran. A row whose GC share moves with its
 * CPU between runs of the same build points at the heap (BENCHMARKS.md, the fourteenth
 * pass: young collections keeping 3.4 MB instead of 0.3 MB after a bulk load).
 */

/** GC totals since the server started, by collection kind (`minor`, `major`, `incremental`, `weakcb`). */
export type GcTotals = ReadonlyMap<string, { seconds: number; count: number }>;

/** What the server collected during a window. */
export interface GcWindow {
  /** Seconds of GC pauses, all kinds. */
  seconds: number;
  /** Major (mark-compact) collections. */
  majors: number;
}

const LINE = /^dgw_gc_(pause_seconds|collections)_total\{([^}]*)\} ([0-9.eE+-]+)$/;
const KIND = /(?:^|,)kind="([a-z]+)"/;

/** The totals in a Prometheus text exposition; undefined when it has no GC series. */
export function parseGcTotals(text: string): GcTotals | undefined {
  const totals = new Map<string, { seconds: number; count: number }>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    const kind = m ? KIND.exec(m[2]!)?.[1] : undefined;
    if (!m || kind === undefined) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const entry = totals.get(kind) ?? { seconds: 0, count: 0 };
    if (m[1] === 'pause_seconds') entry.seconds += value;
    else entry.count += value;
    totals.set(kind, entry);
  }
  return totals.size > 0 ? totals : undefined;
}

/**
 * What was collected between two readings (a kind first seen in `after` started at 0);
 * undefined when a total went down or a kind vanished (the server restarted between them).
 */
export function gcBetween(before: GcTotals, after: GcTotals): GcWindow | undefined {
  let seconds = 0;
  let majors = 0;
  for (const [kind, b] of before) {
    const a = after.get(kind);
    if (a === undefined || a.count < b.count || a.seconds < b.seconds) return undefined;
  }
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { seconds: 0, count: 0 };
    seconds += a.seconds - b.seconds;
    if (kind === 'major') majors += a.count - b.count;
  }
  return { seconds, majors };
}

/** A window's GC as a share of its wall time (%) and major collections per second. */
export function gcRates(gc: GcWindow, wallMs: number): { serverGcPct: number; serverMajorGcPerS: number } {
  return { serverGcPct: ((gc.seconds * 1000) / wallMs) * 100, serverMajorGcPerS: gc.majors / (wallMs / 1000) };
}

/** Reads the totals from `url` (a /metrics endpoint); undefined when it cannot be read within 1 s. */
export async function readGcTotals(url: string): Promise<GcTotals | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    if (!res.ok) return undefined;
    return parseGcTotals(await res.text());
  } catch {
    return undefined;
  }
}
