/**
 * The index outbox (issue 14 item 5, index in another store than the events): when an
 * event's index lives in a different store, the event store commits the event's index
 * document into its own outbox in the same atomic commit as the event, the engine then
 * writes the document to the index store and clears the outbox entry. After a crash
 * between the two, a repair pass re-delivers what the outbox still holds (indexing is
 * idempotent: first write wins). So an index document never names an unstored event,
 * and a stored event is indexed within the repair bound (docs/timeseries.md).
 *
 * Entries are keyed by the event's identity in its namespace; the document is kept as
 * JSON text (item values in base64).
 */
import type { IndexDoc } from '../domain/search.js';

/** The identity of an outbox entry (an event of a namespace). */
export interface OutboxKey {
  namespace: string;
  eventTimeMicros: number;
  timeSeriesId: string;
  eventId: string;
}

/** The key of the entry holding `doc`. */
export function outboxKeyOf(doc: IndexDoc): OutboxKey {
  return { namespace: doc.namespace, eventTimeMicros: doc.event.eventTimeMicros, timeSeriesId: doc.event.timeSeriesId, eventId: doc.event.eventId };
}

interface StoredDoc {
  n: string;
  t: number;
  s: string;
  e: string;
  i: [string, string][];
  f: IndexDoc['fields'];
}

/** An index document as outbox text. */
export function encodeOutboxDoc(doc: IndexDoc): string {
  const stored: StoredDoc = {
    n: doc.namespace,
    t: doc.event.eventTimeMicros,
    s: doc.event.timeSeriesId,
    e: doc.event.eventId,
    i: doc.event.items.map((item) => [item.key, Buffer.from(item.value.buffer, item.value.byteOffset, item.value.byteLength).toString('base64')]),
    f: doc.fields,
  };
  return JSON.stringify(stored);
}

/** The index document of outbox text written by {@link encodeOutboxDoc}. */
export function decodeOutboxDoc(text: string): IndexDoc {
  const d = JSON.parse(text) as StoredDoc;
  return {
    namespace: d.n,
    event: { timeSeriesId: d.s, eventTimeMicros: d.t, eventId: d.e, items: d.i.map(([key, value]) => ({ key, value: Buffer.from(value, 'base64') })) },
    fields: d.f,
  };
}
