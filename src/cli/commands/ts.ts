/**
 * `dgw ts write|read|search|aggregate`: the TimeSeries data plane over HTTP. Reads page
 * through every page (nextPageToken) and print one JSON object per line; `write` takes
 * JSON lines (one event per line) from `--file` or stdin and sends them in batches with
 * WriteEventRecordsSync, so every event reported written is durable.
 */
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { UsageError, type Command, type CommandContext } from '../command.js';
import { DgwHttpClient, URL_OPTION } from '../http-client.js';
import { jsonLines, openInput } from '../input.js';
import { ProgressBar } from '../progress-bar.js';

const intervalOptions = {
  start: { type: 'string', value: 'TIME', description: 'interval start, RFC 3339 (default 1970-01-01T00:00:00Z)' },
  end: { type: 'string', value: 'TIME', description: 'interval end, RFC 3339 (default: an hour from now)' },
} as const;
const pagingOptions = {
  limit: { type: 'string', value: 'N', description: 'stop after N results (default: all)' },
  'page-size': { type: 'string', value: 'N', description: 'results per request (default: the server\'s)' },
} as const;

function interval(ctx: CommandContext): { start: string; end: string } {
  return {
    start: (ctx.values.start as string | undefined) ?? '1970-01-01T00:00:00Z',
    end: (ctx.values.end as string | undefined) ?? new Date(Date.now() + 3_600_000).toISOString(),
  };
}

function positiveInt(ctx: CommandContext, name: string): number | undefined {
  const raw = ctx.values[name] as string | undefined;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: "${raw}" is not a positive integer`);
  return n;
}

function jsonOption(ctx: CommandContext, name: string): unknown {
  const raw = ctx.values[name] as string | undefined;
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--${name}: not JSON (${(err as Error).message})`);
  }
}

/**
 * Calls a paged method until the last page (or `limit` results), writing each result
 * as a JSON line; `pick` extracts the results and the next token of one answer.
 */
async function pageThrough(
  ctx: CommandContext,
  method: string,
  body: Record<string, unknown>,
  pick: (answer: Record<string, unknown>) => { items: unknown[]; next?: string | undefined },
): Promise<number> {
  const client = new DgwHttpClient(ctx.values.url as string | undefined);
  const limit = positiveInt(ctx, 'limit') ?? Infinity;
  const pageSize = positiveInt(ctx, 'page-size');
  let printed = 0;
  let pageToken: string | undefined;
  do {
    const answer = await client.call('POST', `/v1/timeseries/${method}`, {
      ...body,
      ...(pageSize !== undefined ? { pageSize } : {}),
      ...(pageToken !== undefined ? { pageToken } : {}),
    });
    const { items, next } = pick(answer);
    for (const item of items) {
      if (printed >= limit) return 0;
      // A slower reader holds the next page back instead of the CLI buffering every page.
      if (!ctx.stdout.write(JSON.stringify(item) + '\n')) await once(ctx.stdout, 'drain');
      printed++;
    }
    pageToken = next;
  } while (pageToken && printed < limit);
  return 0;
}

const events = (a: Record<string, unknown>) => ({ items: (a.events as unknown[] | undefined) ?? [], next: a.nextPageToken as string | undefined });

/** The `ts` commands. */
export const tsCommands: Command[] = [
  {
    name: 'ts write',
    summary: 'Writes events from JSON lines (one event per line) durably, in batches; a progress bar on a terminal.',
    args: '<namespace>',
    required: 1,
    options: {
      file: { type: 'string', short: 'f', value: 'FILE', description: 'JSON-lines file of events (default: stdin)' },
      batch: { type: 'string', value: 'N', description: 'events per request (default 500; the server takes up to 1000)' },
      url: URL_OPTION,
    },
    details:
      'Each line: {"timeSeriesId":"p1","eventTime":"2026-01-01T00:00:00Z","eventId":"e1","eventItems":[{"eventItemKey":"k","eventItemValue":"<base64>"}]}\n' +
      'A rejected batch stops the import; the lines before it are written, the message names the lines.',
    async run(ctx) {
      const ns = ctx.positionals[0]!;
      const client = new DgwHttpClient(ctx.values.url as string | undefined);
      const batchSize = positiveInt(ctx, 'batch') ?? 500;
      const file = ctx.values.file as string | undefined;
      const total = file !== undefined && file !== '-' ? statSync(file).size : 0;
      const bar = new ProgressBar(ctx.stderr, total, 'events');
      const started = Date.now();
      let batch: unknown[] = [];
      let firstLine = 0;
      let lastLine = 0;
      let written = 0;
      let bytes = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        try {
          await client.call('POST', '/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: batch });
        } catch (err) {
          bar.done();
          throw new Error(`lines ${firstLine}-${lastLine} rejected (${written} events written before them): ${(err as Error).message}`);
        }
        written += batch.length;
        batch = [];
        bar.update(bytes, written);
      };
      for await (const { value, line, bytes: read } of jsonLines(openInput(file, ctx.stdin))) {
        if (batch.length === 0) firstLine = line;
        batch.push(value);
        lastLine = line;
        bytes = read;
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      bar.update(total, written, true);
      bar.done();
      const seconds = (Date.now() - started) / 1000;
      ctx.stderr.write(`wrote ${written} events to "${ns}" in ${seconds.toFixed(1)} s\n`);
      return 0;
    },
  },
  {
    name: 'ts read',
    summary: 'Reads one time series, newest first, every page; one event per line.',
    args: '<namespace> <timeSeriesId>',
    required: 2,
    options: {
      ...intervalOptions,
      filter: { type: 'string', multiple: true, value: 'KEY=BASE64', description: 'keep events having this item (eventFilters)' },
      ...pagingOptions,
      url: URL_OPTION,
    },
    async run(ctx) {
      const filters = ((ctx.values.filter as string[] | undefined) ?? []).map((f) => {
        const eq = f.indexOf('=');
        if (eq <= 0) throw new UsageError(`--filter: "${f}" is not KEY=BASE64VALUE`);
        return { matchEventItemKey: f.slice(0, eq), matchEventItemValue: f.slice(eq + 1) };
      });
      return pageThrough(
        ctx,
        'ReadEventRecords',
        { namespace: ctx.positionals[0], timeSeriesId: ctx.positionals[1], timeInterval: interval(ctx), ...(filters.length ? { eventFilters: filters } : {}) },
        events,
      );
    },
  },
  {
    name: 'ts search',
    summary: 'Searches a namespace\'s index, every page; one event per line.',
    args: '<namespace>',
    required: 1,
    options: { ...intervalOptions, query: { type: 'string', short: 'q', value: 'JSON', description: 'searchQuery (docs/timeseries.md); default: everything' }, ...pagingOptions, url: URL_OPTION },
    details: 'example: dgw ts search demo -q \'{"equals":{"eventItemKey":"deviceType","eventItemValue":"aW9z"}}\' (values in base64)',
    async run(ctx) {
      const query = jsonOption(ctx, 'query');
      return pageThrough(ctx, 'SearchEventRecords', { namespace: ctx.positionals[0], timeInterval: interval(ctx), ...(query !== undefined ? { searchQuery: query } : {}) }, events);
    },
  },
  {
    name: 'ts aggregate',
    summary: 'Counts matching events (--count) or lists distinct values of an indexed field with counts, every page.',
    args: '<namespace>',
    required: 1,
    options: {
      distinct: { type: 'string', value: 'FIELD', description: 'distinct values of this indexed field, one per line' },
      count: { type: 'boolean', description: 'the number of matching events' },
      ...intervalOptions,
      query: { type: 'string', short: 'q', value: 'JSON', description: 'searchQuery; default: everything' },
      ...pagingOptions,
      url: URL_OPTION,
    },
    async run(ctx) {
      const distinct = ctx.values.distinct as string | undefined;
      if ((distinct !== undefined) === Boolean(ctx.values.count)) throw new UsageError('give exactly one of --distinct FIELD, --count');
      const query = jsonOption(ctx, 'query');
      const body = { namespace: ctx.positionals[0], timeInterval: interval(ctx), ...(query !== undefined ? { searchQuery: query } : {}) };
      if (distinct === undefined) {
        const client = new DgwHttpClient(ctx.values.url as string | undefined);
        const answer = await client.call('POST', '/v1/timeseries/AggregateEventRecords', { ...body, aggregationQuery: { count: {} } });
        ctx.stdout.write(JSON.stringify({ count: answer.count }) + '\n');
        return 0;
      }
      return pageThrough(ctx, 'AggregateEventRecords', { ...body, aggregationQuery: { distinct: { eventItemKey: distinct } } }, (a) => {
        const d = a.distinct as { values?: { eventItemValue: string; count: string }[]; nextPageToken?: string } | undefined;
        const items = (d?.values ?? []).map((v) => ({ ...v, text: Buffer.from(v.eventItemValue, 'base64').toString('utf8') }));
        return { items, next: d?.nextPageToken };
      });
    },
  },
];
