/**
 * A JetStream rollup bus whose setup fails after it has connected (the stream or the
 * consumer refused, NATS closing or restarting meanwhile, the bus closed by a server that
 * shuts down while it starts) reports the failure to `onError` and must not crash the
 * process: `start()` waited on the setup's promise and left the rejection of that wait
 * unhandled, which Node turns into a crash.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AckPolicy, DeliverPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createJetStreamRollupBus } from '../../src/storage/nats/jetstream-rollup-bus.js';
import { backendTest, uniqueName } from '../support/backends.js';
import { pollUntil } from '../support/dgw-load.js';

const gate = await backendTest('nats');

describe('JetStream rollup bus setup failures', { skip: gate.skip }, () => {
  const streams: string[] = [];
  const newStream = (): string => {
    const name = uniqueName('DGWSETUP').replace(/[^A-Za-z0-9_]/g, '_');
    streams.push(name);
    return name;
  };
  after(async () => {
    const nc = await connect({ servers: gate.url });
    const jsm = await jetstreamManager(nc);
    await Promise.all(streams.map((s) => jsm.streams.delete(s).catch(() => undefined)));
    await nc.close();
  });

  /** Runs `fn`, collecting the process's unhandled rejections meanwhile. */
  const unhandledDuring = async (fn: () => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    const onUnhandled = (err: unknown): void => void seen.push(String(err));
    process.on('unhandledRejection', onUnhandled);
    try {
      await fn();
      // A rejection is reported after the microtasks of its turn: let them run.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    return seen;
  };

  it('reports a consumer that NATS refuses to onError, without crashing', async () => {
    const stream = newStream();
    const subjects = stream.toLowerCase();
    // The bus's durable consumer exists already with a configuration it cannot update to.
    const nc = await connect({ servers: gate.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [`${subjects}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File });
      await jsm.consumers.add(stream, { durable_name: 'dgw-rollup', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
    } finally {
      await nc.close();
    }
    const errors: string[] = [];
    const bus = createJetStreamRollupBus({ url: gate.url, stream, subjectPrefix: subjects, onError: (err) => void errors.push(String(err)) });
    const unhandled = await unhandledDuring(async () => {
      bus.start(async () => 'done');
      await pollUntil(async () => errors.length > 0, 10_000, () => 'the refused consumer was never reported');
      await bus.close();
    });
    assert.deepEqual(unhandled, []);
    assert.match(errors[0]!, /deliver policy/);
    assert.equal(bus.connected, false);
  });

  it('survives being closed while it sets up', async () => {
    const stream = newStream();
    const unhandled = await unhandledDuring(async () => {
      // Closed a little later each round, so that some closes land between the connection
      // and the end of the stream and consumer setup.
      for (let round = 0; round < 40; round++) {
        const bus = createJetStreamRollupBus({ url: gate.url, stream, subjectPrefix: stream.toLowerCase(), onError: () => undefined });
        bus.start(async () => 'done');
        await new Promise((resolve) => setTimeout(resolve, round % 20));
        await bus.close();
      }
    });
    assert.deepEqual(unhandled, []);
  });
});
