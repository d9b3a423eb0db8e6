/**
 * Short blobs come back from SQLite as hex and are decoded in JS (issue 9): the bytes and
 * the decoded items must be exactly what the blob gives, through a real SQLite `hex()` and
 * the CASE of shortHexSql, on both sides of the size threshold, for random bytes and keys
 * (ASCII, multi-byte UTF-8, invalid UTF-8).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { bytesOf, HEX_MAX_BYTES, itemsOf, shortHexSql } from '../../src/storage/sqlite/hex-bytes.js';
import { decodeItems, encodeItems } from '../../src/storage/item-codec.js';
import { prng } from '../support/dgw-load.js';

const plainItems = (items: readonly { key: string; value: Uint8Array }[]) => items.map((i) => [i.key, [...i.value]]);

describe('sqlite short blobs as hex', () => {
  const db = new Database(':memory:');
  const read = db.prepare(`SELECT ${shortHexSql('@v')}, ${shortHexSql('@v', 40)}`).raw(true);

  it('bytesOf gives the blob bytes, lengths 0-150, seeded bytes', () => {
    const rand = prng(5);
    for (let len = 0; len <= 150; len++) {
      for (let round = 0; round < 5; round++) {
        const blob = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
        const [hexOrBlob] = read.get({ v: blob }) as [string | Buffer];
        assert.equal(typeof hexOrBlob === 'string', len <= HEX_MAX_BYTES, `length ${len}`);
        const bytes = bytesOf(hexOrBlob);
        assert.ok(bytes instanceof Uint8Array);
        assert.deepEqual([...bytes], [...blob], `length ${len}`);
      }
    }
  });

  it('itemsOf gives what decodeItems gives for the blob, seeded keys and values', () => {
    const rand = prng(11);
    const keyChars = ['a', 'Z', '_', '0', '\u0000', 'é', '字', '😀'];
    for (let round = 0; round < 400; round++) {
      const items = Array.from({ length: Math.floor(rand() * 4) }, () => ({
        key: Array.from({ length: Math.floor(rand() * 6) }, () => keyChars[Math.floor(rand() * (rand() < 0.7 ? 4 : keyChars.length))]!).join(''),
        value: new Uint8Array(Array.from({ length: Math.floor(rand() * 12) }, () => Math.floor(rand() * 256))),
      }));
      const blob = encodeItems(items);
      if (round % 7 === 0 && items.length > 0) {
        // A key with invalid UTF-8 (a lone continuation byte): both decoders replace it alike.
        const at = blob.indexOf(Buffer.from(items[0]!.key, 'utf8'));
        if (items[0]!.key.length > 0 && at > 0) blob[at] = 0x80;
      }
      const [, hexOrBlob] = read.get({ v: blob }) as [unknown, string | Buffer];
      assert.equal(typeof hexOrBlob === 'string', blob.length <= 40);
      assert.deepEqual(plainItems(itemsOf(hexOrBlob)), plainItems(decodeItems(blob)), `round ${round}`);
    }
  });
});
