/**
 * What the client knows about a namespace: its SLOs (TimeSeries, DESIGN 3.5) and its
 * counter type (whether a mutation is idempotent, DESIGN 4). Fetched with GET on the
 * namespace and cached; a stale entry is served while it is refreshed in the background,
 * so at most the first call of a namespace waits for the fetch. Settings given in the
 * client options win and are never fetched.
 */
import type { CounterType, NamespaceKind, NamespaceSlos, NamespaceView } from './types.js';

/** One endpoint's SLO in milliseconds (client options). */
export interface SloMs {
  /** Hedge after this long; omit for no hedge. */
  targetMs?: number;
  /** Give up after this long. */
  maxMs: number;
}

/** What the client uses of a namespace. */
export interface NamespaceInfo {
  slos: { read?: SloMs; write?: SloMs };
  /** Counter namespaces; undefined when unknown (then mutations count as not idempotent). */
  counterType?: CounterType;
}

/** Per-namespace settings given in the client options (no fetch for these). */
export interface NamespaceOverrides {
  slos?: { read?: SloMs; write?: SloMs };
  counterType?: CounterType;
}

/** Options of {@link NamespaceInfoCache}. */
export interface NamespaceInfoCacheOptions {
  /** GETs a namespace; rejects when it cannot (not found, no permission, unreachable). */
  fetch: (kind: NamespaceKind, name: string) => Promise<NamespaceView>;
  /** Whether to fetch at all (false: only overrides are known). */
  enabled: boolean;
  /** Age after which an entry is refreshed; a failed fetch is retried after a tenth of it. */
  ttlMs: number;
  overrides: Readonly<Record<string, NamespaceOverrides>>;
  now: () => number;
}

interface Entry {
  info: NamespaceInfo;
  fetchedAt: number;
  ttl: number;
  refreshing?: Promise<NamespaceInfo>;
}

const UNKNOWN: NamespaceInfo = { slos: {} };

/** Converts the server's canonical SLOs (microseconds) to client milliseconds. */
export function slosFromServer(slos: NamespaceSlos | undefined): NamespaceInfo['slos'] {
  const out: NamespaceInfo['slos'] = {};
  for (const ep of ['read', 'write'] as const) {
    const s = slos?.[ep];
    if (s !== undefined && Number.isFinite(s.maxMicros) && Number.isFinite(s.targetMicros)) {
      out[ep] = { targetMs: s.targetMicros / 1000, maxMs: s.maxMicros / 1000 };
    }
  }
  return out;
}

/** The cache. */
export class NamespaceInfoCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: NamespaceInfoCacheOptions) {}

  /** The namespace's info; never rejects (an unknown namespace has no SLOs and no counter type). */
  async get(kind: NamespaceKind, name: string): Promise<NamespaceInfo> {
    const override = this.options.overrides[name];
    if (!this.options.enabled) return { slos: override?.slos ?? {}, ...(override?.counterType ? { counterType: override.counterType } : {}) };
    const key = `${kind}/${name}`;
    const entry = this.entries.get(key);
    let info: NamespaceInfo;
    if (entry === undefined || entry.fetchedAt === Number.NEGATIVE_INFINITY) {
      // Never fetched yet (or the first fetch is under way): wait for it.
      info = await this.refresh(key, kind, name);
    } else {
      if (this.options.now() - entry.fetchedAt >= entry.ttl) void this.refresh(key, kind, name);
      info = entry.info;
    }
    if (override === undefined) return info;
    return { slos: { ...info.slos, ...override.slos }, ...((override.counterType ?? info.counterType) ? { counterType: override.counterType ?? info.counterType } : {}) };
  }

  /** Forgets cached entries (after the caller changed a namespace, say). */
  invalidate(kind?: NamespaceKind, name?: string): void {
    if (kind === undefined || name === undefined) this.entries.clear();
    else this.entries.delete(`${kind}/${name}`);
  }

  private refresh(key: string, kind: NamespaceKind, name: string): Promise<NamespaceInfo> {
    const current = this.entries.get(key);
    if (current?.refreshing) return current.refreshing;
    const refreshing = this.options.fetch(kind, name).then(
      (view) => {
        // Omitted fields or another kind's shape: whatever is not there is unknown.
        const info: NamespaceInfo = { slos: slosFromServer(view.config.slos), ...(view.config.counterType ? { counterType: view.config.counterType } : {}) };
        this.entries.set(key, { info, fetchedAt: this.options.now(), ttl: this.options.ttlMs });
        return info;
      },
      () => {
        // Keep what we knew (or nothing); try again sooner than a good answer would.
        const info = current?.info ?? UNKNOWN;
        this.entries.set(key, { info, fetchedAt: this.options.now(), ttl: this.options.ttlMs / 10 });
        return info;
      },
    );
    if (current) current.refreshing = refreshing;
    else this.entries.set(key, { info: UNKNOWN, fetchedAt: Number.NEGATIVE_INFINITY, ttl: 0, refreshing });
    return refreshing;
  }
}
