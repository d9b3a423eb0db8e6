import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/kernel/clock.js';
import { NamespaceManager } from '../../src/core/control/namespace-manager.js';
import type { NamespaceDeleteHook } from '../../src/core/control/namespace-manager.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import type { NamespaceConfig } from '../../src/core/control/types.js';
import { DgwError } from '../../src/kernel/errors.js';
import type { NamespaceRegistry } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';
import { ARTICLE_COUNTER_DOC, ARTICLE_TIMESERIES_DOC } from '../support/article-docs.js';

const catalog = createEmbeddedStoreResolver();

function newRegistry(): NamespaceRegistry {
  const registry = createMemoryStores().namespaces;
  assert.ok(registry);
  return registry;
}

/** A registry that counts reads and can be made to fail. */
function instrumented(inner: NamespaceRegistry): NamespaceRegistry & { gets: number; failing: boolean } {
  const wrapper = {
    gets: 0,
    failing: false,
    put: inner.put.bind(inner),
    list: inner.list.bind(inner),
    delete: inner.delete.bind(inner),
    claimSetting: inner.claimSetting.bind(inner),
    async get(kind: 'timeseries' | 'counter', name: string) {
      wrapper.gets += 1;
      if (wrapper.failing) throw new DgwError('UNAVAILABLE', 'registry down');
      return inner.get(kind, name);
    },
  };
  return wrapper;
}

function setup(options: { onDelete?: NamespaceDeleteHook } = {}) {
  const clock = new ManualClock();
  const registry = newRegistry();
  const manager = new NamespaceManager({ registry, catalog, clock, ...options });
  return { clock, registry, manager };
}

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DgwError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('NamespaceManager', () => {
  it('creates a TimeSeries namespace from the article text and reads it back', async () => {
    const { manager } = setup();
    const put = await manager.putTimeSeries('tracing', ARTICLE_TIMESERIES_DOC);
    assert.equal(put.created, true);
    assert.equal(put.record.version, 1);
    assert.equal(put.notices.filter((n) => / mapped to /.test(n)).length, 2);
    assert.equal(put.notices.filter((n) => /accepted but has no effect/.test(n)).length, 9);
    assert.equal(put.config.primary.secondsPerTimeSlice, 129600);
    assert.deepEqual(await manager.getTimeSeries('tracing'), put.config);
    const again = await manager.putTimeSeries('tracing', '{}');
    assert.equal(again.created, false);
    assert.equal(again.record.version, 2);
    assert.equal((await manager.getTimeSeries('tracing')).primary.secondsPerTimeSlice, 86400);
  });

  it('creates a counter namespace from the article text or a parsed document', async () => {
    const { manager } = setup();
    const put = await manager.putCounter('views', ARTICLE_COUNTER_DOC);
    assert.equal(put.config.events.name, 'counter:views');
    assert.equal(put.notices.filter((n) => / mapped to /.test(n)).length, 3);
    assert.equal(put.notices.filter((n) => /accepted but has no effect/.test(n)).length, 3);
    assert.deepEqual(await manager.getCounter('views'), put.config);
    const parsed = await manager.putCounter('likes', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    assert.equal(parsed.config.counterType, 'ACCURATE');
  });

  it('answers NOT_FOUND for an unknown namespace', async () => {
    const { manager } = setup();
    await rejects(manager.getTimeSeries('nope'), 'NOT_FOUND', /^namespace "nope" not found$/);
    await rejects(manager.getCounter('nope'), 'NOT_FOUND', /^namespace "nope" not found$/);
    await rejects(manager.delete('counter', 'nope'), 'NOT_FOUND', /^namespace "nope" not found$/);
  });

  it('keeps one kind per name (FAILED_PRECONDITION)', async () => {
    const { manager } = setup();
    await manager.putTimeSeries('shared', '{}');
    await rejects(manager.getCounter('shared'), 'FAILED_PRECONDITION', /^namespace "shared" is a timeseries namespace, not a counter namespace$/);
    await rejects(manager.putCounter('shared', '{}'), 'FAILED_PRECONDITION', /is a timeseries namespace, not a counter namespace/);
    await rejects(manager.delete('counter', 'shared'), 'FAILED_PRECONDITION', /is a timeseries namespace/);
    await manager.putCounter('c1', '{}');
    await rejects(manager.putTimeSeries('c1', '{}'), 'FAILED_PRECONDITION', /^namespace "c1" is a counter namespace, not a timeseries namespace$/);
  });

  it('refuses invalid names and bodies, storing nothing', async () => {
    const { manager, registry } = setup();
    await rejects(manager.putTimeSeries('bad/name', '{}'), 'INVALID_ARGUMENT', /^namespace: invalid name/);
    await rejects(manager.getCounter('bad name'), 'INVALID_ARGUMENT', /^namespace: /);
    await rejects(manager.putTimeSeries('ok', '{ "persistence_configuration": [ '), 'INVALID_ARGUMENT', /^body: malformed JSON/);
    await rejects(manager.putCounter('ok', '{"persistence_configuration":[{"id":"CACHE","physical_storage":{"type":"FOO"}}]}'), 'INVALID_ARGUMENT', /physical_storage.type: unknown store type "FOO"/);
    assert.deepEqual(await registry.list('timeseries'), []);
    assert.deepEqual(await registry.list('counter'), []);
  });

  it('lists namespaces of a kind by name', async () => {
    const { manager } = setup();
    await manager.putTimeSeries('b', '{}');
    await manager.putTimeSeries('a', '{}');
    await manager.putCounter('c', '{}');
    assert.deepEqual((await manager.list('timeseries')).map((r) => r.name), ['a', 'b']);
    assert.deepEqual((await manager.list('counter')).map((r) => r.name), ['c']);
  });

  it('deletes after the onDelete hook dropped the data', async () => {
    const dropped: NamespaceConfig[] = [];
    const { manager } = setup({ onDelete: async (config) => void dropped.push(config) });
    await manager.putCounter('gone', '{}');
    await manager.delete('counter', 'gone');
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0]?.kind, 'counter');
    await rejects(manager.getCounter('gone'), 'NOT_FOUND', /not found/);
    assert.equal((await manager.putCounter('gone', '{}')).created, true);
  });

  it('keeps the namespace when the onDelete hook fails', async () => {
    const { manager } = setup({ onDelete: async () => { throw new DgwError('UNAVAILABLE', 'store down'); } });
    await manager.putTimeSeries('kept', '{}');
    await rejects(manager.delete('timeseries', 'kept'), 'UNAVAILABLE', /store down/);
    assert.equal((await manager.getTimeSeries('kept')).name, 'kept');
  });

  it('shows changes of another instance within the cache TTL', async () => {
    const clock = new ManualClock();
    const registry = newRegistry();
    const a = new NamespaceManager({ registry, catalog, clock });
    const b = new NamespaceManager({ registry, catalog, clock, cacheTtlMicros: 2_000_000 });
    await a.putTimeSeries('ts', '{}');
    assert.equal((await b.getTimeSeries('ts')).primary.eventBuckets, 4);
    await a.putTimeSeries('ts', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { timePartition: { eventBuckets: 16 } } }] });
    assert.equal((await a.getTimeSeries('ts')).primary.eventBuckets, 16, 'the writer sees its change at once');
    clock.advanceMs(1999);
    assert.equal((await b.getTimeSeries('ts')).primary.eventBuckets, 4, 'still cached');
    clock.advanceMs(1);
    assert.equal((await b.getTimeSeries('ts')).primary.eventBuckets, 16, 'refreshed after the TTL');
    await a.delete('timeseries', 'ts');
    assert.equal((await b.getTimeSeries('ts')).primary.eventBuckets, 16);
    clock.advanceMs(2000);
    await rejects(b.getTimeSeries('ts'), 'NOT_FOUND', /not found/);
  });

  it('reads the registry once for concurrent requests, and serves stale when it is down', async () => {
    const clock = new ManualClock();
    const registry = instrumented(newRegistry());
    const manager = new NamespaceManager({ registry, catalog, clock });
    await manager.putCounter('hot', '{}');
    manager.invalidate();
    registry.gets = 0;
    const configs = await Promise.all(Array.from({ length: 50 }, () => manager.getCounter('hot')));
    assert.equal(configs.length, 50);
    assert.equal(registry.gets, 1);
    await manager.getCounter('hot');
    assert.equal(registry.gets, 1, 'served from cache');
    clock.advanceMs(5000);
    registry.failing = true;
    assert.equal((await manager.getCounter('hot')).name, 'hot');
    manager.invalidate('counter', 'hot');
    await rejects(manager.getCounter('hot'), 'UNAVAILABLE', /registry down/);
  });

  it('refuses a corrupt stored configuration clearly (FAILED_PRECONDITION naming the field), and a put repairs it', async () => {
    const { clock, registry, manager } = setup();
    const ts = await manager.putTimeSeries('corrupt_ts', ARTICLE_TIMESERIES_DOC);
    const counter = await manager.putCounter('corrupt_counter', ARTICLE_COUNTER_DOC);
    // Rows damaged behind dgw's back: a field of the wrong type, a missing nested block,
    // a row renamed, and a row that is not an object at all.
    const badTs = structuredClone(ts.config) as unknown as { primary: Record<string, unknown> };
    badTs.primary['secondsPerTimeSlice'] = 'sixty';
    await registry.put('timeseries', 'corrupt_ts', badTs as unknown as Record<string, unknown>, clock.nowMicros());
    const badCounter = structuredClone(counter.config) as unknown as { events: Record<string, unknown> };
    delete badCounter.events['primary'];
    await registry.put('counter', 'corrupt_counter', badCounter as unknown as Record<string, unknown>, clock.nowMicros());
    await registry.put('timeseries', 'renamed_ts', { ...(ts.config as unknown as Record<string, unknown>) }, clock.nowMicros());
    await registry.put('timeseries', 'scalar_ts', 42 as unknown as Record<string, unknown>, clock.nowMicros());
    manager.invalidate();

    await rejects(manager.getTimeSeries('corrupt_ts'), 'FAILED_PRECONDITION', /"corrupt_ts".*corrupt at "primary\.secondsPerTimeSlice"/);
    await rejects(manager.getCounter('corrupt_counter'), 'FAILED_PRECONDITION', /"corrupt_counter".*corrupt at "events\.primary"/);
    await rejects(manager.getTimeSeries('renamed_ts'), 'FAILED_PRECONDITION', /"renamed_ts".*names another namespace \("corrupt_ts"\)/);
    await rejects(manager.getTimeSeries('scalar_ts'), 'FAILED_PRECONDITION', /"scalar_ts".*corrupt at "config"/);
    // Deleting needs the configuration (to drop the data); refused the same way, not a crash.
    await rejects(manager.delete('counter', 'corrupt_counter'), 'FAILED_PRECONDITION', /corrupt at "events\.primary"/);

    // Putting the document again replaces the corrupt row.
    await manager.putTimeSeries('corrupt_ts', ARTICLE_TIMESERIES_DOC);
    manager.invalidate();
    assert.equal((await manager.getTimeSeries('corrupt_ts')).primary.secondsPerTimeSlice, ts.config.primary.secondsPerTimeSlice);
  });
});
