/** kernel/code-points.ts: the order of UTF-8 bytes, over seeded strings of every kind of code point. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareCodePoints } from '../../src/kernel/code-points.js';
import { prng } from '../support/dgw-load.js';

const sign = (n: number) => Math.sign(n);

describe('compareCodePoints', () => {
  it('orders as UTF-8 bytes do (Buffer.compare), where UTF-16 code units disagree too', () => {
    const rand = prng(7);
    const pick = (n: number) => Math.floor(rand() * n);
    // Ranges that meet at the disagreement: ASCII, BMP below the surrogates, U+E000–U+FFFF, astral.
    const points = [0x00, 0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xefff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff];
    const text = () => Array.from({ length: pick(4) }, () => String.fromCodePoint(pick(3) === 0 ? pick(0x110000 - 0x800) + (pick(2) ? 0 : 0x800) : points[pick(points.length)]!))
      .map((c) => (c.codePointAt(0)! >= 0xd800 && c.codePointAt(0)! <= 0xdfff ? 'x' : c))
      .join('');
    let disagreements = 0;
    for (let i = 0; i < 20000; i++) {
      const a = text();
      const b = pick(5) === 0 ? a : text();
      const bytes = sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(sign(compareCodePoints(a, b)), bytes, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      assert.equal(sign(compareCodePoints(b, a)) + bytes, 0);
      if (sign(a < b ? -1 : a > b ? 1 : 0) !== bytes) disagreements++;
    }
    assert.ok(disagreements > 100, `the seeded strings exercise the cases where code units differ (${disagreements})`);
  });

  it('sorts U+E000 before an astral character, and a prefix first', () => {
    assert.ok(compareCodePoints('\uE000', '\u{1F600}') < 0);
    assert.ok(compareCodePoints('\u{10000}', '\uFFFF') > 0);
    assert.ok(compareCodePoints('a', 'ab') < 0);
    assert.equal(compareCodePoints('\u{1F600}x', '\u{1F600}x'), 0);
  });
});
