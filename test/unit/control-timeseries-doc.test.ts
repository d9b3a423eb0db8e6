import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseNamespaceBody } from '../../src/core/control/lenient-json.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { DgwError } from '../../src/kernel/errors.js';
import { ARTICLE_TIMESERIES_DOC } from '../support/article-docs.js';
import { assertInvalidArgument } from '../support/invalid-argument.js';

const S = 1_000_000;
const catalog = createEmbeddedStoreResolver();

function parse(doc: unknown, name = 'ns1') {
  return parseTimeSeriesNamespace(name, doc, catalog);
}

function primaryDoc(config: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config, ...extra }] };
}

function invalid(doc: unknown, field: string, pattern?: RegExp): void {
  assertInvalidArgument(() => parse(doc), field, pattern);
}

describe('parseTimeSeriesNamespace: the article document', () => {
  it('parses the article text verbatim into canonical values', () => {
    const { config, notices } = parse(parseNamespaceBody(ARTICLE_TIMESERIES_DOC), 'tracing');
    assert.deepEqual(config, {
      kind: 'timeseries',
      name: 'tracing',
      primary: {
        storage: { requestedType: 'CASSANDRA', requestedCluster: 'cass_dgw_ts_tracing', dataset: 'tracing_default', store: 'sqlite' },
        secondsPerTimeSlice: 129600,
        secondsPerTimeBucket: 3600,
        eventBuckets: 4,
        coalesceMicros: 1 * S,
        bufferCapacityBytes: 4194304,
        consistencyScope: 'LOCAL',
        consistencyTarget: 'EVENTUAL',
        acceptLimitMicros: 129600 * S,
        futureLimitMicros: 60 * S,
        closeAfterMicros: 1296000 * S,
        deleteAfterMicros: 1382400 * S,
      },
      index: {
        storage: { requestedType: 'ELASTICSEARCH', requestedCluster: 'es_dgw_ts_tracing', dataset: 'tracing_default_useast1', store: 'sqlite' },
        fieldMapping: { 'tags.nf.app': 'KEYWORD', 'tags.duration': 'INTEGER', 'tags.enabled': 'BOOLEAN' },
        secondsPerSlice: 129600,
        refreshIntervalMicros: 60 * S,
        closeAfterMicros: 1296000 * S,
        deleteAfterMicros: 1382400 * S,
      },
    });
    const none = 'accepted but has no effect: ';
    assert.deepEqual(notices, [
      `persistence_configuration[0].physical_storage.dataset: ${none}namespaces are kept apart by name inside the store; dataset is stored and returned only`,
      'persistence_configuration[0].physical_storage: type CASSANDRA mapped to SQLITE (embedded store); cluster "cass_dgw_ts_tracing" is not configured, using the default store',
      `persistence_configuration[0].config.consistencyScope: ${none}dgw runs in one region; a write is durable when acknowledged and visible at once to reads of the primary store`,
      `persistence_configuration[0].config.consistencyTarget: ${none}dgw runs in one region; a write is durable when acknowledged and visible at once to reads of the primary store`,
      `persistence_configuration[1].physicalStorage.dataset: ${none}namespaces are kept apart by name inside the store; dataset is stored and returned only`,
      'persistence_configuration[1].physicalStorage: type ELASTICSEARCH mapped to SQLITE (embedded store); cluster "es_dgw_ts_tracing" is not configured, using the default store',
      `persistence_configuration[1].config.timePartition.secondsPerSlice: ${none}the index is not split into time slices: what Search shows follows the primary's slices, and its delete_after bounds how long documents are kept`,
      `persistence_configuration[1].config.consistencyScope: ${none}index documents are committed with their events (same store) or right after them`,
      `persistence_configuration[1].config.consistencyTarget: ${none}index documents are committed with their events (same store) or right after them`,
      `persistence_configuration[1].config.acceptLimit: ${none}index documents are written with their events, which the primary's acceptLimit governs`,
      `persistence_configuration[1].config.indexConfig.refreshInterval: ${none}index documents are searchable as soon as their write is acknowledged (no refresh cycle)`,
    ]);
  });

  it('parses the same document wrapped in an object or given as an array', () => {
    const fragment = parse(parseNamespaceBody(ARTICLE_TIMESERIES_DOC)).config;
    const wrapped = parse(parseNamespaceBody(`{ ${ARTICLE_TIMESERIES_DOC} }`)).config;
    const array = parse(parseNamespaceBody(ARTICLE_TIMESERIES_DOC.replace('"persistence_configuration":', ''))).config;
    assert.deepEqual(wrapped, fragment);
    assert.deepEqual(array, fragment);
  });
});

describe('parseTimeSeriesNamespace: defaults', () => {
  it('fills every default for {}', () => {
    const { config, notices } = parse({});
    assert.deepEqual(config, {
      kind: 'timeseries',
      name: 'ns1',
      primary: {
        storage: { requestedType: 'SQLITE', requestedCluster: '', dataset: 'ns1', store: 'sqlite' },
        secondsPerTimeSlice: 86400,
        secondsPerTimeBucket: 3600,
        eventBuckets: 4,
        coalesceMicros: 1 * S,
        bufferCapacityBytes: 4 * 1024 * 1024,
        consistencyScope: 'LOCAL',
        consistencyTarget: 'EVENTUAL',
        acceptLimitMicros: 5 * S,
        futureLimitMicros: 60 * S,
        closeAfterMicros: 0,
        deleteAfterMicros: 0,
      },
    });
    assert.deepEqual(notices, []);
  });

  it('treats an empty list and null values as defaults', () => {
    assert.deepEqual(parse({ persistence_configuration: [] }).config, parse({}).config);
    assert.deepEqual(parse([]).config, parse({}).config);
    assert.deepEqual(parse(primaryDoc({ acceptLimit: null })).config, parse({}).config);
  });

  it('fits the default bucket to a custom slice', () => {
    const { config } = parse(primaryDoc({ timePartition: { secondsPerTimeSlice: 5400 } }));
    assert.equal(config.primary.secondsPerTimeBucket, 1800);
  });

  it('index slice and retention default to the primary ones; refresh 1s', () => {
    const doc = {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', config: { timePartition: { secondsPerTimeSlice: 7200 } }, lifecycleConfigs: { lifecycleConfig: [{ type: 'RETENTION', config: { close_after: '1d', delete_after: '2d' } }] } },
        { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { app: 'keyword' } } } },
      ],
    };
    const { config } = parse(doc);
    assert.deepEqual(config.index, {
      storage: { requestedType: 'SQLITE', requestedCluster: '', dataset: 'ns1', store: 'sqlite' },
      fieldMapping: { app: 'KEYWORD' },
      secondsPerSlice: 7200,
      refreshIntervalMicros: 1 * S,
      closeAfterMicros: 86400 * S,
      deleteAfterMicros: 2 * 86400 * S,
    });
  });

  it('keeps no index when INDEX_STORAGE maps no field, with a notice', () => {
    const { config, notices } = parse({ persistence_configuration: [{ id: 'INDEX_STORAGE' }] });
    assert.equal(config.index, undefined);
    assert.match(notices[0] ?? '', /^persistence_configuration\[0\]: INDEX_STORAGE maps no field/);
  });
});

describe('parseTimeSeriesNamespace: spellings', () => {
  const expected = { slice: 7200, bucket: 600, buckets: 8, coalesce: 250_000, capacity: 8192, accept: 30 * S, future: 10 * S };

  function check(doc: unknown): void {
    const p = parse(doc).config.primary;
    assert.deepEqual(
      { slice: p.secondsPerTimeSlice, bucket: p.secondsPerTimeBucket, buckets: p.eventBuckets, coalesce: p.coalesceMicros, capacity: p.bufferCapacityBytes, accept: p.acceptLimitMicros, future: p.futureLimitMicros },
      expected,
    );
  }

  it('accepts camelCase keys, numbers as strings and durations', () => {
    check(primaryDoc({ timePartition: { secondsPerTimeSlice: '7200', secondsPerTimeBucket: 600, eventBuckets: '8' }, queueBuffering: { coalesce: '250ms', bufferCapacity: '8192' }, acceptLimit: '30s', futureLimit: 10 }));
  });

  it("accepts the article's typo secondPerTimeBucket", () => {
    check(primaryDoc({ timePartition: { secondsPerTimeSlice: '2h', secondPerTimeBucket: '600', eventBuckets: 8 }, queueBuffering: { coalesce: '0.25s', bufferCapacity: '8KiB' }, acceptLimit: '30000ms', futureLimit: '10s' }));
  });

  it('accepts snake_case keys and physicalStorage', () => {
    check({
      persistence_configuration: [
        { id: 'primary_storage', physicalStorage: { type: 'sqlite' }, config: { time_partition: { seconds_per_slice: 7200, seconds_per_bucket: '10m', buckets_per_id: 8 }, queue_buffering: { coalesce: '250ms', buffer_capacity: 8192 }, accept_limit: 30, future_limit: '10s' } },
      ],
    });
    check(primaryDoc({ time_partition: { secondsPerSlice: 7200, secondsPerBucket: 600, event_buckets: 8 }, queueBuffering: { coalesce: '250ms', bufferCapacity: 8192 }, acceptLimit: '30s', futureLimit: '10s' }));
  });

  it('accepts lifecycle spellings and closes at delete when only delete_after is given', () => {
    const p = parse(primaryDoc({}, { lifecycle_configs: { lifecycle_config: [{ type: 'retention', config: { deleteAfter: '3d' } }] } })).config.primary;
    assert.equal(p.closeAfterMicros, 3 * 86400 * S);
    assert.equal(p.deleteAfterMicros, 3 * 86400 * S);
    const q = parse(primaryDoc({}, { lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: '1d' } }] } })).config.primary;
    assert.equal(q.closeAfterMicros, 86400 * S);
    assert.equal(q.deleteAfterMicros, 0);
  });

  it('accepts two spellings of one setting when they agree', () => {
    const p = parse(primaryDoc({ acceptLimit: '5s', accept_limit: '5s' })).config.primary;
    assert.equal(p.acceptLimitMicros, 5 * S);
  });

  it('accepts field types case-insensitively', () => {
    const doc = { persistence_configuration: [{ id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { a: 'text', b: 'Long', c: 'double', d: 'date' } } } }] };
    assert.deepEqual(parse(doc).config.index?.fieldMapping, { a: 'TEXT', b: 'LONG', c: 'DOUBLE', d: 'DATE' });
  });

  it('reports unknown settings as ignored notices', () => {
    const { notices } = parse(primaryDoc({ timePartition: { secondsPerTimeSlize: 10 } }));
    assert.deepEqual(notices, ['persistence_configuration[0].config.timePartition.secondsPerTimeSlize: unknown setting ignored']);
  });

  it('maps MEMORY to the memory store and POSTGRES to the default with a notice', () => {
    assert.equal(parse(primaryDoc({}, { physical_storage: { type: 'MEMORY' } })).config.primary.storage.store, 'memory');
    const { config, notices } = parse(primaryDoc({}, { physical_storage: { type: 'postgres' } }));
    assert.equal(config.primary.storage.store, 'sqlite');
    assert.deepEqual(notices, ['persistence_configuration[0].physical_storage: type POSTGRES is not configured in embedded mode; mapped to SQLITE (embedded store)']);
  });
});

describe('parseTimeSeriesNamespace: invalid input', () => {
  const P = 'persistence_configuration[0]';
  it('names the field of every invalid setting', () => {
    invalid(primaryDoc({}, { physical_storage: { type: 'FOO' } }), `${P}.physical_storage.type`, /unknown store type "FOO" \(expected one of SQLITE, POSTGRES, REDIS, MEMORY, CASSANDRA, ELASTICSEARCH, EVCACHE\)/);
    invalid(primaryDoc({ timePartition: { secondsPerTimeSlice: 0 } }), `${P}.config.timePartition.secondsPerTimeSlice`, /between 1 and/);
    invalid(primaryDoc({ timePartition: { secondsPerTimeSlice: '1.5' } }), `${P}.config.timePartition.secondsPerTimeSlice`, /whole number of seconds/);
    invalid(primaryDoc({ timePartition: { secondsPerTimeSlice: 3600, secondPerTimeBucket: 7200 } }), `${P}.config.timePartition.secondPerTimeBucket`, /between 1 and 3600/);
    invalid(primaryDoc({ timePartition: { secondsPerTimeSlice: 3600, seconds_per_bucket: 7 } }), `${P}.config.timePartition.seconds_per_bucket`, /divide the time slice \(3600s\)/);
    invalid(primaryDoc({ timePartition: { eventBuckets: 0 } }), `${P}.config.timePartition.eventBuckets`, /between 1 and 1024, got 0/);
    invalid(primaryDoc({ timePartition: { eventBuckets: 1025 } }), `${P}.config.timePartition.eventBuckets`);
    invalid(primaryDoc({ timePartition: { eventBuckets: 'four' } }), `${P}.config.timePartition.eventBuckets`, /expected an integer/);
    invalid(primaryDoc({ queueBuffering: { coalesce: 'soon' } }), `${P}.config.queueBuffering.coalesce`, /expected a duration/);
    invalid(primaryDoc({ queueBuffering: { bufferCapacity: 10 } }), `${P}.config.queueBuffering.bufferCapacity`, /between 1024/);
    invalid(primaryDoc({ acceptLimit: '-5s' }), `${P}.config.acceptLimit`);
    invalid(primaryDoc({ futureLimit: true }), `${P}.config.futureLimit`);
    invalid(primaryDoc({ timePartition: 5 }), `${P}.config.timePartition`, /expected an object/);
    invalid(primaryDoc({ acceptLimit: '5s', accept_limit: '6s' }), `${P}.config.accept_limit`, /conflicts with acceptLimit/);
  });

  it('checks retention', () => {
    const lc = (config: unknown) => primaryDoc({}, { lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config }] } });
    invalid(lc({ close_after: '2d', delete_after: '1d' }), `${P}.lifecycleConfigs.lifecycleConfig[0].config.delete_after`, /must not be less than close_after/);
    invalid(lc({ close_after: 'x' }), `${P}.lifecycleConfigs.lifecycleConfig[0].config.close_after`);
    invalid(primaryDoc({}, { lifecycleConfigs: { lifecycleConfig: [{ type: 'ttl' }] } }), `${P}.lifecycleConfigs.lifecycleConfig[0].type`, /unknown lifecycle type "ttl"/);
    invalid(primaryDoc({}, { lifecycleConfigs: { lifecycleConfig: {} } }), `${P}.lifecycleConfigs.lifecycleConfig`, /expected an array/);
    invalid(primaryDoc({ acceptLimit: '2d' }, { lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: '1d' } }] } }), `${P}.config.acceptLimit`, /must not exceed the retention's close_after/);
  });

  it('checks entries and ids', () => {
    invalid({ persistence_configuration: [{ id: 'CACHE' }] }, `${P}.id`, /unknown id for a timeseries namespace "CACHE" \(expected one of PRIMARY_STORAGE, INDEX_STORAGE\)/);
    invalid({ persistence_configuration: [{}] }, `${P}.id`, /required/);
    invalid({ persistence_configuration: [{ id: 'PRIMARY_STORAGE' }, { id: 'PRIMARY_STORAGE' }] }, 'persistence_configuration[1].id', /duplicate/);
    invalid({ persistence_configuration: ['x'] }, P, /expected an object/);
    invalid({ persistence_configuration: {} }, 'persistence_configuration', /expected an array/);
    invalid({ persistance_configuration: [] }, 'persistance_configuration', /unknown top-level field/);
    invalid(42, 'body', /expected an object or an array/);
  });

  it('checks the index field mapping', () => {
    const idx = (fieldMapping: unknown) => ({ persistence_configuration: [{ id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping } } }] });
    invalid(idx({ 'tags.app': 'STRING' }), `${P}.config.indexConfig.fieldMapping["tags.app"]`, /unknown field type "STRING" \(expected one of KEYWORD, TEXT, INTEGER, LONG, DOUBLE, BOOLEAN, DATE\)/);
    invalid(idx({ a: 1 }), `${P}.config.indexConfig.fieldMapping.a`, /expected a string/);
    invalid(idx(['a']), `${P}.config.indexConfig.fieldMapping`, /expected an object/);
  });

  it('checks the namespace name', () => {
    assert.throws(() => parseTimeSeriesNamespace('bad name', {}, catalog), /^DgwError: namespace: invalid name/);
    assert.throws(() => parseTimeSeriesNamespace('', {}, catalog), /namespace: required/);
    assert.throws(() => parseTimeSeriesNamespace('-x', {}, catalog), /namespace: invalid name/);
    assert.throws(() => parseTimeSeriesNamespace('a'.repeat(129), {}, catalog), /namespace: invalid name/);
    assert.doesNotThrow(() => parseTimeSeriesNamespace(`_a.b-C9${'x'.repeat(121)}`, {}, catalog));
  });
});
