/**
 * The JetStream rollup bus against the real NATS server: one delivery per counter per
 * window however often it is published, work shared by consumers of one group, an event
 * held unacknowledged by a consumer that dies goes to another (redelivered), one due
 * later than half the ack wait is given back until due (deferred, not redelivered),
 * 'retry' comes back, and a
 * bus whose NATS is unreachable refuses publishes at once instead of hanging.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { RollupBus, RollupEvent } from '../../src/storage/rollup-bus.js';
import { createJetStreamRollupBus, type JetStreamRollupBusOptions } from '../../src/storage/nats/jetstream-rollup-bus.js';
import { backendTest, uniqueName } from '../support/backends.js';
import { pollUntil } from '../support/dgw-load.js';

const gate = await backendTest('nats');

describe('JetStream rollup bus', { skip: gate.skip }, () => {
  const streams: string[] = [];
  const buses: RollupBus[] = [];
  /** A bus on a stream of its own (each test isolated), consumers of one group. */
  const open = (stream: string, extra: Partial<JetStreamRollupBusOptions> = {}): RollupBus => {
    const bus = createJetStreamRollupBus({ url: gate.url, stream, subjectPrefix: stream.toLowerCase(), ...extra });
    buses.push(bus);
    return bus;
  };
  const newStream = (): string => {
    const name = uniqueName('DGWTEST').replace(/[^A-Za-z0-9_]/g, '_');
    streams.push(name);
    return name;
  };
  const untilConnected = (bus: RollupBus) => pollUntil(async () => bus.connected, 10_000, () => 'bus never connected');
  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    const nc = await connect({ servers: gate.url });
    const jsm = await jetstreamManager(nc);
    await Promise.all(streams.map((s) => jsm.streams.delete(s).catch(() => undefined)));
    await nc.close();
  });

  it('delivers one event per counter per window, however many times it is published', async () => {
    const stream = newStream();
    const bus = open(stream);
    await untilConnected(bus);
    for (let i = 0; i < 5; i++) {
      await bus.publish({ namespace: 'ns', counter: 'a' }, 7);
      await bus.publish({ namespace: 'ns', counter: 'b' }, 7);
    }
    await bus.publish({ namespace: 'ns', counter: 'a' }, 8); // the next window is a new event
    const seen: string[] = [];
    bus.start(async (e) => {
      seen.push(e.counter);
      return 'done';
    });
    await pollUntil(async () => seen.length >= 3, 10_000, () => `saw ${seen.join(',')}`);
    await pollUntil(async () => bus.stats().acknowledged === 3, 5_000, () => JSON.stringify(bus.stats()));
    assert.deepEqual([...seen].sort(), ['a', 'a', 'b']);
    assert.equal(bus.stats().published, 3);
    assert.equal(bus.stats().duplicates, 8);
  });

  it('shares the work between the consumers of the group: each event handled once', async () => {
    const stream = newStream();
    const one = open(stream, { concurrency: 4 });
    const two = open(stream, { concurrency: 4 });
    await Promise.all([untilConnected(one), untilConnected(two)]);
    const handled = new Map<string, number>();
    const byBus = [0, 0];
    const handler = (index: number) => async (e: RollupEvent) => {
      handled.set(e.counter, (handled.get(e.counter) ?? 0) + 1);
      byBus[index]!++;
      await new Promise((r) => setTimeout(r, 5));
      return 'done' as const;
    };
    one.start(handler(0));
    two.start(handler(1));
    for (let i = 0; i < 200; i++) await one.publish({ namespace: 'ns', counter: `c${i}` }, 1);
    await pollUntil(async () => handled.size === 200, 15_000, () => `handled ${handled.size}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok([...handled.values()].every((n) => n === 1), 'an event was handled twice');
    assert.ok(byBus[0]! > 0 && byBus[1]! > 0, `work not shared: ${byBus.join('/')}`);
  });

  it('gives an event held by a consumer that dies to another one, flagged redelivered', async () => {
    const stream = newStream();
    const dying = open(stream, { ackWaitMs: 1000, closeGraceMs: 0 });
    await untilConnected(dying);
    await dying.publish({ namespace: 'ns', counter: 'held' }, 1);
    let got = false;
    dying.start(async () => {
      got = true;
      return new Promise<never>(() => undefined); // never acknowledges: the process "dies" holding it
    });
    await pollUntil(async () => got, 10_000, () => 'first consumer never got the event');
    // Disconnect without acknowledging, as a kill -9 would.
    void dying.close();
    const heir = open(stream, { ackWaitMs: 1000 });
    const redelivered: boolean[] = [];
    heir.start(async (_e, d) => {
      redelivered.push(d.redelivered);
      return 'done';
    });
    await pollUntil(async () => redelivered.length > 0, 15_000, () => 'never redelivered');
    assert.deepEqual(redelivered, [true]);
    assert.equal(heir.stats().redelivered, 1);
  });

  it('gives back an event due later than half the ack wait until it is due: deferred, not redelivered', async () => {
    const stream = newStream();
    const bus = open(stream, { ackWaitMs: 2000 });
    await untilConnected(bus);
    const dueAt = Date.now() + 1500; // more than ackWait / 2 away
    await bus.publish({ namespace: 'ns', counter: 'later', notBeforeMs: dueAt }, 1);
    const calls: { redelivered: boolean; lateMs: number }[] = [];
    bus.start(async (_e, d) => {
      calls.push({ redelivered: d.redelivered, lateMs: Date.now() - dueAt });
      return 'done';
    });
    await pollUntil(async () => bus.stats().acknowledged === 1, 15_000, () => JSON.stringify(bus.stats()));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.redelivered, false, 'the return of a deferral is not a redelivery');
    assert.ok(calls[0]!.lateMs >= 0, `handled ${-calls[0]!.lateMs} ms before it was due`);
    assert.equal(bus.stats().deferred, 1);
    assert.equal(bus.stats().redelivered, 0);
  });

  it("delivers a 'retry' again after the retry delay", async () => {
    const stream = newStream();
    const bus = open(stream, { retryDelayMs: 100 });
    await untilConnected(bus);
    await bus.publish({ namespace: 'ns', counter: 'slow' }, 1);
    let calls = 0;
    bus.start(async () => (++calls < 3 ? 'retry' : 'done'));
    await pollUntil(async () => bus.stats().acknowledged === 1, 10_000, () => `calls ${calls}`);
    assert.equal(calls, 3);
  });

  it('refuses publishes at once while NATS is unreachable', async () => {
    const bus = open(newStream(), { url: 'nats://127.0.0.1:1' });
    assert.equal(bus.connected, false);
    await assert.rejects(bus.publish({ namespace: 'ns', counter: 'x' }, 1), /not connected/);
  });
});
