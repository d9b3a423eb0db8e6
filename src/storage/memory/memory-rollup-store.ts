/** The memory RollupStore: one row per (namespace, counter) in a Map. */
import type { CounterWriteMark, RollupAdvance, RollupCheckpoint, RollupRow, RollupStore } from '../contracts.js';
import { checkInt64, INITIAL_ROLLUP_TS_MICROS } from '../rollup-rules.js';

/** A RollupStore held in process memory. */
export class MemoryRollupStore implements RollupStore {
  private readonly namespaces = new Map<string, Map<string, RollupRow>>();

  private rows(namespace: string): Map<string, RollupRow> {
    let rows = this.namespaces.get(namespace);
    if (!rows) {
      rows = new Map();
      this.namespaces.set(namespace, rows);
    }
    return rows;
  }

  async recordWrites(marks: readonly CounterWriteMark[]): Promise<void> {
    for (const m of marks) {
      const rows = this.rows(m.namespace);
      const row = rows.get(m.counter);
      if (!row) {
        rows.set(m.counter, {
          lastRollupCount: 0n,
          lastRollupTsMicros: INITIAL_ROLLUP_TS_MICROS,
          lastWriteTsMicros: m.eventTimeMicros,
          firstWriteTsMicros: m.eventTimeMicros,
        });
      } else {
        if (m.eventTimeMicros > row.lastWriteTsMicros) row.lastWriteTsMicros = m.eventTimeMicros;
        if (row.firstWriteTsMicros !== 0 && m.eventTimeMicros < row.firstWriteTsMicros) row.firstWriteTsMicros = m.eventTimeMicros;
      }
    }
  }

  async get(namespace: string, counter: string): Promise<RollupRow | undefined> {
    const row = this.namespaces.get(namespace)?.get(counter);
    return row ? { ...row } : undefined;
  }

  async advanceMany(items: readonly RollupAdvance[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const { namespace, counter, next } of items) out.push(await this.advance(namespace, counter, next));
    return out;
  }

  async advance(namespace: string, counter: string, next: RollupCheckpoint): Promise<boolean> {
    checkInt64(next.count, 'advance');
    const rows = this.rows(namespace);
    const row = rows.get(counter);
    if (!row) {
      rows.set(counter, { lastRollupCount: next.count, lastRollupTsMicros: next.rollupTsMicros, lastWriteTsMicros: 0, firstWriteTsMicros: 0 });
      return true;
    }
    if (next.rollupTsMicros <= row.lastRollupTsMicros) return false;
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
