/**
 * Issue 14 item 10: settings dgw accepts but does not act on are never silently ignored:
 * each one present in a document gets a notice in the PUT response naming its path and
 * why it has no effect (docs/namespaces.md, "Settings with no effect"). Absent settings
 * and settings that do act get none.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';

const view = createEmbeddedStoreResolver('sqlite');
const noEffect = (notices: readonly string[]) => notices.filter((n) => n.includes('accepted but has no effect'));
const counter = (type: string, extra: Record<string, unknown> = {}) =>
  parseCounterNamespace('c', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type, ...extra } }] }, view).notices;

describe('notices for settings with no effect', () => {
  it('counter ttl: a notice on EVENTUAL and ACCURATE, none on BEST_EFFORT (where it expires counts)', () => {
    assert.deepEqual(noEffect(counter('BEST_EFFORT', { ttl: '60s' })), []);
    for (const type of ['EVENTUAL', 'ACCURATE']) {
      const [notice, ...rest] = noEffect(counter(type, { ttl: '60s' }));
      assert.match(notice ?? '', new RegExp(`^persistence_configuration\\[0\\]\\.config\\.ttl: accepted but has no effect: ttl expires BEST_EFFORT counts only; ${type} counts are durable`));
      assert.deepEqual(rest, []);
    }
    assert.deepEqual(noEffect(counter('EVENTUAL')), [], 'no ttl, no notice');
  });

  it('counter_cardinality gets a notice wherever it is written', () => {
    assert.match(noEffect(counter('EVENTUAL', { counter_cardinality: 'HIGH' }))[0] ?? '', /counter_cardinality: accepted but has no effect/);
  });

  it("an index close_after different from the primary's gets a notice; the same one does not", () => {
    const doc = (indexClose: string) => ({
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: '2d', delete_after: '3d' } }] } },
        {
          id: 'INDEX_STORAGE',
          config: { indexConfig: { fieldMapping: { a: 'KEYWORD' } } },
          lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: indexClose, delete_after: '3d' } }] },
        },
      ],
    });
    assert.deepEqual(parseTimeSeriesNamespace('t', doc('2d'), view).notices, []);
    const [notice] = parseTimeSeriesNamespace('t', doc('1d'), view).notices;
    assert.match(notice ?? '', /^persistence_configuration\[1\]: the index's close_after \(86400s\) has no effect: Search and Aggregate show exactly what Read shows/);
  });

  it('settings that act (acceptLimit, slice width of the primary, retention) get no notice', () => {
    const doc = {
      persistence_configuration: [
        {
          id: 'PRIMARY_STORAGE',
          config: { acceptLimit: '10s', timePartition: { secondsPerTimeSlice: 3600 } },
          lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: '2d' } }] },
        },
      ],
    };
    assert.deepEqual(parseTimeSeriesNamespace('t', doc, view).notices, []);
  });
});
