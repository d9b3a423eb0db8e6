/**
 * The durable rollup queue on NATS JetStream (DESIGN 4.5): rollup events go to a
 * work-queue stream, sharded by subject `<prefix>.<shard>` on a hash of the counter, and
 * every dgw instance pulls from one shared durable consumer, so each event is delivered
 * to one instance and N instances share the rollups instead of repeating them.
 *
 * - Deduplication: the message id is `hash(namespace, counter).<window>`; JetStream drops
 *   a second publish with the same id inside its duplicate window, so a counter gets one
 *   rollup event per coalesce window however many instances served its writes.
 * - Acknowledged only after the handler says the checkpoint is committed; a consumer that
 *   dies holding an event lets it go back to the stream after `ackWait`, and another
 *   instance gets it (redelivered). 'retry' naks with a delay.
 * - Not before: an event carrying `notBeforeMs` (when a rollup can cover its window) is
 *   held by the consumer that received it until then, without a handler slot. An event
 *   stored further than half the ack wait before it is due is given back once, at its
 *   first delivery, with a nak delayed until it is due (*deferred*, so it never outlives
 *   its ack wait unacknowledged). That rule depends only on the message (its stream
 *   time and notBefore), so every instance knows whether a delivery is the return of a
 *   deferral or a real redelivery (a consumer died holding it, or a handler asked for a
 *   retry): `redelivered` counts only the latter. A held event whose wait is still longer
 *   than a third of the ack wait (clocks that disagree) is kept alive with `working()`.
 * - NATS down: publish rejects at once (the caller falls back to its in-process queue);
 *   the client keeps reconnecting in the background and consuming resumes by itself.
 */
import { createHash } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { RollupBus, RollupBusStats, RollupDelivery, RollupEvent, RollupOutcome } from '../rollup-bus.js';

/** Options of {@link createJetStreamRollupBus}. */
export interface JetStreamRollupBusOptions {
  /** e.g. `nats://127.0.0.1:4222`. */
  url: string;
  /** Stream name (default `DGW_ROLLUP`); instances of one deployment share it. */
  stream?: string;
  /** Subject prefix (default `dgw.rollup`). */
  subjectPrefix?: string;
  /** Subject shards (default 16). */
  shards?: number;
  /** Durable consumer name shared by the instances (default `dgw-rollup`). */
  consumer?: string;
  /** How long a delivered event may stay unacknowledged before redelivery (default 30 s). */
  ackWaitMs?: number;
  /** Most events handled at once on this instance (default 64). */
  concurrency?: number;
  /** Delay before a 'retry' event is delivered again (default 1 s). */
  retryDelayMs?: number;
  /** JetStream duplicate window (default 2 min; must exceed the longest coalesce window). */
  duplicateWindowMs?: number;
  /** Publish acknowledgement timeout (default 2 s). */
  publishTimeoutMs?: number;
  /** How long close() waits for handlers in flight (default 5 s). */
  closeGraceMs?: number;
  /** Reports consumer errors (logged by the server). */
  onError?(err: unknown): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Connects (in the background when NATS is down) and returns the bus at once. */
export function createJetStreamRollupBus(options: JetStreamRollupBusOptions): RollupBus {
  return new JetStreamRollupBus(options);
}

class JetStreamRollupBus implements RollupBus {
  private readonly stream: string;
  private readonly prefix: string;
  private readonly shards: number;
  private readonly consumerName: string;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private ready: Promise<void>;
  private isConnected = false;
  private closed = false;
  private handler: ((event: RollupEvent, delivery: RollupDelivery) => Promise<RollupOutcome>) | undefined;
  private messages: ConsumerMessages | undefined;
  private readonly inflight = new Set<Promise<void>>();
  /** Events due now, waiting for a handler slot. */
  private readonly due: [JsMsg, RollupEvent, RollupDelivery][] = [];
  private readonly concurrency: number;
  /** Events held until their notBefore time: the timer and the message (nak'ed on close). */
  private readonly held = new Map<NodeJS.Timeout, JsMsg>();
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly counts: RollupBusStats = { published: 0, duplicates: 0, acknowledged: 0, redelivered: 0, deferred: 0, pending: 0, ackPending: 0 };
  private readonly ackWaitMs: number;

  constructor(private readonly options: JetStreamRollupBusOptions) {
    this.stream = options.stream ?? 'DGW_ROLLUP';
    this.prefix = options.subjectPrefix ?? 'dgw.rollup';
    this.shards = options.shards ?? 16;
    this.consumerName = options.consumer ?? 'dgw-rollup';
    this.concurrency = Math.max(1, options.concurrency ?? 64);
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.ready = this.connect();
    // A setup cut short by close() is no failure to report.
    this.ready.catch((err: unknown) => {
      if (!this.closed) this.options.onError?.(err);
    });
  }

  get connected(): boolean {
    return this.isConnected && !this.closed;
  }

  async publish(event: RollupEvent, windowIndex: number): Promise<void> {
    const js = this.js;
    if (!js || !this.connected) throw new Error('NATS JetStream is not connected');
    const key = createHash('sha256').update(event.namespace).update('\0').update(event.counter).digest();
    const shard = key.readUInt32BE(0) % this.shards;
    const body = {
      n: event.namespace,
      c: event.counter,
      ...(event.notBeforeMs !== undefined ? { t: event.notBeforeMs } : {}),
      ...(event.coversMicros !== undefined ? { e: event.coversMicros } : {}),
    };
    const ack = await js.publish(`${this.prefix}.${shard}`, encoder.encode(JSON.stringify(body)), {
      msgID: `${key.toString('base64url')}.${windowIndex}`,
      timeout: this.options.publishTimeoutMs ?? 2000,
    });
    if (ack.duplicate) this.counts.duplicates++;
    else this.counts.published++;
  }

  start(handler: (event: RollupEvent, delivery: RollupDelivery) => Promise<RollupOutcome>): void {
    if (this.handler) throw new Error('the rollup bus is already consuming');
    this.handler = handler;
    // A failed setup was reported by the constructor; the bus stays disconnected (publishes
    // reject, callers fall back). Left unhandled, that rejection crashed the process.
    void this.ready.then(
      () => this.consumeLoop(),
      () => undefined,
    );
  }

  stats(): RollupBusStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.messages?.stop();
    // Held events go back to the stream at once, for another instance to take.
    for (const [timer, msg] of this.held) {
      clearTimeout(timer);
      msg.nak();
    }
    this.held.clear();
    for (const [msg] of this.due.splice(0)) msg.nak();
    // Handlers in flight get a grace period to acknowledge; what they still hold after it
    // goes back to the stream after ackWait, as after a crash.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise((resolve) => (grace = setTimeout(resolve, this.options.closeGraceMs ?? 5000))),
    ]);
    clearTimeout(grace);
    await this.nc?.close();
  }

  private async connect(): Promise<void> {
    // A NATS that is down at start-up is retried in the background instead of failing the
    // server; publishes reject meanwhile. Once connected, the client reconnects by itself.
    let nc: NatsConnection | undefined;
    while (!nc) {
      if (this.closed) return;
      try {
        nc = await connect({ servers: this.options.url, timeout: 2000, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: 'dgw' });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
    if (this.closed) {
      await nc.close();
      return;
    }
    this.nc = nc;
    void this.watchStatus(nc);
    const jsm = await jetstreamManager(nc);
    const duplicateWindow = (this.options.duplicateWindowMs ?? 120_000) * 1_000_000;
    const streamConfig = {
      name: this.stream,
      subjects: [`${this.prefix}.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: duplicateWindow,
    };
    try {
      await jsm.streams.info(this.stream);
    } catch {
      await jsm.streams.add(streamConfig).catch(async (err: unknown) => {
        // Another instance created it between our look and our add.
        await jsm.streams.info(this.stream).catch(() => {
          throw err;
        });
      });
    }
    await jsm.consumers.add(this.stream, {
      durable_name: this.consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: this.ackWaitMs * 1_000_000,
      max_deliver: -1,
      max_ack_pending: 20_000,
    });
    // Closed during the setup: close() has already run, so no consumer or poll timer starts.
    if (this.closed) return;
    this.js = jetstream(nc);
    this.isConnected = true;
    this.pollTimer = setInterval(() => void this.poll(jsm), 2000);
    this.pollTimer.unref();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.isConnected = false;
      else if (s.type === 'reconnect') this.isConnected = true;
    }
  }

  private async poll(jsm: Awaited<ReturnType<typeof jetstreamManager>>): Promise<void> {
    try {
      const info = await jsm.consumers.info(this.stream, this.consumerName);
      this.counts.pending = info.num_pending;
      this.counts.ackPending = info.num_ack_pending;
    } catch {
      // disconnected: the gauges keep their last value until the next poll answers
    }
  }

  private async consumeLoop(): Promise<void> {
    const js = this.js;
    if (!js) return;
    while (!this.closed) {
      try {
        const consumer = await js.consumers.get(this.stream, this.consumerName);
        const messages = await consumer.consume({ max_messages: this.concurrency });
        this.messages = messages;
        for await (const msg of messages) {
          const event = this.decode(msg);
          if (!event) continue;
          const waitMs = event.notBeforeMs === undefined ? 0 : event.notBeforeMs - Date.now();
          const deferral = this.deferredAtFirstDelivery(msg, event);
          const deliveries = msg.info.deliveryCount;
          if (deferral && deliveries === 1) {
            msg.nak(Math.max(0, waitMs));
            this.counts.deferred++;
            continue;
          }
          const delivery: RollupDelivery = { redelivered: deliveries > (deferral ? 2 : 1) };
          if (waitMs > 0) {
            this.hold(msg, event, delivery, waitMs);
            continue;
          }
          this.due.push([msg, event, delivery]);
          this.pump();
          // Back-pressure: pull no further while a full round of handlers is waiting.
          while (this.due.length >= this.concurrency && this.inflight.size > 0) await Promise.race(this.inflight);
        }
      } catch (err) {
        if (this.closed) break;
        this.options.onError?.(err);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** The event of a message; a message that is not one is terminated (never delivered again). */
  private decode(msg: JsMsg): RollupEvent | undefined {
    try {
      const body = JSON.parse(decoder.decode(msg.data)) as { n?: unknown; c?: unknown; t?: unknown; e?: unknown };
      if (typeof body.n !== 'string' || typeof body.c !== 'string') throw new Error('not a rollup event');
      return {
        namespace: body.n,
        counter: body.c,
        ...(typeof body.t === 'number' ? { notBeforeMs: body.t } : {}),
        ...(typeof body.e === 'number' ? { coversMicros: body.e } : {}),
      };
    } catch {
      msg.term();
      return undefined;
    }
  }

  /**
   * Whether the event is given back at its first delivery (deferred): it was stored
   * further than half the ack wait before its notBefore time. A function of the message
   * alone, so that any instance can tell the deferral's return from a redelivery.
   */
  private deferredAtFirstDelivery(msg: JsMsg, event: RollupEvent): boolean {
    if (event.notBeforeMs === undefined) return false;
    const storedMs = msg.info.timestampNanos / 1_000_000;
    return event.notBeforeMs - storedMs > this.ackWaitMs / 2;
  }

  /** Keeps an event until its notBefore time, keeping it alive while the wait is long. */
  private hold(msg: JsMsg, event: RollupEvent, delivery: RollupDelivery, waitMs: number): void {
    const step = Math.min(waitMs, this.ackWaitMs / 3);
    const timer = setTimeout(() => {
      this.held.delete(timer);
      if (this.closed) return;
      msg.working(); // a full ack wait from now: for the rest of the wait, or for a handler slot and the rollup
      const left = waitMs - step;
      if (left > 0) {
        this.hold(msg, event, delivery, left);
        return;
      }
      this.due.push([msg, event, delivery]);
      this.pump();
    }, step);
    this.held.set(timer, msg);
  }

  /** Starts handlers for ready events, at most `concurrency` at once. */
  private pump(): void {
    while (!this.closed && this.inflight.size < this.concurrency && this.due.length > 0) {
      const [msg, event, delivery] = this.due.shift()!;
      const done: Promise<void> = this.handle(msg, event, delivery).finally(() => {
        this.inflight.delete(done);
        this.pump();
      });
      this.inflight.add(done);
    }
  }

  private async handle(msg: JsMsg, event: RollupEvent, delivery: RollupDelivery): Promise<void> {
    if (delivery.redelivered) this.counts.redelivered++;
    let outcome: RollupOutcome = 'retry';
    try {
      outcome = await this.handler!(event, delivery);
    } catch (err) {
      this.options.onError?.(err);
    }
    if (outcome === 'done') {
      msg.ack();
      this.counts.acknowledged++;
    } else {
      msg.nak(this.options.retryDelayMs ?? 1000);
    }
  }
}
