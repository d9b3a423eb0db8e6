/**
 * Search and aggregation over the index store (DESIGN 3.4), with opaque page tokens.
 * Eventually consistent with the primary store. One retention rule with Read (issue 14
 * item 8): the caller passes `visibleFromMicros`, the end of the newest slice that is no
 * longer readable, and nothing older is searched, counted or aggregated.
 */
import { DgwError } from '../../kernel/errors.js';
import type { EventRecord } from '../../domain/events.js';
import { emptyJoinedJson, eventJsonPosition, joinedEventText, truncateJoinedJson, type JoinedEventJson } from '../../domain/event-json.js';
import { emptyPackedSeries, packedSeriesPosition, truncatePacked, type PackedSeriesEvents } from '../../domain/packed-events.js';
import type { IndexSearch, IndexStore, SearchPosition } from '../../storage/contracts.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { AggregateQuery, AggregateResult, EventPage, PackedSearchPage, SearchQuery } from './api.js';
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

/**
 * How a search page is collected: as records, or packed (issue 9). The paging below is the
 * same for both; only the index call and the position of the last event differ.
 */
interface SearchForm<P> {
  find(search: IndexSearch): Promise<P>;
  size(p: P): number;
  truncate(p: P, n: number): void;
  position(p: P, i: number): SearchPosition;
}

/** One page of SearchEventRecords. */
export async function searchEvents(index: IndexStore, tokens: PageTokens, config: TimeSeriesConfig, q: SearchQuery, visibleFromMicros = 0): Promise<EventPage> {
  const form: SearchForm<EventRecord[]> = {
    find: (s) => index.search(s),
    size: (p) => p.length,
    truncate: (p, n) => {
      p.length = n;
    },
    position: (p, i) => ({ eventTimeMicros: p[i]!.eventTimeMicros, timeSeriesId: p[i]!.timeSeriesId, eventId: p[i]!.eventId }),
  };
  return searchPage(index, tokens, config, q, visibleFromMicros, form, []);
}

/**
 * {@link searchEvents} in packed form: the same page, token and errors, without an object
 * per event (issue 9). Undefined when the index store has no packed search.
 */
export async function searchEventsPacked(
  index: IndexStore,
  tokens: PageTokens,
  config: TimeSeriesConfig,
  q: SearchQuery,
  visibleFromMicros = 0,
): Promise<PackedSearchPage | undefined> {
  const searchJson = index.searchJson?.bind(index);
  if (searchJson) {
    const texts: SearchForm<JoinedEventJson> = {
      find: searchJson,
      size: (p) => p.ends.length,
      truncate: truncateJoinedJson,
      position: (p, i) => eventJsonPosition(joinedEventText(p, i)),
    };
    return searchPage(index, tokens, config, q, visibleFromMicros, texts, emptyJoinedJson());
  }
  const searchPacked = index.searchPacked?.bind(index);
  if (!searchPacked) return undefined;
  const form: SearchForm<PackedSeriesEvents> = {
    find: searchPacked,
    size: (p) => p.times.length,
    truncate: (p, n) => {
      p.series.length = n;
      truncatePacked(p, n);
    },
    position: packedSeriesPosition,
  };
  return searchPage(index, tokens, config, q, visibleFromMicros, form, emptyPackedSeries());
}

async function searchPage<P>(
  index: IndexStore,
  tokens: PageTokens,
  config: TimeSeriesConfig,
  q: SearchQuery,
  visibleFromMicros: number,
  form: SearchForm<P>,
  empty: P,
): Promise<{ events: P; partial: false; nextPageToken?: string }> {
  requireIndex(config);
  const fingerprint = fingerprintOf(['search', config.name, q.startMicros, q.endMicros, q.query]);
  const state: PageState = q.pageToken ? tokens.decode(q.pageToken, fingerprint) : { query: fingerprint, returned: 0 };
  const cap = q.totalRecordLimit > 0 ? q.totalRecordLimit : Number.MAX_SAFE_INTEGER;
  const need = Math.min(q.pageSize, cap - state.returned);
  const from = Math.max(q.startMicros, visibleFromMicros);
  if (need <= 0 || from >= q.endMicros) return { events: empty, partial: false };
  const events = await form.find({
    namespace: config.name,
    query: q.query,
    fromMicros: from,
    toMicros: q.endMicros,
    ...(state.after ? { after: { eventTimeMicros: state.after.eventTimeMicros, timeSeriesId: state.after.timeSeriesId ?? '', eventId: state.after.eventId } } : {}),
    limit: need + 1,
  });
  const more = form.size(events) > need;
  if (more) form.truncate(events, need);
  const count = form.size(events);
  const emitted = state.returned + count;
  const page: { events: P; partial: false; nextPageToken?: string } = { events, partial: false };
  if (more && count > 0 && emitted < cap) {
    page.nextPageToken = tokens.encode({ query: fingerprint, returned: emitted, after: form.position(events, count - 1) });
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
