/**
 * The durable rollup queue (a storage contract; core sees it through contracts.ts) (DESIGN 4.5, second bullet): a work queue of
 * rollup events `{namespace, counter}` shared by every instance of a deployment, so one
 * instance rolls up a counter per coalesce window instead of every instance that touched
 * it. The adapter (NATS JetStream in storage/nats) delivers each event to one consumer
 * and redelivers it when that consumer dies before acknowledging.
 *
 * Events are hints: the write mark (`lastWriteTs`) stays the truth, so a lost or refused
 * publish only delays a rollup until the in-process fallback or the sweeper picks it up.
 */

/** One rollup event. */
export interface RollupEvent {
  namespace: string;
  counter: string;
  /**
   * Epoch ms before which the event is not handed to a handler (the end of its coalesce
   * window): the bus holds it until then. Absent: at once.
   */
  notBeforeMs?: number;
  /**
   * Epoch µs at or before which every write that published this event has its time (the
   * end of its coalesce window, less 1 µs): a consumer that finds the counter's checkpoint
   * there already has nothing of this event left to roll up. Absent: unknown.
   */
  coversMicros?: number;
}

/** What the handler of a delivered event reports. */
export type RollupOutcome =
  /** The rollup's checkpoint is committed: acknowledge the event. */
  | 'done'
  /** Not caught up (writes past the new checkpoint) or failed: deliver it again later. */
  | 'retry';

/** Facts about one delivery, for metrics. */
export interface RollupDelivery {
  /**
   * True when this event was delivered to a handler's instance before and not handled to
   * the end (a consumer died holding it, or its handler asked for a retry). An event the
   * bus gave back because it was not yet due (deferred) is not redelivered on its return.
   */
  redelivered: boolean;
}

/** Counts a bus keeps since it started (for the Prometheus metrics). */
export interface RollupBusStats {
  published: number;
  /** Publishes the bus refused as duplicates of the same counter in the same window. */
  duplicates: number;
  acknowledged: number;
  /** Deliveries of events delivered before and not handled to the end (see {@link RollupDelivery.redelivered}). */
  redelivered: number;
  /** Events this instance gave back to the stream because they were not yet due (a delayed return, not a failure). */
  deferred: number;
  /** Events on the stream not yet delivered, and delivered but not acknowledged (last poll). */
  pending: number;
  ackPending: number;
}

/** A shared, durable work queue of rollup events. */
export interface RollupBus {
  /**
   * Publishes a rollup event for the coalesce window `windowIndex`
   * (`floor(now / coalesce)`): a second publish of the same counter in the same window is
   * dropped by the bus. Rejects when the bus cannot take it (the caller falls back to the
   * in-process queue).
   */
  publish(event: RollupEvent, windowIndex: number): Promise<void>;
  /**
   * Starts consuming: each delivered event is handed to `handler` and acknowledged only
   * after it resolves 'done'. At most `concurrency` events are handled at once.
   */
  start(handler: (event: RollupEvent, delivery: RollupDelivery) => Promise<RollupOutcome>): void;
  /** True while the bus is connected (publishes are expected to succeed). */
  readonly connected: boolean;
  stats(): RollupBusStats;
  /** Stops consuming (unacknowledged events are redelivered to others) and disconnects. */
  close(): Promise<void>;
}
