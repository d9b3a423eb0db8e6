/**
 * DgwClient: typed methods for every dgw operation (the nine data-plane calls and
 * namespace management) over HTTP, with a deadline per call, safe retries, SLO-based
 * hedging across instances, partial reads and page iterators (DESIGN 3.5, docs/client.md).
 * Runs on Node 20 and in browsers: fetch, AbortController, Web Crypto, no Node modules.
 */
import { CallRunner, type BackoffOptions, type CallEvent, type CallPlan } from './call-runner.js';
import {
  decodeAggregate,
  decodeCompare,
  decodeCount,
  decodeCounterLog,
  decodeRecount,
  decodePage,
  encodeAddCount,
  encodeAggregate,
  encodeClearCount,
  encodeCompareCounts,
  encodeGetCount,
  encodeReadCounterLog,
  encodeRecountCount,
  encodeRead,
  encodeSearch,
  encodeWrite,
  type Json,
} from './codec.js';
import { DgwClientError } from './errors.js';
import { createHttpTransport, type FetchLike, type HttpMethod, type Transport } from './http-transport.js';
import { newToken } from './ids.js';
import { HTTP_ROUTES } from './wire.gen.js';
import { NamespaceInfoCache, type NamespaceInfo, type NamespaceOverrides } from './namespace-info.js';
import type {
  AddCountRequest,
  AggregateEventRecordsRequest,
  AggregateEventRecordsResponse,
  ClearCountRequest,
  CompareCountsRequest,
  CompareCountsResponse,
  CounterLogPage,
  EventPage,
  GetCountRequest,
  IdempotencyToken,
  NamespaceKind,
  NamespaceView,
  PutNamespaceResponse,
  ReadCounterLogRequest,
  ReadEventRecordsRequest,
  RecountCountRequest,
  RecountCountResponse,
  SearchEventRecordsRequest,
  WriteEventRecordsRequest,
} from './types.js';

/** Options of {@link DgwClient}. */
export interface DgwClientOptions {
  /** One or more dgw instances (`http://host:port`); retries and hedges go to the next one. */
  baseUrls: string | readonly string[];
  /** Bearer token sent as `Authorization`. */
  token?: string;
  /** Request priority 1-100 sent as `x-dgw-priority` (DESIGN 8). */
  priority?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: FetchLike;
  /** Deadline of a data-plane call when neither the call nor an SLO sets one; default 10 s. */
  defaultDeadlineMs?: number;
  /** Deadline of a namespace-management call; default 60 s (a delete drops all data). */
  controlDeadlineMs?: number;
  /** Bound on one attempt; default none (an attempt may use the whole deadline; hedges cover slow ones). */
  attemptTimeoutMs?: number;
  /** Attempts per call, hedges included; default 4. */
  maxAttempts?: number;
  /** Hedges per call; default 1. */
  maxHedges?: number;
  /** Backoff between retries; default 50 ms doubling up to 2 s, full jitter. */
  backoff?: Partial<BackoffOptions>;
  /** Hedge at the SLO target; default true. */
  hedging?: boolean;
  /** How long an instance that failed or was hedged around starts no call; default 3000 ms. */
  instanceCooldownMs?: number;
  /** Fetch namespaces for their SLOs and counter type; default true. */
  fetchNamespaceInfo?: boolean;
  /** How long fetched namespace info is used before a background refresh; default 60 s. */
  namespaceInfoTtlMs?: number;
  /** Per-namespace SLOs and counter types that need no fetch (and win over fetched ones). */
  namespaces?: Readonly<Record<string, NamespaceOverrides>>;
  /** Called on every attempt, failure, answer and give-up. */
  onEvent?: (event: CallEvent) => void;
  /** Uniform [0, 1) for backoff jitter; injectable for tests. */
  random?: () => number;
  /** A custom transport (default: HTTP over fetch). */
  transport?: Transport;
}

/** Options of one call. */
export interface CallOptions {
  /** Give-up time in ms; default the endpoint's SLO max, else the client default. */
  deadlineMs?: number;
  /** Cancels the call (rejects CANCELLED). */
  signal?: AbortSignal;
  /** Hedge after this long; `false` for no hedge; default the SLO target. */
  hedgeAfterMs?: number | false;
  /** Bound on one attempt (then retried); default the client's. */
  attemptTimeoutMs?: number;
  /** Attempts in all; default the client's. */
  maxAttempts?: number;
}

/** Options of a read. */
export interface ReadOptions extends CallOptions {
  /**
   * At the deadline, answer with what came back (newest first, `partial: true`) instead
   * of DEADLINE_EXCEEDED. Default false.
   */
  allowPartial?: boolean;
}

/** Options of a walk over every page. */
export interface ReadAllOptions extends ReadOptions {
  /** Called after each page arrives (progress, or to stop early by aborting `signal`). */
  onPage?: (page: EventPage) => void | Promise<void>;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 2000, multiplier: 2 };

/** Time kept back from a read's budget so the server's partial page arrives before we give up. */
function serverMarginMs(budgetMs: number): number {
  return Math.min(50, budgetMs / 10);
}

/** The namespace-management operations (one path per kind). */
type NamespaceOperation = 'PutNamespace' | 'GetNamespace' | 'ListNamespaces' | 'DeleteNamespace';

/** The data-plane operations (one path each). */
type DataOperation = Exclude<keyof typeof HTTP_ROUTES, NamespaceOperation>;

/** The path of a data-plane operation, from the operation table (wire.gen.ts). */
function dataPath(operation: DataOperation): string {
  return HTTP_ROUTES[operation].paths[0];
}

/** The path of a namespace operation for `kind` (and the namespace `name`), from the operation table. */
function namespacePath(operation: NamespaceOperation, kind: NamespaceKind, name?: string): string {
  const paths: readonly string[] = HTTP_ROUTES[operation].paths;
  const path = paths.find((p) => p.startsWith(`/v1/${kind}/`));
  if (path === undefined) throw new DgwClientError('INVALID_ARGUMENT', `kind: ${JSON.stringify(kind)} is not a namespace kind (timeseries, counter)`);
  return name === undefined ? path : path.replace('{namespace}', encodeURIComponent(name));
}

/** A dgw client. */
export class DgwClient {
  private readonly runner: CallRunner;
  private readonly transport: Transport;
  private readonly info: NamespaceInfoCache;
  private readonly baseUrls: readonly string[];

  constructor(private readonly options: DgwClientOptions) {
    this.baseUrls = typeof options.baseUrls === 'string' ? [options.baseUrls] : [...options.baseUrls];
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.priority !== undefined) headers['x-dgw-priority'] = String(options.priority);
    this.transport = options.transport ?? createHttpTransport({ headers, ...(options.fetch ? { fetch: options.fetch } : {}) });
    this.runner = new CallRunner({
      baseUrls: this.baseUrls,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      ...(options.random ? { random: options.random } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.instanceCooldownMs === undefined ? {} : { instanceCooldownMs: options.instanceCooldownMs }),
    });
    this.info = new NamespaceInfoCache({
      enabled: options.fetchNamespaceInfo ?? true,
      ttlMs: options.namespaceInfoTtlMs ?? 60_000,
      overrides: options.namespaces ?? {},
      now: () => performance.now(),
      // Short and hedged: a stopped instance must not hold the first call of a namespace.
      fetch: (kind, name) => this.getNamespace(kind, name, { deadlineMs: 3000, hedgeAfterMs: 300 }),
    });
  }

  // ---- TimeSeries ----

  /** WriteEventRecordsSync: resolves once the events are durable. Events without an eventId get one (kept across retries). */
  async writeEventRecordsSync(request: WriteEventRecordsRequest, options: CallOptions = {}): Promise<void> {
    await this.write('WriteEventRecordsSync', request, options);
  }

  /** WriteEventRecords: resolves once the events are queued (RESOURCE_EXHAUSTED, retried, when the buffer is full). */
  async writeEventRecords(request: WriteEventRecordsRequest, options: CallOptions = {}): Promise<void> {
    await this.write('WriteEventRecords', request, options);
  }

  /**
   * ReadEventRecords: one page, newest first. With `allowPartial`, a read that reaches its
   * deadline answers with what the server found so far (`partial: true`, and a
   * `nextPageToken` to resume when there is one) instead of failing.
   */
  async readEventRecords(request: ReadEventRecordsRequest, options: ReadOptions = {}): Promise<EventPage> {
    const allowPartial = options.allowPartial ?? false;
    const plan = await this.plan('ReadEventRecords', 'timeseries', request.namespace, 'read', true, options);
    try {
      return await this.runner.run(plan, async (ctx) => {
        // The server stops just before we would give up, so its partial page still arrives.
        const serverTimeoutMs = Number.isFinite(ctx.budgetMs) ? ctx.budgetMs - serverMarginMs(ctx.budgetMs) : undefined;
        const body = encodeRead(request, serverTimeoutMs, allowPartial);
        return decodePage(await this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath('ReadEventRecords'), body, signal: ctx.signal }));
      });
    } catch (err) {
      if (allowPartial && err instanceof DgwClientError && err.code === 'DEADLINE_EXCEEDED') {
        // Nothing came back in time: an empty partial page that resumes where this one began.
        return { events: [], partial: true, ...(request.pageToken ? { nextPageToken: request.pageToken } : {}) };
      }
      throw err;
    }
  }

  /** SearchEventRecords: one page of matching events, newest first. */
  async searchEventRecords(request: SearchEventRecordsRequest, options: CallOptions = {}): Promise<EventPage> {
    const plan = await this.plan('SearchEventRecords', 'timeseries', request.namespace, 'read', true, options);
    const body = encodeSearch(request);
    return this.runner.run(plan, async (ctx) => decodePage(await this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath('SearchEventRecords'), body, signal: ctx.signal })));
  }

  /** AggregateEventRecords: distinct values with counts, or a count (bigint). */
  async aggregateEventRecords(request: AggregateEventRecordsRequest, options: CallOptions = {}): Promise<AggregateEventRecordsResponse> {
    const plan = await this.plan('AggregateEventRecords', 'timeseries', request.namespace, 'read', true, options);
    const body = encodeAggregate(request);
    return this.runner.run(plan, async (ctx) => decodeAggregate(await this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath('AggregateEventRecords'), body, signal: ctx.signal })));
  }

  /**
   * Every page of a read, one call (with its own deadline, retries and hedge) per page.
   * Ends after the last page; a partial page (allowPartial) is yielded and the walk goes on
   * from its token.
   */
  async *readEventPages(request: ReadEventRecordsRequest, options: ReadOptions = {}): AsyncGenerator<EventPage, void, undefined> {
    let pageToken = request.pageToken;
    do {
      const page = await this.readEventRecords({ ...request, ...(pageToken ? { pageToken } : {}) }, options);
      yield page;
      if (page.partial && page.events.length === 0 && page.nextPageToken === pageToken) return; // no progress: stop, do not spin
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
  }

  /** Every page of a search. */
  async *searchEventPages(request: SearchEventRecordsRequest, options: CallOptions = {}): AsyncGenerator<EventPage, void, undefined> {
    let pageToken = request.pageToken;
    do {
      const page = await this.searchEventRecords({ ...request, ...(pageToken ? { pageToken } : {}) }, options);
      yield page;
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
  }

  /**
   * Reads every page into one list, newest first, within ONE deadline for the whole walk
   * (default the read SLO's max). With `allowPartial`, reaching it returns the events
   * gathered so far, flagged partial, with the token to resume from.
   */
  async readAllEventRecords(request: ReadEventRecordsRequest, options: ReadAllOptions = {}): Promise<EventPage> {
    const plan = await this.plan('ReadEventRecords', 'timeseries', request.namespace, 'read', true, options);
    const deadlineAt = performance.now() + plan.deadlineMs;
    const events: EventPage['events'] = [];
    let pageToken = request.pageToken;
    for (;;) {
      const remaining = deadlineAt - performance.now();
      if (remaining <= 0) {
        if (options.allowPartial) return { events, partial: true, ...(pageToken ? { nextPageToken: pageToken } : {}) };
        throw new DgwClientError('DEADLINE_EXCEEDED', `ReadEventRecords: the walk over pages took more than ${plan.deadlineMs} ms`);
      }
      const page = await this.readEventRecords({ ...request, ...(pageToken ? { pageToken } : {}) }, { ...options, deadlineMs: remaining });
      for (const e of page.events) events.push(e);
      await options.onPage?.(page);
      if (page.partial) return { events, partial: true, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
      pageToken = page.nextPageToken;
      if (pageToken === undefined) return { events, partial: false };
    }
  }

  // ---- Counter ----

  /** AddCount. Retried and hedged only on EVENTUAL and ACCURATE namespaces (idempotent by token). */
  async addCount(request: AddCountRequest, options: CallOptions = {}): Promise<void> {
    await this.counterMutation('AddCount', request, options, (token) => encodeAddCount({ ...request, idempotencyToken: token }));
  }

  /** AddAndGetCount: the count after the add (bigint). */
  async addAndGetCount(request: AddCountRequest, options: CallOptions = {}): Promise<bigint> {
    const body = await this.counterMutation('AddAndGetCount', request, options, (token) => encodeAddCount({ ...request, idempotencyToken: token }));
    return decodeCount(body);
  }

  /** GetCount (bigint; 0 for a counter never written). */
  async getCount(request: GetCountRequest, options: CallOptions = {}): Promise<bigint> {
    const plan = await this.plan('GetCount', 'counter', request.namespace, 'read', true, options);
    const body = encodeGetCount(request);
    const answer = await this.runner.run(plan, (ctx) => this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath('GetCount'), body, signal: ctx.signal }));
    return decodeCount(answer);
  }

  /** ClearCount. Retried and hedged only on EVENTUAL and ACCURATE namespaces. */
  async clearCount(request: ClearCountRequest, options: CallOptions = {}): Promise<void> {
    await this.counterMutation('ClearCount', request, options, (token) => encodeClearCount({ ...request, idempotencyToken: token }));
  }

  /** ReadCounterLog: one page of a counter's adds and clears, newest first (audit). Retried and hedged (a read). */
  async readCounterLog(request: ReadCounterLogRequest, options: CallOptions = {}): Promise<CounterLogPage> {
    return decodeCounterLog(await this.counterRead('ReadCounterLog', request.namespace, encodeReadCounterLog(request), true, options));
  }

  /** Every page of a counter's log, newest first. */
  async *readCounterLogPages(request: ReadCounterLogRequest, options: CallOptions = {}): AsyncGenerator<CounterLogPage, void, undefined> {
    let pageToken = request.pageToken;
    do {
      const page = await this.readCounterLog({ ...request, ...(pageToken ? { pageToken } : {}) }, options);
      yield page;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * RecountCount: the rollup, the recount from the log and their difference. With
   * `repair` the call writes, so it is sent once (not retried or hedged); sending it again
   * by hand is safe (it finds no difference).
   */
  async recountCount(request: RecountCountRequest, options: CallOptions = {}): Promise<RecountCountResponse> {
    return decodeRecount(await this.counterRead('RecountCount', request.namespace, encodeRecountCount(request), request.repair !== true, options));
  }

  /** CompareCounts (DESIGN 4.6): the anytime-valid p-value of the arms' rates against their assignment probabilities. */
  async compareCounts(request: CompareCountsRequest, options: CallOptions = {}): Promise<CompareCountsResponse> {
    return decodeCompare(await this.counterRead('CompareCounts', request.namespace, encodeCompareCounts(request), true, options));
  }

  // ---- Namespaces ----

  /** Creates or replaces a namespace from the article's document (`{}` for all defaults). */
  async putNamespace(kind: NamespaceKind, name: string, document: Json | unknown[], options: CallOptions = {}): Promise<PutNamespaceResponse> {
    try {
      return (await this.control('PutNamespace', namespacePath('PutNamespace', kind, name), document as Json, true, options)) as unknown as PutNamespaceResponse;
    } finally {
      this.info.invalidate(kind, name);
    }
  }

  /** A namespace and its canonical configuration. */
  async getNamespace(kind: NamespaceKind, name: string, options: CallOptions = {}): Promise<NamespaceView> {
    return (await this.control('GetNamespace', namespacePath('GetNamespace', kind, name), undefined, true, options)) as unknown as NamespaceView;
  }

  /** Every namespace of a kind. */
  async listNamespaces(kind: NamespaceKind, options: CallOptions = {}): Promise<NamespaceView[]> {
    const body = await this.control('ListNamespaces', namespacePath('ListNamespaces', kind), undefined, true, options);
    return (body['namespaces'] ?? []) as NamespaceView[];
  }

  /** Drops a namespace and all its data. Not retried after a lost answer (a second DELETE would answer NOT_FOUND). */
  async deleteNamespace(kind: NamespaceKind, name: string, options: CallOptions = {}): Promise<void> {
    try {
      await this.control('DeleteNamespace', namespacePath('DeleteNamespace', kind, name), undefined, false, options);
    } finally {
      this.info.invalidate(kind, name);
    }
  }

  // ---- internals ----

  private async write(what: 'WriteEventRecordsSync' | 'WriteEventRecords', request: WriteEventRecordsRequest, options: CallOptions): Promise<void> {
    // Ids made here, once, so every retry and hedge writes the same events (DESIGN 3.2).
    const events = request.events.map((e) => ({ ...e, eventId: e.eventId ?? newToken() }));
    const body = encodeWrite({ namespace: request.namespace, events });
    const plan = await this.plan(what, 'timeseries', request.namespace, 'write', true, options);
    await this.runner.run(plan, (ctx) => this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath(what), body, signal: ctx.signal }));
  }

  private async counterMutation(
    what: 'AddCount' | 'AddAndGetCount' | 'ClearCount',
    request: { namespace: string; idempotencyToken?: IdempotencyToken },
    options: CallOptions,
    encode: (token: IdempotencyToken) => object,
  ): Promise<Json> {
    // One token per logical call, reused by every retry and hedge: counted once (DESIGN 4.3).
    const token = request.idempotencyToken ?? { token: newToken(), generationTime: new Date() };
    const body = encode(token);
    const info = await this.info.get('counter', request.namespace);
    // BEST_EFFORT increments are not idempotent; an unknown type is treated the same way.
    const idempotent = info.counterType === 'EVENTUAL' || info.counterType === 'ACCURATE';
    const plan = this.planFor(what, info, 'write', idempotent, options);
    return this.runner.run(plan, (ctx) => this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath(what), body, signal: ctx.signal }));
  }

  private async counterRead(what: 'ReadCounterLog' | 'RecountCount' | 'CompareCounts', namespace: string, body: object, idempotent: boolean, options: CallOptions): Promise<Json> {
    const plan = await this.plan(what, 'counter', namespace, 'read', idempotent, options);
    return this.runner.run(plan, (ctx) => this.transport({ baseUrl: ctx.baseUrl, method: 'POST', path: dataPath(what), body, signal: ctx.signal }));
  }

  private control(what: NamespaceOperation, path: string, body: Json | undefined, idempotent: boolean, options: CallOptions): Promise<Json> {
    const method: HttpMethod = HTTP_ROUTES[what].method;
    const plan: CallPlan = {
      what,
      deadlineMs: options.deadlineMs ?? this.options.controlDeadlineMs ?? 60_000,
      maxHedges: this.options.maxHedges ?? 1,
      maxAttempts: options.maxAttempts ?? this.options.maxAttempts ?? 4,
      idempotent,
      ...(typeof options.hedgeAfterMs === 'number' ? { hedgeAfterMs: options.hedgeAfterMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...this.attemptTimeout(options),
    };
    return this.runner.run(plan, (ctx) => this.transport({ baseUrl: ctx.baseUrl, method, path, signal: ctx.signal, ...(body === undefined ? {} : { body }) }));
  }

  private async plan(what: string, kind: NamespaceKind, namespace: string, endpoint: 'read' | 'write', idempotent: boolean, options: CallOptions): Promise<CallPlan> {
    return this.planFor(what, await this.info.get(kind, namespace), endpoint, idempotent, options);
  }

  /** Deadline from the call, else the SLO max, else the default; hedge at the SLO target unless told otherwise. */
  private planFor(what: string, info: NamespaceInfo, endpoint: 'read' | 'write', idempotent: boolean, options: CallOptions): CallPlan {
    const slo = info.slos[endpoint];
    const deadlineMs = options.deadlineMs ?? slo?.maxMs ?? this.options.defaultDeadlineMs ?? 10_000;
    let hedgeAfterMs: number | undefined;
    if (typeof options.hedgeAfterMs === 'number') hedgeAfterMs = options.hedgeAfterMs;
    else if (options.hedgeAfterMs !== false && this.options.hedging !== false) hedgeAfterMs = slo?.targetMs;
    // A target at (or past) the deadline would never fire in time.
    if (hedgeAfterMs !== undefined && hedgeAfterMs >= deadlineMs) hedgeAfterMs = undefined;
    return {
      what,
      deadlineMs,
      maxHedges: this.options.maxHedges ?? 1,
      maxAttempts: options.maxAttempts ?? this.options.maxAttempts ?? 4,
      idempotent,
      ...(hedgeAfterMs === undefined ? {} : { hedgeAfterMs }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...this.attemptTimeout(options),
    };
  }

  private attemptTimeout(options: CallOptions): { attemptTimeoutMs?: number } {
    const ms = options.attemptTimeoutMs ?? this.options.attemptTimeoutMs;
    return ms === undefined ? {} : { attemptTimeoutMs: ms };
  }
}
