/**
 * An index in another store than the events (issue 14 item 5, docs/timeseries.md "Index
 * and events agree"): the event store commits each event's index document into its index
 * outbox in the same atomic commit as the event (storage/index-outbox.ts); once the index
 * store has the documents, their outbox entries are cleared. A crash in between leaves the
 * entries, and {@link IndexRepair.repair} delivers them: at start-up and on every
 * lifecycle pass, on any instance sharing the event store. Indexing is idempotent (first
 * write wins), so delivering twice is harmless, and an outbox entry exists only for a
 * committed event, so no index document ever names an unstored event.
 */
import type { TimeSeriesConfig } from '../control/types.js';
import type { IndexDoc, StoresByKey } from '../../storage/contracts.js';

/** Outbox entries delivered per round trip of a repair. */
const REPAIR_PAGE = 500;

/** Decides when the outbox is used and delivers what it holds. */
export class IndexRepair {
  constructor(
    private readonly catalog: StoresByKey,
    private readonly report: (err: unknown, what: string) => void,
  ) {}

  /** True when index documents of `eventKey`'s events for `indexKey` go through the outbox. */
  usesOutbox(eventKey: string, indexKey: string): boolean {
    return !this.catalog.indexesAtomically(eventKey, indexKey) && this.catalog.capabilities(eventKey, 'events').indexOutbox === true;
  }

  /**
   * The documents reached the index: clears their outbox entries. A failure is reported,
   * not thrown (the write succeeded; the next repair clears them after re-indexing).
   */
  async delivered(eventKey: string, docs: readonly IndexDoc[]): Promise<void> {
    try {
      await this.catalog.events(eventKey).clearIndexOutbox?.(docs);
    } catch (err) {
      this.report(err, `clearing ${docs.length} delivered index outbox entries`);
    }
  }

  /** Delivers every outbox entry of the namespace to its index; returns how many. */
  async repair(config: TimeSeriesConfig): Promise<number> {
    const index = config.index;
    const eventKey = config.primary.storage.store;
    if (!index || !this.usesOutbox(eventKey, index.storage.store)) return 0;
    const events = this.catalog.events(eventKey);
    let delivered = 0;
    for (;;) {
      const docs = (await events.readIndexOutbox?.(config.name, REPAIR_PAGE)) ?? [];
      if (docs.length === 0) return delivered;
      await this.catalog.index(index.storage.store).indexEvents(docs);
      await events.clearIndexOutbox?.(docs);
      delivered += docs.length;
      if (docs.length < REPAIR_PAGE) return delivered;
    }
  }
}
