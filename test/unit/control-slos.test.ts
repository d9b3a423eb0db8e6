/**
 * The `slos` block of a TimeSeries namespace document (DESIGN 3.5): the article's text is
 * accepted and normalised to microseconds; bad values are INVALID_ARGUMENT naming the field.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseNamespaceBody } from '../../src/core/control/lenient-json.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { assertInvalidArgument } from '../support/invalid-argument.js';

const catalog = createEmbeddedStoreResolver();
const parse = (doc: unknown) => parseTimeSeriesNamespace('slo_ns', doc, catalog);

/** The article's block, comments included, beside a persistence configuration. */
const ARTICLE_SLOS = `{
  "persistence_configuration": [{ "id": "PRIMARY_STORAGE", "config": { "acceptLimit": "1h" } }],
  "slos": {
    "read": {               // SLOs per endpoint
      "latency": {
        "target": "0.5s",   // hedge around this number
        "max": "1s"         // time-out around this number
      }
    },
    "write": {
      "latency": {
        "target": "0.01s",
        "max": "0.05s"
      }
    }
  }
}`;

describe('parseTimeSeriesNamespace: slos', () => {
  it('accepts the article block verbatim and keeps the persistence settings', () => {
    const { config, notices } = parse(parseNamespaceBody(ARTICLE_SLOS));
    assert.deepEqual(config.slos, {
      read: { targetMicros: 500_000, maxMicros: 1_000_000 },
      write: { targetMicros: 10_000, maxMicros: 50_000 },
    });
    assert.equal(config.primary.acceptLimitMicros, 3600 * 1_000_000);
    assert.deepEqual(notices, []);
  });

  it('accepts slos alone, one endpoint, and a missing target (= max)', () => {
    assert.deepEqual(parse({ slos: { read: { latency: { max: '250ms' } } } }).config.slos, { read: { targetMicros: 250_000, maxMicros: 250_000 } });
    assert.equal(parse({}).config.slos, undefined);
    assert.equal(parse({ slos: null }).config.slos, undefined);
  });

  it('refuses bad blocks, naming the field', () => {
    const invalid = (slos: unknown, field: string, pattern?: RegExp) => assertInvalidArgument(() => parse({ slos }), field, pattern);
    invalid([], 'slos', /expected an object/);
    invalid({ reads: { latency: { max: '1s' } } }, 'slos.reads', /unknown endpoint/);
    invalid({ read: {} }, 'slos.read.latency', /required/);
    invalid({ read: { latency: { target: '1s' } } }, 'slos.read.latency.max', /required/);
    invalid({ read: { latency: { target: '2s', max: '1s' } } }, 'slos.read.latency.target', /must not exceed max/);
    invalid({ write: { latency: { max: 'soon' } } }, 'slos.write.latency.max', /expected a duration/);
    invalid({ write: { latency: { max: '0s' } } }, 'slos.write.latency.max', /must be between/);
  });
});
