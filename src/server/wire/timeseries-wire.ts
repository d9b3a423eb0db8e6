/**
 * TimeSeries messages (proto/dgw/timeseries.proto) in their proto3 JSON form: decoding to
 * domain queries and encoding results. Shared by the HTTP and gRPC servers.
 */
import { z } from 'zod';
import { invalidArgument } from '../../kernel/errors.js';
import type { TimeSeriesConfig } from '../../core/control/types.js';
import type { AggregateQuery, AggregateResult, EventPage, PackedPage, PackedSearchPage, ReadQuery, SearchQuery } from '../../core/timeseries/api.js';
import { ITEM_SEPARATOR, KEY_SEPARATOR, type PackedEvents } from '../../domain/packed-events.js';
import type { TimeSeriesLimits } from '../../core/timeseries/limits.js';
import { decodeUtf8, parseIndexedText } from '../../core/timeseries/index-values.js';
import type { EventRecord } from '../../domain/events.js';
import type { SearchExpr } from '../../domain/search.js';
import { bytesField, decode, decodeBase64, idField, durationField, int32Field, throwIssues, timestampField, typeMessage, unknownKey, type Issue } from './decode.js';
import { formatTimestampMicros, parseTimestampMicros } from '../../kernel/time.js';
import { base64, hexToBase64 } from '../../domain/event-json.js';
import { findTooDeep } from '../../core/nesting.js';

/** Default pageSize when a request omits it. */
export const DEFAULT_PAGE_SIZE = 100;

const namespaceField = z.string().min(1, 'is required');

const intervalSchema = z.strictObject({ start: timestampField, end: timestampField });

const pagingSchema = (limits: TimeSeriesLimits) => ({
  pageSize: int32Field(1, limits.maxPageSize).optional(),
  totalRecordLimit: int32Field(0, 2 ** 31 - 1).optional(),
  pageToken: z.string().optional(),
});

const WRITE_KEYS: ReadonlySet<string> = new Set(['namespace', 'events']);
const EVENT_KEYS: ReadonlySet<string> = new Set(['timeSeriesId', 'eventTime', 'eventId', 'eventItems']);
const ITEM_KEYS: ReadonlySet<string> = new Set(['eventItemKey', 'eventItemValue']);

/** A decoded write request. */
export interface WriteRequest {
  namespace: string;
  events: EventRecord[];
}

/**
 * Decodes WriteEventRecords(Sync). Hand-written (the hottest decoder): the same domain
 * objects, and the same INVALID_ARGUMENT (first bad field, up to 10 details, in field
 * order) as the zod schema `{ namespace: non-empty string, events: [{ timeSeriesId,
 * eventTime: RFC 3339, eventId, eventItems: [{ eventItemKey, eventItemValue: base64 }] }] }`.
 */
export function decodeWrite(body: unknown): WriteRequest {
  if (!isPlainObject(body)) throwIssues([typeIssue('body', 'object', body)]);
  const issues: Issue[] = [];
  const extra = unknownKey(body, WRITE_KEYS);
  if (extra !== undefined) issues.push({ field: extra, reason: 'unknown field' });
  const namespace = body['namespace'];
  if (typeof namespace !== 'string') issues.push(typeIssue('namespace', 'string', namespace));
  // Like zod's min(1), which also looks at the length of a non-string (an empty array).
  const nsLength = (namespace as { length?: unknown } | null | undefined)?.length;
  if (nsLength !== undefined && !((nsLength as number) >= 1)) issues.push({ field: 'namespace', reason: 'is required' });
  const rawEvents = body['events'];
  if (!Array.isArray(rawEvents)) {
    issues.push(typeIssue('events', 'array', rawEvents));
    throwIssues(issues);
  }
  const n = rawEvents.length;
  const events = new Array<EventRecord>(n);
  for (let i = 0; i < n && issues.length < 10; i++) {
    const e: unknown = rawEvents[i];
    if (!isPlainObject(e)) {
      issues.push(typeIssue(`events[${i}]`, 'object', e));
      continue;
    }
    const extraE = unknownKey(e, EVENT_KEYS);
    if (extraE !== undefined) issues.push({ field: `events[${i}].${extraE}`, reason: 'unknown field' });
    const timeSeriesId = e['timeSeriesId'];
    if (typeof timeSeriesId !== 'string') issues.push(typeIssue(`events[${i}].timeSeriesId`, 'string', timeSeriesId));
    const eventTime = e['eventTime'];
    let eventTimeMicros: number | undefined;
    if (typeof eventTime !== 'string') issues.push(typeIssue(`events[${i}].eventTime`, 'string', eventTime));
    else {
      eventTimeMicros = parseTimestampMicros(eventTime);
      if (eventTimeMicros === undefined) {
        issues.push({ field: `events[${i}].eventTime`, reason: `invalid RFC 3339 timestamp "${eventTime.slice(0, 64)}"` });
      }
    }
    const eventId = e['eventId'];
    if (typeof eventId !== 'string') issues.push(typeIssue(`events[${i}].eventId`, 'string', eventId));
    const rawItems = e['eventItems'];
    if (!Array.isArray(rawItems)) {
      issues.push(typeIssue(`events[${i}].eventItems`, 'array', rawItems));
      continue;
    }
    const m = rawItems.length;
    const items = new Array<EventRecord['items'][number]>(m);
    for (let j = 0; j < m; j++) {
      const item: unknown = rawItems[j];
      if (!isPlainObject(item)) {
        issues.push(typeIssue(`events[${i}].eventItems[${j}]`, 'object', item));
        continue;
      }
      const extraI = unknownKey(item, ITEM_KEYS);
      if (extraI !== undefined) issues.push({ field: `events[${i}].eventItems[${j}].${extraI}`, reason: 'unknown field' });
      const key = item['eventItemKey'];
      if (typeof key !== 'string') issues.push(typeIssue(`events[${i}].eventItems[${j}].eventItemKey`, 'string', key));
      const rawValue = item['eventItemValue'];
      let value: Uint8Array | undefined;
      if (typeof rawValue !== 'string') issues.push(typeIssue(`events[${i}].eventItems[${j}].eventItemValue`, 'string', rawValue));
      else {
        value = decodeBase64(rawValue);
        if (value === undefined) issues.push({ field: `events[${i}].eventItems[${j}].eventItemValue`, reason: 'invalid base64' });
      }
      items[j] = { key: key as string, value: value! };
    }
    events[i] = { timeSeriesId: timeSeriesId as string, eventTimeMicros: eventTimeMicros!, eventId: eventId as string, items };
  }
  if (issues.length > 0) throwIssues(issues);
  return { namespace: namespace as string, events };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeIssue(field: string, expected: string, input: unknown): Issue {
  return { field, reason: typeMessage(expected, input), ...(input === undefined ? { missing: true } : {}) };
}

function checkInterval(start: number, end: number): void {
  if (start >= end) throw invalidArgument('timeInterval', 'start must be before end (the interval is start-inclusive, end-exclusive)');
}

const namespaceSchema = z.object({ namespace: namespaceField });

/** Decodes the namespace of any request (to look its configuration up first). */
export function decodeNamespace(body: unknown): string {
  return decode(namespaceSchema, body).namespace;
}

/**
 * The schemas that depend on the limits, built once per distinct limit values: building a
 * zod schema and compiling its first parse cost about a fifth of a read's CPU when it was
 * done per request (issue 9). Keyed by the values, not the object, so a limits object
 * changed after use still gets its own schemas.
 */
function schemasFor(limits: TimeSeriesLimits) {
  const key = `${limits.maxPageSize}/${limits.maxFilters}`;
  let s = schemaCache.get(key);
  if (s === undefined) {
    s = buildSchemas(limits);
    schemaCache.set(key, s);
  }
  return s;
}

function buildSchemas(limits: TimeSeriesLimits) {
  const read = z.strictObject({
    namespace: namespaceField,
    timeSeriesId: idField,
    timeInterval: intervalSchema,
    eventFilters: z
      .array(z.strictObject({ matchEventItemKey: idField, matchEventItemValue: bytesField }))
      .max(limits.maxFilters)
      .optional(),
    ...pagingSchema(limits),
    timeout: durationField.optional(),
    allowPartial: z.boolean().optional(),
  });
  const search = z.strictObject(searchBase(limits));
  const aggregate = z.strictObject({
    ...searchBase(limits),
    aggregationQuery: z.strictObject({
      distinct: z.strictObject({ eventItemKey: z.string().min(1, 'is required'), pageSize: int32Field(1, limits.maxPageSize).optional() }).optional(),
      count: z.strictObject({}).optional(),
    }),
  });
  return { read, search, aggregate };
}

const schemaCache = new Map<string, ReturnType<typeof buildSchemas>>();

/** Decodes ReadEventRecords. `nowMicros` turns a relative timeout into a deadline. */
export function decodeRead(body: unknown, limits: TimeSeriesLimits, nowMicros: number): ReadQuery & { namespace: string } {
  const schema = schemasFor(limits).read;
  const r = decode(schema, body);
  checkInterval(r.timeInterval.start, r.timeInterval.end);
  return {
    namespace: r.namespace,
    timeSeriesId: r.timeSeriesId,
    startMicros: r.timeInterval.start,
    endMicros: r.timeInterval.end,
    eventFilters: (r.eventFilters ?? []).map((f) => ({ key: f.matchEventItemKey, value: f.matchEventItemValue })),
    pageSize: r.pageSize ?? DEFAULT_PAGE_SIZE,
    totalRecordLimit: r.totalRecordLimit ?? 0,
    allowPartial: r.allowPartial ?? false,
    ...(r.pageToken ? { pageToken: r.pageToken } : {}),
    ...(r.timeout !== undefined ? { deadlineMicros: nowMicros + r.timeout } : {}),
  };
}

/** Wire form of a search query (kept loose here; checked against the field mapping below). */
const wireQuery: z.ZodType<WireQuery> = z.lazy(() =>
  z.strictObject({
    equals: z.strictObject({ eventItemKey: z.string(), eventItemValue: bytesField }).optional(),
    range: z
      .strictObject({
        eventItemKey: z.string(),
        lowerBound: z.strictObject({ eventItemValue: bytesField, inclusive: z.boolean().optional() }).optional(),
        upperBound: z.strictObject({ eventItemValue: bytesField, inclusive: z.boolean().optional() }).optional(),
      })
      .optional(),
    booleanQuery: z
      .strictObject({ searchQuery: z.array(wireQuery), operator: z.string().optional() })
      .optional(),
  }),
);

interface WireBound {
  eventItemValue: Uint8Array;
  inclusive?: boolean | undefined;
}
interface WireQuery {
  equals?: { eventItemKey: string; eventItemValue: Uint8Array } | undefined;
  range?: { eventItemKey: string; lowerBound?: WireBound | undefined; upperBound?: WireBound | undefined } | undefined;
  booleanQuery?: { searchQuery: WireQuery[]; operator?: string | undefined } | undefined;
}

/** Converts a wire query to a typed SearchExpr using the namespace's field mapping. */
function toSearchExpr(q: WireQuery, config: TimeSeriesConfig, path: string, depth: number, limits: TimeSeriesLimits, leaves: { n: number }): SearchExpr {
  const mapping = config.index?.fieldMapping ?? {};
  if (depth > limits.maxQueryDepth) throw invalidArgument(path, `nested deeper than ${limits.maxQueryDepth} levels`);
  const kinds = [q.equals, q.range, q.booleanQuery].filter((x) => x !== undefined).length;
  if (kinds !== 1) throw invalidArgument(path, 'must hold exactly one of equals, range, booleanQuery');
  const typed = (key: string, bytes: Uint8Array, at: string) => {
    const type = mapping[key];
    if (!type) throw invalidArgument(`${at}.eventItemKey`, `"${key}" is not an indexed field of namespace "${config.name}"`);
    const text = decodeUtf8(bytes);
    const value = text === undefined ? undefined : parseIndexedText(type, text);
    if (value === undefined) throw invalidArgument(`${at}.eventItemValue`, `not a valid ${type} value for field "${key}"`);
    return { type, value };
  };
  if (++leaves.n > limits.maxFilters * 4) throw invalidArgument(path, 'too many query clauses');
  if (q.equals) {
    const { value } = typed(q.equals.eventItemKey, q.equals.eventItemValue, `${path}.equals`);
    return { equals: { key: q.equals.eventItemKey, value } };
  }
  if (q.range) {
    const at = `${path}.range`;
    const key = q.range.eventItemKey;
    if (!q.range.lowerBound && !q.range.upperBound) throw invalidArgument(at, 'needs lowerBound, upperBound or both');
    const bound = (b: WireBound | undefined, name: string) => {
      if (!b) return undefined;
      const { type, value } = typed(key, b.eventItemValue, `${at}.${name}`);
      if (type === 'TEXT' || type === 'BOOLEAN') throw invalidArgument(`${at}.eventItemKey`, `range is not supported on ${type} field "${key}"`);
      return { value, inclusive: b.inclusive ?? false };
    };
    const lower = bound(q.range.lowerBound, 'lowerBound');
    const upper = bound(q.range.upperBound, 'upperBound');
    return { range: { key, ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) } };
  }
  const bq = q.booleanQuery!;
  const op = (bq.operator ?? 'AND').toUpperCase();
  const children = bq.searchQuery.map((c, i) => toSearchExpr(c, config, `${path}.booleanQuery.searchQuery[${i}]`, depth + 1, limits, leaves));
  if (children.length === 0) throw invalidArgument(`${path}.booleanQuery.searchQuery`, 'must hold at least one query');
  if (op === 'AND') return { and: children };
  if (op === 'OR') return { or: children };
  // NOT over a list: none of the clauses holds.
  if (op === 'NOT') return { not: children.length === 1 ? children[0]! : { or: children } };
  throw invalidArgument(`${path}.booleanQuery.operator`, `unknown operator "${bq.operator}" (expected AND, OR or NOT)`);
}

const searchBase = (limits: TimeSeriesLimits) => ({
  namespace: namespaceField,
  timeInterval: intervalSchema,
  searchQuery: wireQuery.optional(),
  ...pagingSchema(limits),
});

/**
 * Refuses a searchQuery nested far deeper than `maxQueryDepth` before the (recursive)
 * schema sees it: hundreds of levels would exhaust the stack. Each booleanQuery level is
 * three JSON levels (object, booleanQuery, searchQuery array); the margin leaves queries a
 * little too deep to toSearchExpr, whose message points at the exact clause.
 */
function checkQueryNesting(body: unknown, limits: TimeSeriesLimits): void {
  const query = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['searchQuery'] : undefined;
  if (findTooDeep(query, 3 * (limits.maxQueryDepth + 2) + 2) !== undefined) {
    throw invalidArgument('searchQuery', `nested deeper than ${limits.maxQueryDepth} levels`);
  }
}

/** Decodes SearchEventRecords against the namespace's configuration. */
export function decodeSearch(body: unknown, config: TimeSeriesConfig, limits: TimeSeriesLimits): SearchQuery {
  checkQueryNesting(body, limits);
  const r = decode(schemasFor(limits).search, body);
  checkInterval(r.timeInterval.start, r.timeInterval.end);
  return {
    startMicros: r.timeInterval.start,
    endMicros: r.timeInterval.end,
    query: r.searchQuery ? toSearchExpr(r.searchQuery, config, 'searchQuery', 0, limits, { n: 0 }) : { all: true },
    pageSize: r.pageSize ?? DEFAULT_PAGE_SIZE,
    totalRecordLimit: r.totalRecordLimit ?? 0,
    ...(r.pageToken ? { pageToken: r.pageToken } : {}),
  };
}

/** Decodes AggregateEventRecords against the namespace's configuration. */
export function decodeAggregate(body: unknown, config: TimeSeriesConfig, limits: TimeSeriesLimits): AggregateQuery {
  const schema = schemasFor(limits).aggregate;
  checkQueryNesting(body, limits);
  const r = decode(schema, body);
  checkInterval(r.timeInterval.start, r.timeInterval.end);
  const query = r.searchQuery ? toSearchExpr(r.searchQuery, config, 'searchQuery', 0, limits, { n: 0 }) : ({ all: true } as const);
  const { distinct, count } = r.aggregationQuery;
  if ((distinct ? 1 : 0) + (count ? 1 : 0) !== 1) throw invalidArgument('aggregationQuery', 'must hold exactly one of distinct, count');
  if (count) return { kind: 'count', startMicros: r.timeInterval.start, endMicros: r.timeInterval.end, query };
  const key = distinct!.eventItemKey;
  if (!config.index?.fieldMapping[key]) {
    throw invalidArgument('aggregationQuery.distinct.eventItemKey', `"${key}" is not an indexed field of namespace "${config.name}"`);
  }
  return {
    kind: 'distinct',
    startMicros: r.timeInterval.start,
    endMicros: r.timeInterval.end,
    query,
    key,
    pageSize: distinct!.pageSize ?? r.pageSize ?? DEFAULT_PAGE_SIZE,
    ...(r.pageToken ? { pageToken: r.pageToken } : {}),
  };
}

/** Wire form of one event. */
export interface WireEvent {
  timeSeriesId: string;
  eventTime: string;
  eventId: string;
  eventItems: { eventItemKey: string; eventItemValue: string }[];
}

/** Encodes a page of events. */
export function encodePage(page: EventPage): { events: WireEvent[]; nextPageToken?: string; partial?: true } {
  return {
    events: page.events.map((e) => ({
      timeSeriesId: e.timeSeriesId,
      eventTime: formatTimestampMicros(e.eventTimeMicros),
      eventId: e.eventId,
      eventItems: e.items.map((i) => ({ eventItemKey: i.key, eventItemValue: base64(i.value) })),
    })),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    ...(page.partial ? { partial: true as const } : {}),
  };
}

/**
 * `JSON.stringify(encodePage(page))` of a page of series `timeSeriesId` read in packed form,
 * written as one string straight from the packed events (issue 9): no wire object per event
 * and item, no byte array per value, no generic walk of the page. Ids and keys come as JSON
 * literals already; values go from hex to base64 here. test/unit/packed-events.test.ts
 * checks it against the generic encoding on seeded pages.
 */
export function encodePackedPageJson(page: PackedPage, timeSeriesId: string): string {
  // The events' wire JSON texts, joined already (domain/event-json.ts).
  if ('text' in page.events) return `{"events":[${page.events.text}${pageTail(page.nextPageToken, page.partial)}}`;
  const series = JSON.stringify(timeSeriesId);
  return packedPageJson(page.events, () => series, page.nextPageToken, page.partial);
}

/**
 * `JSON.stringify(encodePage(page))` of a SearchEventRecords page in packed form, as
 * {@link encodePackedPageJson} writes a read page; each event's series comes as a JSON literal.
 */
export function encodePackedSearchPageJson(page: PackedSearchPage): string {
  // The events' wire JSON texts, joined already (domain/event-json.ts).
  if ('text' in page.events) return `{"events":[${page.events.text}${pageTail(page.nextPageToken, page.partial)}}`;
  const series = page.events.series;
  return packedPageJson(page.events, (i) => series[i]!, page.nextPageToken, page.partial);
}

/** The answer text of packed events; `seriesOf(i)` is event i's series as a JSON literal. */
function packedPageJson(events: PackedEvents, seriesOf: (i: number) => string, nextPageToken: string | undefined, partial: boolean): string {
  const { times, ids, items } = events;
  // One piece per event, joined once: a flat string, not a rope of every piece.
  const parts: string[] = new Array<string>(times.length);
  for (let i = 0; i < times.length; i++) {
    let event = `{"timeSeriesId":${seriesOf(i)},"eventTime":"${formatTimestampMicros(times[i]!)}","eventId":${ids[i]!},"eventItems":[`;
    const text = items[i]!;
    let at = 0;
    while (at < text.length) {
      const key = text.indexOf(KEY_SEPARATOR, at);
      let end = text.indexOf(ITEM_SEPARATOR, key + 1);
      if (end < 0) end = text.length;
      if (at > 0) event += ',';
      event += `{"eventItemKey":${text.slice(at, key)},"eventItemValue":"${hexToBase64(text, key + 1, end)}"}`;
      at = end + 1;
    }
    parts[i] = `${event}]}`;
  }
  return `{"events":[${parts.join(',')}${pageTail(nextPageToken, partial)}}`;
}

/** What follows a page's events: `]`, the token, the partial flag. */
function pageTail(nextPageToken: string | undefined, partial: boolean): string {
  let tail = ']';
  if (nextPageToken) tail += `,"nextPageToken":${JSON.stringify(nextPageToken)}`;
  if (partial) tail += ',"partial":true';
  return tail;
}

/** Encodes an aggregation result. */
export function encodeAggregate(result: AggregateResult): Record<string, unknown> {
  if (result.kind === 'count') return { count: String(result.count) };
  return {
    distinct: {
      eventItemKey: result.key,
      values: result.values.map((v) => ({ eventItemValue: Buffer.from(v.text, 'utf8').toString('base64'), count: String(v.count) })),
      ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
    },
  };
}
