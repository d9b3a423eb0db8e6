/**
 * Search and aggregation over the index store (DESIGN 3.4), with opaque page tokens.
 * Eventually consistent with the primary store. One retention rule with Read (issue 14
 * item 8): the caller passes `visibleFromMicros`, the end of the newest slice that is no
 * longer readable, and nothing older is searched, counted or aggregated.
 */
import { DgwError } from '../../kernel/errors.js';
import type { IndexStore } from '../../storage/contracts.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { AggregateQuery, AggregateResult, EventPage, SearchQuery } from './api.js';
import { fingerprintOf, type PageState, type PageTokens } from './page-token.js';

function requireIndex(config: TimeSeriesConfig): NonNullable<TimeSeriesConfig['index']> {
  if (!config.index) {
    throw new DgwError(
      'FAILED_PRECONDITION',
      `namespace "${config.name}" has no INDEX_STORAGE with indexConfig.fieldMapping; search and aggregate need one`,
    );
  }
  return config.index;
}

/** One page of SearchEventRecords. */
export async function searchEvents(index: IndexStore, tokens: PageTokens, config: TimeSeriesConfig, q: SearchQuery, visibleFromMicros = 0): Promise<EventPage> {
  requireIndex(config);
  const fingerprint = fingerprintOf(['search', config.name, q.startMicros, q.endMicros, q.query]);
  const state: PageState = q.pageToken ? tokens.decode(q.pageToken, fingerprint) : { query: fingerprint, returned: 0 };
  const cap = q.totalRecordLimit > 0 ? q.totalRecordLimit : Number.MAX_SAFE_INTEGER;
  const need = Math.min(q.pageSize, cap - state.returned);
  const from = Math.max(q.startMicros, visibleFromMicros);
  if (need <= 0 || from >= q.endMicros) return { events: [], partial: false };
  const found = await index.search({
    namespace: config.name,
    query: q.query,
    fromMicros: from,
    toMicros: q.endMicros,
    ...(state.after ? { after: { eventTimeMicros: state.after.eventTimeMicros, timeSeriesId: state.after.timeSeriesId ?? '', eventId: state.after.eventId } } : {}),
    limit: need + 1,
  });
  const more = found.length > need;
  const events = more ? found.slice(0, need) : found;
  const emitted = state.returned + events.length;
  const last = events[events.length - 1];
  const page: EventPage = { events, partial: false };
  if (more && last && emitted < cap) {
    page.nextPageToken = tokens.encode({
      query: fingerprint,
      returned: emitted,
      after: { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId, timeSeriesId: last.timeSeriesId },
    });
  }
  return page;
}

/** AggregateEventRecords: distinct values with counts (paged) or a count. */
export async function aggregateEvents(
  index: IndexStore,
  tokens: PageTokens,
  config: TimeSeriesConfig,
  q: AggregateQuery,
  visibleFromMicros = 0,
): Promise<AggregateResult> {
  requireIndex(config);
  const from = Math.max(q.startMicros, visibleFromMicros);
  if (q.kind === 'count') {
    if (from >= q.endMicros) return { kind: 'count', count: 0 };
    const count = await index.count({ namespace: config.name, query: q.query, fromMicros: from, toMicros: q.endMicros });
    return { kind: 'count', count };
  }
  const fingerprint = fingerprintOf(['distinct', config.name, q.startMicros, q.endMicros, q.query, q.key]);
  const state: PageState = q.pageToken ? tokens.decode(q.pageToken, fingerprint) : { query: fingerprint, returned: 0 };
  if (from >= q.endMicros) return { kind: 'distinct', key: q.key, values: [] };
  const found = await index.distinct({
    namespace: config.name,
    key: q.key,
    query: q.query,
    fromMicros: from,
    toMicros: q.endMicros,
    ...(state.afterValue !== undefined ? { afterValue: state.afterValue } : {}),
    limit: q.pageSize + 1,
  });
  const more = found.length > q.pageSize;
  const values = more ? found.slice(0, q.pageSize) : found;
  const result: AggregateResult = { kind: 'distinct', key: q.key, values };
  const last = values[values.length - 1];
  if (more && last) result.nextPageToken = tokens.encode({ query: fingerprint, returned: state.returned + values.length, afterValue: last.text });
  return result;
}
