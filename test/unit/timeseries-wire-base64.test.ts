/**
 * Item values are base64-encoded in JS when short (issue 9, every item of a read page):
 * the text must be Buffer's, for every length on both sides of the threshold, for Buffers,
 * Uint8Arrays and views into a larger buffer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64 } from '../../src/domain/event-json.js';

describe('base64 of item values', () => {
  it("is Buffer's text, lengths 0-200, three kinds of arrays, seeded bytes", () => {
    let seed = 17;
    const byte = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
    for (let len = 0; len <= 200; len++) {
      for (let round = 0; round < 20; round++) {
        const bytes = Buffer.from(Array.from({ length: len }, byte));
        const expected = bytes.toString('base64');
        const wide = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([4])]);
        for (const value of [bytes, new Uint8Array(bytes), new Uint8Array(wide.buffer, wide.byteOffset + 3, len)]) {
          assert.equal(base64(value), expected, `length ${len}`);
        }
      }
    }
  });
});
