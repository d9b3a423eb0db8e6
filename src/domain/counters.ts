/**
 * Domain types of the Counter abstraction (DESIGN 4): a rollup checkpoint (count and
 * time moved together) and the mark a counter write leaves. Core and storage both speak them.
 */
/** A rollup result: count and checkpoint, always moved together. */
export interface RollupCheckpoint {
  count: bigint;
  rollupTsMicros: number;
}

/** Records that a counter received a write at `eventTimeMicros`. */
export interface CounterWriteMark {
  namespace: string;
  counter: string;
  eventTimeMicros: number;
}
