import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseNamespaceBody } from '../../src/core/control/lenient-json.js';
import { DgwError } from '../../src/kernel/errors.js';

function invalid(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseNamespaceBody(text),
    (err: unknown) => err instanceof DgwError && err.code === 'INVALID_ARGUMENT' && pattern.test(err.message),
  );
}

describe('parseNamespaceBody', () => {
  it('reads strict JSON', () => {
    assert.deepEqual(parseNamespaceBody('{"persistence_configuration":[{"id":"PRIMARY_STORAGE"}]}'), {
      persistence_configuration: [{ id: 'PRIMARY_STORAGE' }],
    });
  });

  it('reads an empty body, whitespace and {} as all defaults', () => {
    assert.deepEqual(parseNamespaceBody(''), {});
    assert.deepEqual(parseNamespaceBody('  \n '), {});
    assert.deepEqual(parseNamespaceBody('{}'), {});
    assert.deepEqual(parseNamespaceBody('// nothing to set\n'), {});
  });

  it('accepts comments and trailing commas', () => {
    const doc = parseNamespaceBody('{\n  // a comment\n  "persistence_configuration": [ { "id": "CACHE", /* inline */ }, ],\n}');
    assert.deepEqual(doc, { persistence_configuration: [{ id: 'CACHE' }] });
  });

  it('wraps the bare fragment form in braces', () => {
    assert.deepEqual(parseNamespaceBody('"persistence_configuration": [ { "id": "CACHE" }, ]'), {
      persistence_configuration: [{ id: 'CACHE' }],
    });
    assert.deepEqual(parseNamespaceBody('\n  // leading comment\n"persistence_configuration": [],'), {
      persistence_configuration: [],
    });
  });

  it('accepts a bare array of entries', () => {
    assert.deepEqual(parseNamespaceBody('[ { "id": "CACHE" } ]'), [{ id: 'CACHE' }]);
  });

  it('strips a byte order mark', () => {
    assert.deepEqual(parseNamespaceBody('\uFEFF{}'), {});
  });

  it('reports malformed JSON with line and column', () => {
    invalid('{\n  "a": 1,\n  "b": }', /^body: malformed JSON at line 3, column 8: invalid character '\}'/);
  });

  it('reports positions of a malformed fragment in the original text', () => {
    invalid('"persistence_configuration": [\n  { "id": "CACHE" ]\n]', /^body: malformed JSON at line 2, column 19/);
  });

  it('reports a truncated body as the end of input', () => {
    invalid('{ "persistence_configuration": [', /^body: malformed JSON/);
    invalid('"persistence_configuration": [ {', /^body: malformed JSON at end of input/);
    invalid('/* never closed', /^body: malformed JSON/);
  });
});
