import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBody } from '../../src/server/http/json-body.js';

const URL = '/v1/counter/GetCount';

/** What parseBody must give for a text without long int64 numbers: JSON.parse's object, or its refusal. */
function jsonParse(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('parseBody', () => {
  it('reads GetCount bodies of the common shape as JSON.parse does (same keys, same order)', () => {
    const texts = [
      '{"namespace":"bench_eventual","counter_name":"c17"}',
      '{"namespace":"","counter_name":""}',
      '{"namespace":"ns","counter_name":"ünï 😀 \u007f"}',
      '{"namespace":"ns","counter_name":"a","extra":"b"}',
      '{"namespace":"ns","counter_name":"a\\"b"}',
      '{"namespace":"ns","counter_name":"a\\u0041"}',
      '{"namespace":"n\\\\s","counter_name":"a"}',
      '{"namespace":"ns","counter_name":"a\tb"}',
      '{"namespace":"ns","counter_name":"a"} ',
      '{"namespace":"ns","counter_name":"}',
      '{"namespace":"ns","counter_name":"a"}}',
      '{"namespace":"ns","counter_name":"a"',
      '{"namespace":"ns","counterName":"a"}',
      '{"namespace":"ns", "counter_name":"a"}',
      '{"namespace":"ns","counter_name":"a","namespace":"x"}',
      '{"counter_name":"a","namespace":"ns"}',
      '{"namespace":"ns","counter_name":"a","delta":12345678901234567890}',
    ];
    for (const text of texts) {
      const expected = jsonParse(text.replace(/("delta":)(\d{16,})/, '$1"$2"'));
      let got: { value?: unknown; error?: string };
      try {
        got = { value: parseBody(URL, text) };
      } catch (err) {
        got = { error: (err as Error).message };
      }
      assert.deepEqual(got, expected, text);
      if (got.value !== undefined) assert.deepEqual(Object.keys(got.value as object), Object.keys(expected.value as object), text);
    }
  });
});
