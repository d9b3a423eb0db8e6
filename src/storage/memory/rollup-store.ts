/** The memory RollupStore: one row per (namespace, counter) in a Map. */
import type { Clock } from '../../kernel/clock.js';
import type { CounterWriteMark, RollupAdvance, RollupCheckpoint, RollupRead, RollupRow, RollupStore } from '../contracts.js';
import { checkInt64, INITIAL_ROLLUP_TS_MICROS } from '../rollup-rules.js';

interface Row extends RollupRow {
  holdTsMicros: number;
  holdUntilMicros: number;
}

/** A RollupStore held in process memory; holds run on `clock` (the process clock by default). */
export class MemoryRollupStore implements RollupStore {
  private readonly namespaces = new Map<string, Map<string, Row>>();

  constructor(private readonly clock: Pick<Clock, 'nowMicros'> = { nowMicros: () => Date.now() * 1000 }) {}

  private rows(namespace: string): Map<string, Row> {
    let rows = this.namespaces.get(namespace);
    if (!rows) {
      rows = new Map();
      this.namespaces.set(namespace, rows);
    }
    return rows;
  }

  private mark(m: CounterWriteMark): Row {
    const rows = this.rows(m.namespace);
    const row = rows.get(m.counter);
    if (!row) {
      const fresh: Row = {
        lastRollupCount: 0n,
        lastRollupTsMicros: INITIAL_ROLLUP_TS_MICROS,
        lastWriteTsMicros: m.eventTimeMicros,
        firstWriteTsMicros: m.eventTimeMicros,
        holdTsMicros: 0,
        holdUntilMicros: 0,
      };
      rows.set(m.counter, fresh);
      return fresh;
    }
    if (m.eventTimeMicros > row.lastWriteTsMicros) row.lastWriteTsMicros = m.eventTimeMicros;
    if (row.firstWriteTsMicros !== 0 && m.eventTimeMicros < row.firstWriteTsMicros) row.firstWriteTsMicros = m.eventTimeMicros;
    return row;
  }

  async recordWrites(marks: readonly CounterWriteMark[]): Promise<void> {
    for (const m of marks) this.mark(m);
  }

  async claimWrites(marks: readonly CounterWriteMark[], holdMicros: number): Promise<boolean[]> {
    const now = this.clock.nowMicros();
    return marks.map((m) => {
      const existing = this.namespaces.get(m.namespace)?.get(m.counter);
      if (existing && existing.lastRollupTsMicros >= m.eventTimeMicros) return false;
      const row = this.mark(m);
      row.holdTsMicros = row.holdUntilMicros > now ? Math.min(row.holdTsMicros, m.eventTimeMicros) : m.eventTimeMicros;
      row.holdUntilMicros = Math.max(row.holdUntilMicros, now + holdMicros);
      return true;
    });
  }

  async get(namespace: string, counter: string): Promise<RollupRow | undefined> {
    const row = this.namespaces.get(namespace)?.get(counter);
    if (!row) return undefined;
    const { lastRollupCount, lastRollupTsMicros, lastWriteTsMicros, firstWriteTsMicros } = row;
    return { lastRollupCount, lastRollupTsMicros, lastWriteTsMicros, firstWriteTsMicros };
  }

  getMany(namespace: string, counters: readonly string[]): Promise<(RollupRow | undefined)[]> {
    return Promise.all(counters.map((c) => this.get(namespace, c)));
  }

  async readForRollup(namespace: string, counter: string): Promise<RollupRead | undefined> {
    const row = this.namespaces.get(namespace)?.get(counter);
    return row ? { ...row, readAtMicros: this.clock.nowMicros() } : undefined;
  }

  async advanceMany(items: readonly RollupAdvance[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const { namespace, counter, next, readAtMicros, firstWriteTsMicros } of items) {
      out.push(await this.advance(namespace, counter, next, readAtMicros, firstWriteTsMicros));
    }
    return out;
  }

  async advance(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros?: number, firstWriteTsMicros?: number): Promise<boolean> {
    checkInt64(next.count, 'advance');
    const rows = this.rows(namespace);
    const row = rows.get(counter);
    if (!row && readAtMicros !== undefined) return false; // dropped since the rollup read it
    if (!row) {
      rows.set(counter, {
        lastRollupCount: next.count,
        lastRollupTsMicros: next.rollupTsMicros,
        lastWriteTsMicros: 0,
        firstWriteTsMicros: 0,
        holdTsMicros: 0,
        holdUntilMicros: 0,
      });
      return true;
    }
    if (next.rollupTsMicros <= row.lastRollupTsMicros) return false;
    if (firstWriteTsMicros !== undefined && row.firstWriteTsMicros !== firstWriteTsMicros) return false;
    if (readAtMicros !== undefined && row.holdUntilMicros > readAtMicros && row.holdTsMicros <= next.rollupTsMicros) return false;
    row.lastRollupCount = next.count;
    row.lastRollupTsMicros = next.rollupTsMicros;
    return true;
  }

  async laggingCounters(namespace: string, afterCounter: string, limit: number): Promise<string[]> {
    const rows = this.namespaces.get(namespace);
    if (!rows) return [];
    const names: string[] = [];
    for (const [counter, row] of rows) {
      if (counter > afterCounter && row.lastWriteTsMicros > row.lastRollupTsMicros) names.push(counter);
    }
    return names.sort().slice(0, limit);
  }

  async dropNamespace(namespace: string): Promise<void> {
    this.namespaces.delete(namespace);
  }
}
