/**
 * Write marks without a commit per add. Before an event is stored, the counter's rollup
 * row must already say `firstWriteTs <= eventTime <= lastWriteTs` (see service.ts). Marks
 * are recorded at a coarse granularity (first rounded down, last rounded up to the second),
 * and this instance remembers what it has recorded: a hot counter then costs one mark
 * commit per second instead of one per add, and on an unshared store that commit is made
 * ahead, in the background (`renewSoon`). Over-estimating lastWriteTs by a second or two
 * only keeps a counter in rollup circulation a little longer; under-estimating
 * firstWriteTs only widens a first rollup's scan. Other instances' marks only widen the
 * stored span, so what this cache knows is a safe inner bound of it, as long as the
 * namespace's rows are not dropped.
 *
 * A namespace deleted and re-created (issue 15) drops its rows, so what an instance
 * remembers must never be taken for the new namespace's marks:
 * - Every remembered span is keyed by the namespace's incarnation (`CounterConfig.incarnation`,
 *   new after a re-create): an instance that has seen the new incarnation never uses
 *   the old one's spans.
 * - An instance may not have seen it yet (its configuration is cached for up to 2 s). On a
 *   store shared by several instances, a remembered span is therefore only trusted once
 *   the store confirms it (one batched primary-key read per namespace per rollup store,
 *   no commit); a span the store no longer has is recorded again. On an unshared store the only instance
 *   is the one that deleted the namespace, and it has seen the new incarnation.
 */
import type { CounterWriteMark } from '../../domain/counters.js';
import type { StoresByKey } from '../../storage/contracts.js';
import type { CounterConfig } from '../control/types.js';
import { GroupCommitter, ResultGroupCommitter } from '../group-committer.js';

/** Granularity of recorded marks (1 s). */
export const MARK_GRANULARITY_MICROS = 1_000_000;

/**
 * How long a mutation may take to become durable before its acknowledgement needs a
 * confirmation (a claim after the commit), and how long a claim holds rollups back
 * (service.ts `writeMutation`).
 */
export const WRITE_HOLD_MICROS = 2_000_000;

/**
 * How close to the end of its recorded span a covered write renews a counter's mark, in
 * the background, one second further (unshared stores only; see {@link WriteMarks.ensure}).
 */
export const RENEW_AHEAD_MICROS = MARK_GRANULARITY_MICROS;

interface Span {
  first: number;
  last: number;
}

/** The namespace incarnation a mark belongs to. */
export interface MarkScope {
  namespace: string;
  incarnation: string;
}

/** Bounded, instance-local memory of recorded write-mark spans per counter and incarnation. */
export class WriteMarkCache {
  private readonly spans = new Map<string, Span>();

  constructor(private readonly maxEntries = 100_000) {}

  /** The marks to record before storing an event of `counter` at `time`; [] when covered. */
  needed(scope: MarkScope, counter: string, time: number): CounterWriteMark[] {
    const known = this.spans.get(key(scope, counter));
    const marks: CounterWriteMark[] = [];
    if (!known || known.first > time) marks.push(firstMark(scope.namespace, counter, time));
    if (!known || known.last < time) marks.push(lastMark(scope.namespace, counter, time));
    return marks;
  }

  /**
   * The mark that extends a span covering `time` by one more second, when the span ends
   * within RENEW_AHEAD_MICROS of `time`; undefined when not known or not ending soon.
   */
  renewal(scope: MarkScope, counter: string, time: number): CounterWriteMark | undefined {
    const known = this.spans.get(key(scope, counter));
    if (!known || known.last < time || known.last - time > RENEW_AHEAD_MICROS) return undefined;
    return { namespace: scope.namespace, counter, eventTimeMicros: known.last + MARK_GRANULARITY_MICROS };
  }

  /** Remembers marks of `scope` once their commit succeeded. */
  recorded(scope: MarkScope, marks: readonly CounterWriteMark[]): void {
    for (const m of marks) {
      const k = key(scope, m.counter);
      const known = this.spans.get(k);
      const span = known
        ? { first: Math.min(known.first, m.eventTimeMicros), last: Math.max(known.last, m.eventTimeMicros) }
        : { first: m.eventTimeMicros, last: m.eventTimeMicros };
      // Delete then set: Map order is recency, so the first key is the one to evict.
      this.spans.delete(k);
      this.spans.set(k, span);
      if (this.spans.size > this.maxEntries) {
        const oldest = this.spans.keys().next();
        if (!oldest.done) this.spans.delete(oldest.value);
      }
    }
  }

  /** Forgets every span of a namespace, whatever its incarnation (the namespace was dropped here). */
  forgetNamespace(namespace: string): void {
    const prefix = `${namespace}\u0000`;
    for (const k of this.spans.keys()) if (k.startsWith(prefix)) this.spans.delete(k);
  }

  /** Forgets what is remembered of one counter of `scope` (its stored row no longer covers it). */
  forget(scope: MarkScope, counter: string): void {
    this.spans.delete(key(scope, counter));
  }
}

/** Options of {@link WriteMarks}. */
export interface WriteMarksOptions {
  catalog: StoresByKey;
  /** Most write marks in one rollup-store commit (default 5000). */
  maxMarksPerCommit?: number;
}

/**
 * Records the write marks of unclaimed counter writes (service.ts): group committed per
 * rollup store, remembered per incarnation, confirmed against a shared store (see the
 * file header).
 */
export class WriteMarks {
  private readonly cache = new WriteMarkCache();
  private readonly committers = new Map<string, GroupCommitter<CounterWriteMark>>();
  private readonly checkers = new Map<string, ResultGroupCommitter<CounterWriteMark, boolean>>();
  /** Counters (cache keys) whose background renewal is committing. */
  private readonly renewing = new Set<string>();
  /** Bumped when a namespace is forgotten: a renewal started before must not be remembered. */
  private forgets = 0;

  constructor(private readonly options: WriteMarksOptions) {}

  /** Resolves once the counter's stored marks cover `time` (recording them if needed). */
  async ensure(config: CounterConfig, counter: string, time: number): Promise<void> {
    const scope: MarkScope = { namespace: config.name, incarnation: config.incarnation ?? '' };
    const store = config.rollup.storage.store;
    let marks = this.cache.needed(scope, counter, time);
    if (marks.length === 0) {
      if (!this.options.catalog.capabilities(store, 'rollups').shared) {
        this.renewSoon(store, scope, counter, time);
        return;
      }
      const [covered] = await this.checker(store).submit([{ namespace: config.name, counter, eventTimeMicros: time }]);
      if (covered === true) return;
      // The row is gone or narrower: the namespace was dropped (and maybe re-created) since.
      this.cache.forget(scope, counter);
      marks = this.cache.needed(scope, counter, time);
    }
    await this.committer(store).submit(marks);
    this.cache.recorded(scope, marks);
  }

  /** Forgets every remembered mark of a namespace (it was dropped by this instance). */
  forgetNamespace(namespace: string): void {
    this.forgets++;
    this.cache.forgetNamespace(namespace);
  }

  /**
   * Records the counter's next second in the background when its span ends within
   * RENEW_AHEAD_MICROS of `time` (issue 9): a hot counter's adds then find their second
   * already marked instead of each waiting, at every second boundary, for a mark commit
   * before their own. Only on an unshared store: its counters are rolled up by this
   * instance's pipeline, which re-queues a counter until its checkpoint passes the mark,
   * so a mark ahead of the last write costs at most one more rollup of an idle counter.
   * (On a shared store an add already reads its mark back; a durable rollup event finds a
   * counter caught up only if no mark is ahead of its writes.) A renewal that fails is
   * forgotten: the first add past the span records its marks itself, as before.
   */
  private renewSoon(store: string, scope: MarkScope, counter: string, time: number): void {
    const mark = this.cache.renewal(scope, counter, time);
    if (mark === undefined) return;
    const k = key(scope, counter);
    if (this.renewing.has(k)) return;
    this.renewing.add(k);
    const forgets = this.forgets;
    void this.committer(store)
      .submit([mark])
      .then(
        () => {
          if (this.forgets === forgets) this.cache.recorded(scope, [mark]);
        },
        () => undefined,
      )
      .finally(() => this.renewing.delete(k));
  }

  private committer(store: string): GroupCommitter<CounterWriteMark> {
    let committer = this.committers.get(store);
    if (!committer) {
      const rollups = this.options.catalog.rollups(store);
      committer = new GroupCommitter<CounterWriteMark>({
        maxBatchItems: this.options.maxMarksPerCommit ?? 5000,
        flush: (marks) => rollups.recordWrites(spanPerCounter(marks)),
      });
      this.committers.set(store, committer);
    }
    return committer;
  }

  /** Whether each mark's time is inside its counter's stored span: one read per counter per batch. */
  private checker(store: string): ResultGroupCommitter<CounterWriteMark, boolean> {
    let checker = this.checkers.get(store);
    if (!checker) {
      const rollups = this.options.catalog.rollups(store);
      checker = new ResultGroupCommitter<CounterWriteMark, boolean>({
        maxBatchItems: 1000,
        flush: async (marks) => {
          // The distinct counters of each namespace, read in one getMany per namespace.
          const byNamespace = new Map<string, Set<string>>();
          for (const m of marks) {
            let counters = byNamespace.get(m.namespace);
            if (!counters) byNamespace.set(m.namespace, (counters = new Set()));
            counters.add(m.counter);
          }
          const spans = new Map<string, Span | undefined>();
          await Promise.all(
            [...byNamespace].map(async ([namespace, set]) => {
              const counters = [...set];
              const rows = await rollups.getMany(namespace, counters);
              counters.forEach((c, i) => {
                const r = rows[i];
                spans.set(`${namespace}\u0000${c}`, r ? { first: r.firstWriteTsMicros, last: r.lastWriteTsMicros } : undefined);
              });
            }),
          );
          return marks.map((m) => {
            const span = spans.get(`${m.namespace}\u0000${m.counter}`);
            // firstWriteTs 0: unknown (an old row), which never narrows a rollup's scan.
            return span !== undefined && span.first <= m.eventTimeMicros && m.eventTimeMicros <= span.last;
          });
        },
      });
      this.checkers.set(store, checker);
    }
    return checker;
  }
}

function firstMark(namespace: string, counter: string, time: number): CounterWriteMark {
  return { namespace, counter, eventTimeMicros: Math.floor(time / MARK_GRANULARITY_MICROS) * MARK_GRANULARITY_MICROS };
}

function lastMark(namespace: string, counter: string, time: number): CounterWriteMark {
  return { namespace, counter, eventTimeMicros: (Math.floor(time / MARK_GRANULARITY_MICROS) + 1) * MARK_GRANULARITY_MICROS };
}

/** One mark per counter end (the earliest and the latest): fewer rows touched per commit. */
function spanPerCounter(marks: CounterWriteMark[]): CounterWriteMark[] {
  if (marks.length <= 1) return marks;
  const spans = new Map<string, { first: CounterWriteMark; last: CounterWriteMark }>();
  for (const m of marks) {
    const k = `${m.namespace}\u0000${m.counter}`;
    const seen = spans.get(k);
    if (!seen) spans.set(k, { first: m, last: m });
    else {
      if (m.eventTimeMicros < seen.first.eventTimeMicros) seen.first = m;
      if (m.eventTimeMicros > seen.last.eventTimeMicros) seen.last = m;
    }
  }
  return [...spans.values()].flatMap((s) => (s.first === s.last ? [s.first] : [s.first, s.last]));
}

function key(scope: MarkScope, counter: string): string {
  return `${scope.namespace}\u0000${scope.incarnation}\u0000${counter}`;
}
