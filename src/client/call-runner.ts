/**
 * One logical call, however many HTTP attempts it takes (DESIGN 3.5): a deadline for the
 * whole call, retries with exponential backoff and full jitter (never shorter than the
 * server's `Retry-After`), and a hedge: when the first attempt has not answered after
 * `hedgeAfterMs`, the same request (same idempotency token) goes to the next instance;
 * the first answer wins and the other attempts are aborted.
 *
 * An instance that failed an attempt (UNAVAILABLE, or no answer within the attempt's
 * timeout) or was hedged around is not chosen to START a call for a cool-down period
 * (`instanceCooldownMs`), and retries and hedges skip it while another instance is
 * not cooling down, so one stopped instance does not cost every other call a hedge delay.
 *
 * The runner is told whether the call is idempotent. A non-idempotent call is never
 * hedged, and is retried only on a 429 RESOURCE_EXHAUSTED answer (the server refused
 * the request before doing anything), never after a lost answer.
 */
import { DgwClientError } from './errors.js';

/** Backoff between retries: `random() * min(maxMs, initialMs * multiplier^(n-1))`. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** What happened during a call, for logs, metrics and tests. */
export type CallEvent =
  | { type: 'attempt'; what: string; attempt: number; baseUrl: string; reason: 'first' | 'retry' | 'hedge' }
  | { type: 'attempt-failed'; what: string; attempt: number; baseUrl: string; code: string; message: string }
  | { type: 'answered'; what: string; attempt: number; baseUrl: string; attempts: number; elapsedMs: number }
  | { type: 'gave-up'; what: string; attempts: number; elapsedMs: number; code: string };

/** How one logical call runs. */
export interface CallPlan {
  /** Operation name, for messages (e.g. "AddCount"). */
  what: string;
  /** Give-up time of the whole call, in ms from its start. */
  deadlineMs: number;
  /** Send a hedge when no attempt answered after this long; undefined = never. */
  hedgeAfterMs?: number;
  /** At most this many hedges per call. */
  maxHedges: number;
  /** Bound on one attempt (then it counts as DEADLINE_EXCEEDED and may be retried); undefined = the call deadline. */
  attemptTimeoutMs?: number;
  /** Attempts in all, hedges included. */
  maxAttempts: number;
  /** Whether sending the request twice is safe (see the file header). */
  idempotent: boolean;
  /** The caller's cancellation. */
  signal?: AbortSignal;
}

/** What one attempt gets. */
export interface AttemptContext {
  baseUrl: string;
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** Time this attempt may take, in ms. */
  budgetMs: number;
}

/** Options of {@link CallRunner}. */
export interface CallRunnerOptions {
  baseUrls: readonly string[];
  backoff: BackoffOptions;
  /** Uniform in [0, 1); injectable for deterministic tests. */
  random?: () => number;
  /** Monotonic ms; injectable. */
  now?: () => number;
  onEvent?: (event: CallEvent) => void;
  /** How long a failing or hedged-around instance starts no call; default 3000 ms. */
  instanceCooldownMs?: number;
}

/** Runs logical calls over a set of instances. */
export class CallRunner {
  private next = 0;
  /** Instance → time until which it starts no call. */
  private readonly coolingUntil = new Map<string, number>();
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: CallRunnerOptions) {
    if (options.baseUrls.length === 0) throw new DgwClientError('INVALID_ARGUMENT', 'baseUrls: at least one instance is required');
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  /** Index of the instance that starts the next call: round robin over those not cooling down. */
  private pickFirst(): number {
    return this.pickNext(this.next++);
  }

  /** Index for a retry or hedge: from position `from` on, the first instance not cooling down. */
  private pickNext(from: number): number {
    const urls = this.options.baseUrls;
    const now = this.now();
    for (let k = 0; k < urls.length; k++) {
      const i = (from + k) % urls.length;
      if ((this.coolingUntil.get(urls[i]!) ?? 0) <= now) return i;
    }
    return from % urls.length;
  }

  private coolDown(baseUrl: string): void {
    if (this.options.baseUrls.length > 1) this.coolingUntil.set(baseUrl, this.now() + (this.options.instanceCooldownMs ?? 3000));
  }

  /** The backoff before retry number `n` (1-based), at least `retryAfterMs`. */
  backoffMs(n: number, retryAfterMs: number | undefined): number {
    const { initialMs, maxMs, multiplier } = this.options.backoff;
    const ceiling = Math.min(maxMs, initialMs * multiplier ** (n - 1));
    return Math.max(retryAfterMs ?? 0, Math.floor(this.random() * ceiling));
  }

  /**
   * Runs `attempt` under `plan`. Resolves with the first successful attempt's result;
   * rejects with the error that ended the call (DEADLINE_EXCEEDED at the deadline, with
   * the last attempt's error as `cause`; CANCELLED when the caller aborted).
   */
  run<T>(plan: CallPlan, attempt: (ctx: AttemptContext) => Promise<T>): Promise<T> {
    const urls = this.options.baseUrls;
    // Spread calls over the instances; retries and hedges move on to the next one.
    const first = this.pickFirst();
    const started = this.now();
    const deadlineAt = started + plan.deadlineMs;
    const emit = this.options.onEvent ?? (() => undefined);

    return new Promise<T>((resolve, reject) => {
      const controllers = new Set<AbortController>();
      /** The instance of each attempt still running. */
      const pendingUrls = new Map<AbortController, string>();
      let launched = 0;
      let inFlight = 0;
      let hedges = 0;
      let retries = 0;
      let settled = false;
      let lastError: DgwClientError | undefined;
      let hedgeTimer: ReturnType<typeof setTimeout> | undefined;
      let retryTimer: ReturnType<typeof setTimeout> | undefined;

      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadlineTimer);
        clearTimeout(hedgeTimer);
        clearTimeout(retryTimer);
        plan.signal?.removeEventListener('abort', onCallerAbort);
        // The losers of a hedge, or everything at the deadline: stop their fetches, and keep
        // their (slow) instances from starting calls for a while, counted from now.
        for (const url of pendingUrls.values()) this.coolDown(url);
        for (const c of controllers) c.abort(new DgwClientError('CANCELLED', `${plan.what}: superseded`));
        controllers.clear();
        pendingUrls.clear();
        outcome();
      };

      const giveUp = (err: DgwClientError) => {
        err.attempts = launched;
        emit({ type: 'gave-up', what: plan.what, attempts: launched, elapsedMs: this.now() - started, code: err.code });
        finish(() => reject(err));
      };

      const scheduleHedge = () => {
        if (plan.hedgeAfterMs === undefined || !plan.idempotent || hedges >= plan.maxHedges || hedgeTimer !== undefined) return;
        hedgeTimer = setTimeout(() => {
          hedgeTimer = undefined;
          if (settled || inFlight === 0 || launched >= plan.maxAttempts || hedges >= plan.maxHedges) return;
          hedges++;
          for (const url of pendingUrls.values()) this.coolDown(url);
          launch('hedge');
        }, plan.hedgeAfterMs);
      };

      const launch = (reason: 'first' | 'retry' | 'hedge') => {
        const n = ++launched;
        inFlight++;
        const baseUrl = urls[n === 1 ? first : this.pickNext(first + n - 1)]!;
        const controller = new AbortController();
        controllers.add(controller);
        pendingUrls.set(controller, baseUrl);
        const budgetMs = Math.max(0, Math.min(deadlineAt - this.now(), plan.attemptTimeoutMs ?? Number.POSITIVE_INFINITY));
        const attemptTimer =
          plan.attemptTimeoutMs === undefined
            ? undefined
            : setTimeout(() => controller.abort(new DgwClientError('DEADLINE_EXCEEDED', `${plan.what}: attempt ${n} to ${baseUrl} got no answer within ${Math.round(budgetMs)} ms`, [], { baseUrl })), budgetMs);
        emit({ type: 'attempt', what: plan.what, attempt: n, baseUrl, reason });
        const done = () => {
          clearTimeout(attemptTimer);
          controllers.delete(controller);
          pendingUrls.delete(controller);
          inFlight--;
        };
        let pending: Promise<T>;
        try {
          pending = attempt({ baseUrl, signal: controller.signal, attempt: n, budgetMs });
        } catch (err) {
          pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        pending.then(
          (value) => {
            done();
            if (settled) return;
            emit({ type: 'answered', what: plan.what, attempt: n, baseUrl, attempts: launched, elapsedMs: this.now() - started });
            finish(() => resolve(value));
          },
          (err: unknown) => {
            done();
            if (settled) return;
            onFailure(toClientError(err, plan.what, baseUrl), n, baseUrl);
          },
        );
        if (reason !== 'hedge') scheduleHedge();
      };

      const onFailure = (err: DgwClientError, n: number, baseUrl: string) => {
        lastError = err;
        if (err.code === 'UNAVAILABLE' || err.code === 'DEADLINE_EXCEEDED') this.coolDown(baseUrl);
        emit({ type: 'attempt-failed', what: plan.what, attempt: n, baseUrl, code: err.code, message: err.message });
        // A 429 is a refusal before any work: safe to repeat even when not idempotent.
        const mayRetry = err.retryable && (plan.idempotent || (err.code === 'RESOURCE_EXHAUSTED' && err.httpStatus === 429));
        if (!mayRetry) return giveUp(err);
        if (inFlight > 0) return; // a hedge is still running; it may yet answer
        if (launched >= plan.maxAttempts) return giveUp(err);
        if (err.maxRetries !== undefined && retries >= err.maxRetries) return giveUp(err);
        const delay = this.backoffMs(++retries, err.retryAfterMs);
        if (this.now() + delay >= deadlineAt) return giveUp(err);
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          if (!settled) launch('retry');
        }, delay);
      };

      const onCallerAbort = () => giveUp(new DgwClientError('CANCELLED', `${plan.what}: cancelled by the caller`, [], { cause: plan.signal?.reason }));
      const deadlineTimer = setTimeout(() => {
        const err = new DgwClientError('DEADLINE_EXCEEDED', `${plan.what}: no answer within ${plan.deadlineMs} ms (${launched} attempt${launched === 1 ? '' : 's'})`, lastError?.details ?? [], {
          ...(lastError === undefined ? {} : { cause: lastError }),
        });
        giveUp(err);
      }, Math.max(0, plan.deadlineMs));

      if (plan.signal?.aborted) return onCallerAbort();
      plan.signal?.addEventListener('abort', onCallerAbort, { once: true });
      launch('first');
    });
  }
}

/** Any failure as a DgwClientError (a bug in an attempt function becomes INTERNAL). */
function toClientError(err: unknown, what: string, baseUrl: string): DgwClientError {
  if (err instanceof DgwClientError) return err;
  return new DgwClientError('INTERNAL', `${what}: ${err instanceof Error ? err.message : String(err)}`, [], { baseUrl, cause: err });
}
