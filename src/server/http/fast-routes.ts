/**
 * The hot calls (AddCount, AddAndGetCount, GetCount, ReadEventRecords, SearchEventRecords)
 * served by node:http directly,
 * ahead of Fastify (issue 9): Fastify's routing, hook runner, content-type machinery and
 * reply object cost about as much server CPU per call as the counter itself. Only a
 * request of the common shape takes this path: `POST` to the exact route URL (no query
 * string), `content-type: application/json`, a declared length up to SMALL_BODY_BYTES, no
 * `transfer-encoding`, no `Origin`. Anything else (and everything once the server is
 * closing) goes to Fastify as before, so odd shapes keep Fastify's exact answers.
 *
 * A call here passes the same steps, in the same order, as through Fastify's hooks, using
 * the same functions: the request id header (ops/http-request-log.ts), the body's memory
 * reservation (memory/body-reservations.ts), the call guard's two stages with admission
 * (guard-hooks.ts, call-guard.ts), the body parser (json-body.ts), the operation chain,
 * the one error envelope and its headers (errors.ts, `Retry-After` default of
 * ops/http-conventions.ts), the request log line and rates, and the per-route HTTP
 * metrics. test/e2e/fast-routes.http.test.ts sends the same requests down both paths and
 * compares status, headers and body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCodes } from 'fastify';
import type { OperationChain } from '../operations/chain.js';
import type { JsonObject, Operation, OperationResult } from '../operations/operation.js';
import { accessOf, type Access } from '../call-context.js';
import { NOTHING_TO_RELEASE, type CallGuard, type GuardTicket } from '../call-guard.js';
import type { MemoryBudget, MemoryReservation } from '../../core/memory-budget.js';
import { bodyReservationBytes, SMALL_BODY_BYTES } from '../memory/body-reservations.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../ops/request-id.js';
import { namespaceOfBody, reportFinished } from '../ops/http-request-log.js';
import type { RequestRates } from '../ops/request-rates.js';
import type { Logger } from '../ops/logger.js';
import { DEFAULT_RETRY_AFTER_SECONDS } from '../ops/http-conventions.js';
import { awaitAdmission, callContext, namespaceInBody, releaseOnClose } from './guard-hooks.js';
import { errorAnswer } from './errors.js';
import { parseBody } from './json-body.js';
import { NO_DEADLINE_JSON_TEXT } from './operation-routes.js';
import type { RouteLabels } from './route-metrics.js';

/** The operations served by the fast path. */
const FAST_OPERATIONS: ReadonlySet<string> = new Set(['AddCount', 'AddAndGetCount', 'GetCount', 'ReadEventRecords', 'SearchEventRecords']);

/**
 * The operations whose answers are written at the end of the event-loop turn (see
 * {@link answerSoon}): the counters' small answers. A read's or search's answer (~15 KB)
 * is written at once: batched, reads measured slower.
 */
const BATCHED_ANSWERS: ReadonlySet<string> = new Set(['AddCount', 'AddAndGetCount', 'GetCount']);

/** Content types taken here; others (parameters, other spellings) keep Fastify's parsing. */
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';


/** What the fast path needs: the same objects the Fastify app uses. */
export interface FastRoutesOptions {
  chain: OperationChain;
  guard: CallGuard;
  operations: readonly Operation[];
  bodyLimit: number;
  memoryBudget?: MemoryBudget | undefined;
  log?: Logger | undefined;
  rates?: RequestRates | undefined;
  /** Records a finished request in the per-route HTTP metrics (app.ts). */
  observe(labels: RouteLabels, status: number, elapsedMs: number): void;
  /** Called with the cause of every 500. */
  onInternalError(err: unknown, where: string): void;
}

interface FastRoute {
  operation: Operation;
  url: string;
  access: Access;
  labels: RouteLabels;
  /** `POST <url>`: where a 500 happened, and the request rates' operation. */
  where: string;
  /** Its answers wait for the end of the event-loop turn ({@link BATCHED_ANSWERS}). */
  batched: boolean;
}

/** Routes the hot counter calls of the common shape; see the file header. */
export class FastRoutes {
  private readonly routes = new Map<string, FastRoute>();
  private open = true;
  private taken = 0;
  /** Answered at once by the chain's runNow (a cached GetCount), counted per {@link FastCall}. */
  private readonly immediate = { count: 0 };

  constructor(private readonly options: FastRoutesOptions) {
    for (const operation of options.operations) {
      if (!FAST_OPERATIONS.has(operation.name) || operation.http.method !== 'POST' || operation.http.input !== 'body') continue;
      for (const { url } of operation.http.routes) {
        this.routes.set(url, { operation, url, access: accessOf(operation.name), labels: { method: 'POST', route: url }, where: `POST ${url}`, batched: BATCHED_ANSWERS.has(operation.name) });
      }
    }
  }

  /** Requests served here so far (tests check that the fast path was taken). */
  get served(): number {
    return this.taken;
  }

  /** Requests answered without the promise chain (`OperationChain.runNow`; tests). */
  get answeredNow(): number {
    return this.immediate.count;
  }

  /** From now on every request goes to Fastify (which answers 503 while closing). */
  close(): void {
    this.open = false;
  }

  /** Serves the request and returns true when it has the fast path's shape; false: Fastify's. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.open || req.method !== 'POST') return false;
    const route = this.routes.get(req.url ?? '');
    if (route === undefined) return false;
    const h = req.headers;
    const declared = h['content-length'];
    if (declared === undefined || h['transfer-encoding'] !== undefined || h.origin !== undefined || !JSON_TYPES.has(h['content-type'] ?? '')) return false;
    const length = Number(declared);
    if (!(length > 0 && length <= SMALL_BODY_BYTES && length <= this.options.bodyLimit)) return false;
    this.taken++;
    new FastCall(this.options, route, req, res, length, this.immediate).start();
    return true;
  }
}

const BY_APP = new WeakMap<object, FastRoutes>();

/** The fast path of an HTTP app built by app.ts, if it has one. */
export function fastRoutesOf(app: object): FastRoutes | undefined {
  return BY_APP.get(app);
}

/** Records the fast path of `app` (app.ts). */
export function setFastRoutes(app: object, routes: FastRoutes): void {
  BY_APP.set(app, routes);
}

/**
 * Counter answers finished in this event-loop turn, written together once the turn's I/O
 * callbacks are done (`setImmediate`).
 *
 * Why (issue 9): each socket write to a client that sleeps in its poll wakes it, and on
 * this kind of VM that wake-up is the single largest cost of a cheap call (the `writev`
 * system call was 40 % of the server's samples for GetCount). Written back to back, the
 * first answer of a turn wakes the client and the others reach it while it is awake. An
 * answer waits at most for the rest of the turn it was finished in; the bytes are the same.
 */
let answers: Answer[] = [];

interface Answer {
  res: ServerResponse;
  status: number;
  headers: Record<string, string>;
  text: string;
}

function answerSoon(res: ServerResponse, status: number, headers: Record<string, string>, text: string): void {
  if (answers.length === 0) setImmediate(writeAnswers);
  answers.push({ res, status, headers, text });
}

function writeAnswers(): void {
  const batch = answers;
  answers = [];
  for (const { res, status, headers, text } of batch) {
    try {
      res.writeHead(status, headers);
      res.end(text);
    } catch (err) {
      // One answer that cannot be written (its socket gone) must not keep the others back.
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** One request on the fast path: the steps of Fastify's hooks, in their order. */
class FastCall {
  private readonly started = performance.now();
  private readonly id: string;
  private ticket: GuardTicket = {};
  /** The parsed body, once parsed (the log line's namespace). */
  private body: unknown;
  /** What the error handler got (the log line of a 5xx). */
  private failure: unknown;
  private answered = false;
  /** Set when reading or parsing the body failed: Fastify then closes the connection. */
  private closeConnection = false;
  /** The body's memory reservation and the admission slot taken at stage one, freed on close. */
  private reservation: MemoryReservation | undefined;
  private slot: (() => void) | undefined;
  /** A 'close' listener frees them ({@link releaseOnClose}); `closed` once it ran. */
  private watching = false;
  private closed = false;

  constructor(
    private readonly options: FastRoutesOptions,
    private readonly route: FastRoute,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly length: number,
    private readonly immediate: { count: number },
  ) {
    this.id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
  }

  start(): void {
    const { res } = this;
    // Fastify's onResponse: the first of 'finish' and 'error'. The listeners stay (the
    // response is dropped with them) and a flag keeps the second out: removing them was
    // two array splices per call (issue 9).
    let reported = false;
    const finished = () => {
      if (reported) return;
      reported = true;
      this.finished();
    };
    res.on('finish', finished);
    res.on('error', finished);
    // onRequest: the body's reservation, then the guard's first stage (the cross-site
    // check passes by the shape: no Origin, a JSON content type).
    try {
      const budget = this.options.memoryBudget;
      if (budget) {
        this.reservation = budget.reserve(bodyReservationBytes(this.length, this.options.bodyLimit), `a request body of ${this.length} bytes`);
        this.releaseOnClose();
      }
      const call = callContext(this.route.operation.name, this.route.access, this.req.headers, undefined);
      this.ticket = this.options.guard.begin(call);
      const admission = this.options.guard.admitEarly(call, this.ticket);
      if (admission === undefined) this.readBody();
      else if (typeof admission === 'function') {
        this.holdSlot(admission);
        this.readBody();
      } else awaitAdmission(res, admission, (err) => (err ? this.fail(err) : this.readBody()));
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Frees the body's reservation, then the admission slot, once the response is closed:
   * what releaseOnClose does for each, with one 'close' listener for both (issue 9).
   */
  private releaseOnClose(): void {
    if (this.watching) return;
    this.watching = true;
    releaseOnClose(this.res, () => {
      this.closed = true;
      this.reservation?.release();
      this.slot?.();
    });
  }

  /** An admission slot taken at once: freed when the response is closed (now, if it is). */
  private holdSlot(release: () => void): void {
    if (this.closed) {
      release();
      return;
    }
    this.slot = release;
    this.releaseOnClose();
  }

  /** Reads the body as Fastify's string parser does (byte limit, declared length), then parses it. */
  private readBody(): void {
    const { req } = this;
    const limit = this.options.bodyLimit;
    const chunks: Buffer[] = [];
    let received = 0;
    // Once the body is read or refused, later events are ignored rather than their
    // listeners removed (three array splices per call, issue 9); the request is dropped
    // with them, and an 'error' after the end still finds a listener.
    let done = false;
    const onData = (chunk: Buffer) => {
      if (done) return;
      received += chunk.length;
      if (received > limit) {
        done = true;
        this.failBody(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (err?: Error & { statusCode?: number }) => {
      if (done) return;
      done = true;
      if (err != null) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
        this.failBody(err);
        return;
      }
      if (received !== this.length) {
        this.failBody(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8');
      let body: unknown;
      try {
        body = parseBody(this.route.url, text);
      } catch (parseErr) {
        this.failBody(parseErr);
        return;
      }
      this.body = body;
      this.authorize();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
    req.resume();
  }

  /** preHandler: the guard's second stage (namespace known), then the handler. */
  private authorize(): void {
    try {
      const call = callContext(this.route.operation.name, this.route.access, this.req.headers, namespaceInBody(this.body));
      const admission = this.options.guard.finish(call, this.ticket);
      // Admitted at stage one (start): nothing more to bind to the response's close.
      if (admission === NOTHING_TO_RELEASE) this.handle();
      else awaitAdmission(this.res, admission, (err) => (err ? this.fail(err) : this.handle()));
    } catch (err) {
      this.fail(err);
    }
  }

  private handle(): void {
    const operation = this.route.operation;
    const call = { operation, input: this.body as JsonObject, info: NO_DEADLINE_JSON_TEXT, transport: 'http' } as const;
    // An answer the process holds (a cached GetCount) is sent without the promise chain.
    let now: OperationResult | undefined;
    try {
      now = this.options.chain.runNow(call);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (now !== undefined) {
      this.immediate.count++;
      // Outside the try above: send() does not throw (a failed write is the socket's error).
      this.answer(now);
      return;
    }
    this.options.chain.run(call).then(
      (result) => this.answer(result),
      (err: unknown) => this.fail(err),
    );
  }

  private answer(result: OperationResult): void {
    this.send(result.created ? 201 : this.route.operation.http.status, result.json ?? JSON.stringify(result.body), undefined);
  }

  /** A failure reading or parsing the body: Fastify answers it with `connection: close`. */
  private failBody(err: unknown): void {
    this.closeConnection = true;
    this.fail(err);
  }

  /** The error handler of app.ts: remembered for the log line, mapped to the envelope. */
  private fail(err: unknown): void {
    this.failure = err;
    const answer = errorAnswer(err, this.options.bodyLimit);
    if (answer.internal) this.options.onInternalError(err, this.route.where);
    this.send(answer.status, JSON.stringify(answer.body), answer.headers);
  }

  /** Answers with `text`, the JSON of the answer's body. */
  private send(status: number, text: string, extra: Record<string, string> | undefined): void {
    // Fastify's reply is sent once; a late answer (a client gone while admitted) is dropped.
    if (this.answered) return;
    this.answered = true;
    // The common answer's headers as one literal (issue 9), in headersOf's order;
    // 'x-request-id' is REQUEST_ID_HEADER spelled out (a computed key costs a slower literal).
    const headers: Record<string, string> =
      extra === undefined && !this.closeConnection && status !== 429 && status !== 503
        ? { 'x-request-id': this.id, 'content-type': JSON_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(text)) }
        : this.headersOf(status, text, extra);
    if (this.route.batched) {
      answerSoon(this.res, status, headers, text);
      return;
    }
    this.res.writeHead(status, headers);
    this.res.end(text);
  }

  /** The headers of any answer: the request id, the error's, `connection`, `retry-after`, the body's. */
  private headersOf(status: number, text: string, extra: Record<string, string> | undefined): Record<string, string> {
    const headers: Record<string, string> = { [REQUEST_ID_HEADER]: this.id, ...extra };
    if (this.closeConnection) headers.connection = 'close';
    // ops/http-conventions.ts: every 429 and 503 says when to retry.
    if ((status === 429 || status === 503) && headers['retry-after'] === undefined) headers['retry-after'] = String(DEFAULT_RETRY_AFTER_SECONDS);
    headers['content-type'] = JSON_CONTENT_TYPE;
    headers['content-length'] = String(Buffer.byteLength(text));
    return headers;
  }

  /** onResponse: the request's log line and rates, and the per-route metrics. */
  private finished(): void {
    const status = this.res.statusCode;
    const elapsedMs = performance.now() - this.started;
    reportFinished(this.options.log, this.options.rates, {
      id: this.id,
      method: 'POST',
      route: this.route.url,
      status,
      elapsedMs,
      namespace: () => namespaceOfBody(this.body),
      failure: () => this.failure,
      rateKey: this.route.where,
    });
    this.options.observe(this.route.labels, status, elapsedMs);
  }
}
