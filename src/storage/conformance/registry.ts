/** Conformance of NamespaceRegistry (control plane). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freshNamespace, need, type ConformanceContext } from './support.js';

/** Registers the namespace registry tests. */
export function registerRegistryTests(ctx: ConformanceContext): void {
  describe('namespace registry', () => {
    it('put, get, list and delete with increasing versions', async (t) => {
      const reg = need(t, ctx.stores().namespaces, 'namespace registry', ctx.stores().name);
      if (!reg) return;
      const [a, b] = [freshNamespace('a'), freshNamespace('b')];
      const first = await reg.put('timeseries', b, { retention: '7d', nested: { n: 1 } }, 100);
      assert.deepEqual(first, { kind: 'timeseries', name: b, config: { retention: '7d', nested: { n: 1 } }, version: 1, updatedAtMicros: 100 });
      const second = await reg.put('timeseries', b, { retention: '8d' }, 200);
      assert.equal(second.version, 2);
      assert.deepEqual(await reg.get('timeseries', b), second);
      await reg.put('timeseries', a, {}, 300);
      await reg.put('counter', a, { counter_type: 'EVENTUAL' }, 300);
      assert.equal(await reg.get('counter', b), undefined);
      const names = (await reg.list('timeseries')).map((r) => r.name).filter((n) => n === a || n === b);
      assert.deepEqual(names, [a, b]);
      assert.ok((await reg.list('counter')).every((r) => r.kind === 'counter'));
      assert.equal(await reg.delete('timeseries', b), true);
      assert.equal(await reg.delete('timeseries', b), false);
      assert.equal(await reg.get('timeseries', b), undefined);
      assert.equal((await reg.get('counter', a))?.version, 1);
    });

    it('claimSetting: the first claim wins, later claims read it, settings are not namespaces', async (t) => {
      const reg = need(t, ctx.stores().namespaces, 'namespace registry', ctx.stores().name);
      if (!reg) return;
      const name = freshNamespace('setting');
      assert.equal(await reg.claimSetting(name, 'first'), 'first');
      assert.equal(await reg.claimSetting(name, 'second'), 'first');
      const both = await Promise.all([reg.claimSetting(`${name}.b`, 'x'), reg.claimSetting(`${name}.b`, 'y')]);
      assert.equal(both[0], both[1]);
      for (const kind of ['timeseries', 'counter'] as const) {
        assert.ok((await reg.list(kind)).every((r) => !r.name.startsWith(name)));
      }
    });
  });
}
