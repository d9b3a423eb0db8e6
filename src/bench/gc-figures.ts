/**
 * The server's garbage collection over a measured window (issue 9), read from the
 * `nodejs_gc_duration_seconds` histogram dgw's /metrics exposes (prom-client's default
 * metrics): seconds spent in each kind of collection and how many ran. The bench reads it
 * just before and just after the window, so each dgw row says how much of its CPU per
 * operation was GC and how often a major collection ran; a row whose GC share jumps
 * between runs of the same build points at the heap, not the code (BENCHMARKS.md, the
 * fourteenth pass: young collections keeping 3.4 MB instead of 0.3 MB after a bulk load).
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

const LINE = /^nodejs_gc_duration_seconds_(sum|count)\{kind="([a-z]+)"\} ([0-9.eE+-]+)$/;

/** The totals in a Prometheus text exposition; undefined when it has no GC series. */
export function parseGcTotals(text: string): GcTotals | undefined {
  const totals = new Map<string, { seconds: number; count: number }>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const entry = totals.get(m[2]!) ?? { seconds: 0, count: 0 };
    if (m[1] === 'sum') entry.seconds = value;
    else entry.count = value;
    totals.set(m[2]!, entry);
  }
  return totals.size > 0 ? totals : undefined;
}

/** What was collected between two readings (a kind first seen in `after` started at 0). */
export function gcBetween(before: GcTotals, after: GcTotals): GcWindow {
  let seconds = 0;
  let majors = 0;
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { seconds: 0, count: 0 };
    seconds += Math.max(0, a.seconds - b.seconds);
    if (kind === 'major') majors += Math.max(0, a.count - b.count);
  }
  return { seconds, majors };
}

/** Reads the totals from `url` (a /metrics endpoint); undefined when it cannot be read. */
export async function readGcTotals(url: string): Promise<GcTotals | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    return parseGcTotals(await res.text());
  } catch {
    return undefined;
  }
}
