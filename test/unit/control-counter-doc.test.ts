import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { parseNamespaceBody } from '../../src/core/control/lenient-json.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { ARTICLE_COUNTER_DOC } from '../support/article-docs.js';
import { assertInvalidArgument } from '../support/invalid-argument.js';

const S = 1_000_000;
const catalog = createEmbeddedStoreResolver();

function parse(doc: unknown, name = 'ctr1') {
  return parseCounterNamespace(name, doc, catalog);
}

function rollupDoc(config: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config, ...extra }] };
}

function invalid(doc: unknown, field: string, pattern?: RegExp): void {
  assertInvalidArgument(() => parse(doc), field, pattern);
}

const DEFAULT_EVENTS_PRIMARY = {
  storage: { requestedType: 'SQLITE', requestedCluster: '', dataset: 'ctr1', store: 'sqlite' },
  secondsPerTimeSlice: 86400,
  secondsPerTimeBucket: 600,
  eventBuckets: 4,
  coalesceMicros: 1 * S,
  bufferCapacityBytes: 4 * 1024 * 1024,
  consistencyScope: 'LOCAL',
  consistencyTarget: 'EVENTUAL',
  acceptLimitMicros: 5 * S,
  futureLimitMicros: 60 * S,
  closeAfterMicros: 518400 * S,
  deleteAfterMicros: 604800 * S,
};

describe('parseCounterNamespace: the article document', () => {
  it('parses the article text verbatim into canonical values', () => {
    const { config, notices } = parse(parseNamespaceBody(ARTICLE_COUNTER_DOC), 'my_dataset_1');
    assert.deepEqual(config, {
      kind: 'counter',
      name: 'my_dataset_1',
      counterType: 'EVENTUAL',
      counterCardinality: 'LOW',
      cache: { storage: { requestedType: 'EVCACHE', requestedCluster: 'evcache_dgw_counter_tier1', dataset: 'my_dataset_1', store: 'sqlite' } },
      rollup: {
        storage: { requestedType: 'CASSANDRA', requestedCluster: 'cass_dgw_counter_uc1', dataset: 'my_dataset_1', store: 'sqlite' },
        numQueues: 8,
        coalesceMicros: 10 * S,
        capacityBytes: 16777216,
        rollupBatchCount: 32,
      },
      ttlMicros: 0,
      skewMarginMicros: 1 * S,
      events: {
        kind: 'timeseries',
        name: 'counter:my_dataset_1',
        primary: {
          ...DEFAULT_EVENTS_PRIMARY,
          storage: { requestedType: 'CASSANDRA', requestedCluster: 'cass_dgw_counter_uc1', dataset: 'my_dataset_1', store: 'sqlite' },
        },
      },
    });
    const dataset = 'accepted but has no effect: namespaces are kept apart by name inside the store; dataset is stored and returned only';
    assert.deepEqual(notices, [
      'persistence_configuration[0].physical_storage: type EVCACHE mapped to SQLITE (embedded store); cluster "evcache_dgw_counter_tier1" is not configured, using the default store',
      `persistence_configuration[1].physical_storage.dataset: ${dataset}`,
      'persistence_configuration[1].physical_storage: type CASSANDRA mapped to SQLITE (embedded store); cluster "cass_dgw_counter_uc1" is not configured, using the default store',
      'persistence_configuration[1].counter_cardinality: accepted but has no effect: one rollup row is kept per counter whatever the cardinality; the value is stored and returned only',
      `persistence_configuration[2].physical_storage.dataset: ${dataset}`,
      'persistence_configuration[2].physical_storage: type CASSANDRA mapped to SQLITE (embedded store); cluster "cass_dgw_counter_uc1" is not configured, using the default store',
    ]);
  });
});

describe('parseCounterNamespace: defaults and spellings', () => {
  it('fills every default for {} (DESIGN 4.1)', () => {
    const { config, notices } = parse({});
    const store = { requestedType: 'SQLITE', requestedCluster: '', dataset: 'ctr1', store: 'sqlite' };
    assert.deepEqual(config, {
      kind: 'counter',
      name: 'ctr1',
      counterType: 'EVENTUAL',
      counterCardinality: 'LOW',
      cache: { storage: store },
      rollup: { storage: store, numQueues: 8, coalesceMicros: 1 * S, capacityBytes: 16 * 1024 * 1024, rollupBatchCount: 32 },
      ttlMicros: 0,
      skewMarginMicros: 1 * S,
      events: { kind: 'timeseries', name: 'counter:ctr1', primary: DEFAULT_EVENTS_PRIMARY },
    });
    assert.deepEqual(notices, []);
  });

  it('accepts counter types case-insensitively, ttl, skew_margin and camelCase keys', () => {
    const { config } = parse({
      persistence_configuration: [
        { id: 'CACHE', config: { ttl: '1h' } },
        {
          id: 'COUNTER_ROLLUP',
          counterCardinality: 'high',
          config: {
            counterType: 'best_effort',
            skewMargin: '250ms',
            eventualCounterConfig: { internalConfig: { queueConfig: { numQueues: '4', coalesceMs: '500', capacityBytes: '1MiB' }, rollupBatchCount: 8 } },
          },
        },
      ],
    });
    assert.equal(config.counterType, 'BEST_EFFORT');
    assert.equal(config.counterCardinality, 'HIGH');
    assert.equal(config.ttlMicros, 3600 * S);
    assert.equal(config.skewMarginMicros, 250_000);
    assert.deepEqual({ ...config.rollup, storage: undefined }, { storage: undefined, numQueues: 4, coalesceMicros: 500_000, capacityBytes: 1024 * 1024, rollupBatchCount: 8 });
  });

  it('accepts ttl in COUNTER_ROLLUP config and accurate_counter_config', () => {
    const { config } = parse(rollupDoc({ counter_type: 'ACCURATE', ttl: 60, accurate_counter_config: { internal_config: { rollup_batch_count: 2 } } }));
    assert.equal(config.counterType, 'ACCURATE');
    assert.equal(config.ttlMicros, 60 * S);
    assert.equal(config.rollup.rollupBatchCount, 2);
  });

  it('reads EVENT_STORAGE with the TimeSeries spellings and keeps counter event defaults', () => {
    const { config } = parse({
      persistence_configuration: [{ id: 'EVENT_STORAGE', config: { timePartition: { secondsPerTimeSlice: 3600, secondPerTimeBucket: 60, eventBuckets: 2 }, acceptLimit: '2s' } }],
    });
    const p = config.events.primary;
    assert.deepEqual([p.secondsPerTimeSlice, p.secondsPerTimeBucket, p.eventBuckets, p.acceptLimitMicros], [3600, 60, 2, 2 * S]);
    assert.deepEqual([p.closeAfterMicros, p.deleteAfterMicros], [518400 * S, 604800 * S]);
  });

  it('follows a shorter delete_after when only it is given', () => {
    const { config } = parse({ persistence_configuration: [{ id: 'EVENT_STORAGE', lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { delete_after: '1d' } }] } }] });
    assert.deepEqual([config.events.primary.closeAfterMicros, config.events.primary.deleteAfterMicros], [86400 * S, 86400 * S]);
  });
});

describe('parseCounterNamespace: invalid input', () => {
  const P = 'persistence_configuration[0]';
  it('names the field of every invalid setting', () => {
    invalid(rollupDoc({ counter_type: 'EXACT' }), `${P}.config.counter_type`, /unknown counter type "EXACT" \(expected one of BEST_EFFORT, EVENTUAL, ACCURATE\)/);
    invalid(rollupDoc({}, { counter_cardinality: 'HUGE' }), `${P}.counter_cardinality`, /expected one of LOW, MEDIUM, HIGH/);
    invalid(rollupDoc({ eventual_counter_config: { internal_config: { queue_config: { num_queues: 0 } } } }), `${P}.config.eventual_counter_config.internal_config.queue_config.num_queues`, /between 1 and/);
    invalid(rollupDoc({ eventual_counter_config: { internal_config: { queue_config: { coalesce_ms: 'x' } } } }), `${P}.config.eventual_counter_config.internal_config.queue_config.coalesce_ms`, /number of milliseconds/);
    invalid(rollupDoc({ eventual_counter_config: { internal_config: { queue_config: { capacity_bytes: -1 } } } }), `${P}.config.eventual_counter_config.internal_config.queue_config.capacity_bytes`);
    invalid(rollupDoc({ eventual_counter_config: { internal_config: { rollup_batch_count: 1.5 } } }), `${P}.config.eventual_counter_config.internal_config.rollup_batch_count`, /expected an integer/);
    invalid(rollupDoc({ skew_margin: '2h' }), `${P}.config.skew_margin`, /between 0s and 3600s/);
    invalid(rollupDoc({ ttl: 'forever' }), `${P}.config.ttl`, /expected a duration/);
    invalid({ persistence_configuration: [{ id: 'CACHE', config: { ttl: 5 } }, { id: 'COUNTER_ROLLUP', config: { ttl: 6 } }] }, 'persistence_configuration[1].config.ttl', /conflicts with persistence_configuration\[0\].config.ttl/);
    invalid({ persistence_configuration: [{ id: 'CACHE', physical_storage: { type: 'MEMCACHED' } }] }, `${P}.physical_storage.type`, /unknown store type "MEMCACHED"/);
    invalid({ persistence_configuration: [{ id: 'EVENT_STORAGE', config: { time_partition: { buckets_per_id: 2000 } } }] }, `${P}.config.time_partition.buckets_per_id`, /between 1 and 1024/);
    invalid({ persistence_configuration: [{ id: 'PRIMARY_STORAGE' }] }, `${P}.id`, /unknown id for a counter namespace "PRIMARY_STORAGE" \(expected one of CACHE, COUNTER_ROLLUP, EVENT_STORAGE\)/);
  });
});
