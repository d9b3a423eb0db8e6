/**
 * SearchEventRecords on SQLite: a string `equals`, alone or in an `and`, walks the posting
 * rows of its value (`index_fields_posting`, schema v5, issue 9) instead of every document
 * of the interval. The pages must be exactly those of the memory index (the reference
 * evaluator) on seeded documents: ties on time, KEYWORD and TEXT values of one key, other
 * conjuncts, random intervals and page sizes, every page followed to the end through its
 * cursor. A data directory written by schema v4 finds its old documents after the migration.
 * The packed search (each event its wire JSON text: stored since schema v6, built from the
 * columns for older documents) answers exactly the generic search's events.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EventRecord, IndexDoc, IndexField, IndexSearch, IndexStore, SearchExpr, SearchPosition } from '../../src/storage/contracts.js';
import { canonicalIndexText, textTokens } from '../../src/storage/index-text.js';
import { encodeItems } from '../../src/storage/item-codec.js';
import { MemoryIndexStore } from '../../src/storage/memory/index-store.js';
import { eventJson, joinEventJson } from '../../src/domain/event-json.js';
import { searchSql } from '../../src/storage/sqlite/index-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/storage/sqlite/schema.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';
import { prng } from '../support/dgw-load.js';
import { tempDir } from '../support/temp-dir.js';

const SEC = 1_000_000;
const T0 = Date.UTC(2024, 9, 3) * 1000;

const plain = (events: readonly EventRecord[]) =>
  events.map((e) => `${e.timeSeriesId}@${e.eventTimeMicros}/${e.eventId}{${e.items.map((i) => `${i.key}=${Buffer.from(i.value).toString('hex')}`).join(',')}}`);

const KEYWORDS = ['red', 'blue', 'Red', 'fox trot'];
const TEXTS = ['the quick fox', 'red fox', 'Quick RED', 'fox-trot 42', ''];

/** Seeded documents: coarse times (many ties), a key `k` KEYWORD on some, TEXT on others, absent on the rest. */
function corpus(namespace: string, seed: number, count: number, idPrefix = 'e'): IndexDoc[] {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  return Array.from({ length: count }, (_, i) => {
    const fields: IndexField[] = [{ key: 'n', type: 'INTEGER', value: pick(10) }, { key: 'g', type: 'KEYWORD', value: pick(2) ? 'a' : 'b' }];
    const r = rand();
    if (r < 0.6) fields.push({ key: 'k', type: 'KEYWORD', value: KEYWORDS[pick(KEYWORDS.length)]! });
    else if (r < 0.85) fields.push({ key: 'k', type: 'TEXT', value: TEXTS[pick(TEXTS.length)]! });
    const event: EventRecord = {
      timeSeriesId: `s${pick(4)}`,
      eventTimeMicros: T0 + pick(150) * SEC,
      eventId: `${idPrefix}${i}`,
      items: [{ key: 'v', value: new Uint8Array(pick(3) === 0 ? 300 : 1 + pick(8)).fill(i & 255) }],
    };
    return { namespace, event, fields };
  });
}

const QUERIES: SearchExpr[] = [
  { equals: { key: 'k', value: 'red' } },
  { equals: { key: 'k', value: 'Red' } },
  { equals: { key: 'k', value: 'fox' } },
  { equals: { key: 'k', value: 'red fox' } },
  { equals: { key: 'k', value: 'fox trot' } },
  { equals: { key: 'k', value: 'QUICK' } },
  { equals: { key: 'k', value: 'nothing' } },
  { equals: { key: 'missing', value: 'red' } },
  { and: [{ equals: { key: 'k', value: 'blue' } }] },
  { and: [{ range: { key: 'n', lower: { value: 3, inclusive: true } } }, { equals: { key: 'k', value: 'red' } }] },
  { and: [{ equals: { key: 'k', value: 'fox' } }, { not: { equals: { key: 'g', value: 'a' } } }, { equals: { key: 'g', value: 'b' } }] },
  // Not a string equals: the document walk.
  { all: true },
  { range: { key: 'n', upper: { value: 4, inclusive: false } } },
  { equals: { key: 'k', value: '--' } },
];

/** Every page of `query` from both stores, page by page through the cursor, compared. */
async function comparePaged(sqlite: IndexStore, memory: IndexStore, base: Omit<IndexSearch, 'limit' | 'after'>, limit: number, label: string): Promise<number> {
  let after: SearchPosition | undefined;
  let pages = 0;
  for (;;) {
    const q: IndexSearch = { ...base, limit, ...(after ? { after } : {}) };
    const [got, want] = [await sqlite.search(q), await memory.search(q)];
    assert.deepEqual(plain(got), plain(want), `${label}, page ${pages}`);
    // The packed search (the HTTP fast path's) finds the same events.
    assert.deepEqual(await sqlite.searchJson!(q), joinEventJson(got.map(eventJson)), `${label}, packed page ${pages}`);
    const last = got[got.length - 1];
    if (!last || got.length < limit) return pages;
    after = { eventTimeMicros: last.eventTimeMicros, timeSeriesId: last.timeSeriesId, eventId: last.eventId };
    pages++;
  }
}

describe('SQLite index: string equals through index_fields_posting', () => {
  it('finds exactly what the memory index finds, page by page to the end', async () => {
    const set = createSqliteStores({ dataDir: tempDir() });
    const memory = new MemoryIndexStore();
    try {
      const docs = corpus('ns', 9, 1200);
      await set.index!.indexEvents(docs);
      await memory.indexEvents(docs);
      // Another namespace with the same values: never found from 'ns'.
      await set.index!.indexEvents(corpus('other', 10, 200));
      const rand = prng(33);
      let pages = 0;
      for (const query of QUERIES) {
        await comparePaged(set.index!, memory, { namespace: 'ns', query, fromMicros: T0, toMicros: T0 + 200 * SEC }, 1000, JSON.stringify(query));
        for (let round = 0; round < 6; round++) {
          const from = T0 + Math.floor(rand() * 100) * SEC;
          const to = from + (1 + Math.floor(rand() * 80)) * SEC;
          const limit = 1 + Math.floor(rand() * 40);
          pages += await comparePaged(set.index!, memory, { namespace: 'ns', query, fromMicros: from, toMicros: to }, limit, `${JSON.stringify(query)} [${from}, ${to}) by ${limit}`);
        }
      }
      assert.ok(pages > 50, `the cursors were followed (${pages} pages)`);
    } finally {
      await set.close();
    }
  });

  it('answers odd series, ids, keys and values as the generic encoding would', async () => {
    const set = createSqliteStores({ dataDir: tempDir() });
    try {
      const odd = ['"q"', 'back\\slash', 'line\nbreak', 'ctl\u0001\u001f\u001e', 'é字😀', '\u2028', ''];
      const docs: IndexDoc[] = Array.from({ length: 40 }, (_, i) => ({
        namespace: 'odd',
        event: {
          timeSeriesId: `${odd[i % odd.length]}s`,
          eventTimeMicros: T0 + (i % 9) * SEC,
          eventId: `${odd[(i + 3) % odd.length]}${i}`,
          items: Array.from({ length: i % 4 }, (_, k) => ({ key: `${odd[(i + k) % odd.length]}k${k}`, value: new Uint8Array([0, 1, 2, 48, 300][(i + k) % 5]!).fill(k * 7 + i) })),
        },
        fields: [{ key: 'k', type: 'KEYWORD', value: i % 2 ? 'x' : 'y' }],
      }));
      await set.index!.indexEvents(docs);
      for (const query of [{ equals: { key: 'k', value: 'x' } }, { all: true }] as SearchExpr[]) {
        const q = { namespace: 'odd', query, fromMicros: T0, toMicros: T0 + 10 * SEC, limit: 100 };
        const found = await set.index!.search(q);
        assert.ok(found.length >= 20);
        assert.deepEqual(await set.index!.searchJson!(q), joinEventJson(found.map(eventJson)));
      }
    } finally {
      await set.close();
    }
  });

  it('plans a string equals as walks of index_fields_posting, without a sort', async () => {
    const dataDir = tempDir();
    const set = createSqliteStores({ dataDir });
    try {
      await set.index!.indexEvents(corpus('ns', 5, 50));
      const db = new Database(join(dataDir, 'dgw.sqlite'), { readonly: true });
      try {
        const nsId = (db.prepare("SELECT id FROM namespace_ids WHERE namespace = 'ns'").get() as { id: number }).id;
        const after = { eventTimeMicros: T0 + 10 * SEC, timeSeriesId: 's1', eventId: 'e3' };
        for (const query of [QUERIES[0]!, QUERIES[3]!, QUERIES[10]!]) {
          for (const [cursor, packed] of [[{}, false], [{ after }, false], [{}, true], [{ after }, true]] as const) {
            const { sql, params } = searchSql(nsId, { namespace: 'ns', query, fromMicros: T0, toMicros: T0 + 200 * SEC, limit: 101, ...cursor }, packed);
            const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
            const label = `${JSON.stringify(query)}: ${plan.join(' | ')}`;
            assert.equal(plan.filter((d) => d.includes('USING COVERING INDEX index_fields_posting')).length, 2, label);
            assert.ok(plan.includes('MERGE (UNION ALL)'), label);
            assert.ok(!plan.some((d) => d.includes('TEMP B-TREE') || d.includes('SCAN')), label);
          }
        }
      } finally {
        db.close();
      }
    } finally {
      await set.close();
    }
  });

  it('migrates a schema v4 data directory: documents indexed before are found after, with new ones', async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir, { recursive: true });
    const old = corpus('ns', 77, 400, 'old');
    // What dgw wrote before v5: the v1-v4 schema and index_fields without the document's columns.
    const db = new Database(join(dataDir, 'dgw.sqlite'));
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) db.exec(m.sql);
    db.prepare('INSERT INTO schema_version (version) VALUES (4)').run();
    const nsId = Number(db.prepare("INSERT INTO namespace_ids (namespace) VALUES ('ns')").run().lastInsertRowid);
    const insertDoc = db.prepare('INSERT INTO index_docs (namespace_id, event_time, time_series_id, event_id, items) VALUES (?, ?, ?, ?, ?)');
    const insertField = db.prepare('INSERT INTO index_fields VALUES (?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const d of old) {
        const e = d.event;
        const docId = insertDoc.run(nsId, e.eventTimeMicros, e.timeSeriesId, e.eventId, encodeItems(e.items)).lastInsertRowid;
        for (const f of d.fields) {
          insertField.run(docId, f.key, 0, f.type, typeof f.value === 'number' ? f.value : null, canonicalIndexText(f.type, f.value));
          if (f.type === 'TEXT') for (const token of textTokens(String(f.value))) insertField.run(docId, f.key, 1, f.type, null, token);
        }
      }
    })();
    db.close();

    const set = createSqliteStores({ dataDir });
    const memory = new MemoryIndexStore();
    try {
      await memory.indexEvents(old);
      const base = { namespace: 'ns', fromMicros: T0, toMicros: T0 + 200 * SEC };
      const red = await set.index!.search({ ...base, query: QUERIES[0]!, limit: 1000 });
      assert.ok(red.length > 20, `old documents found (${red.length})`);
      for (const query of QUERIES) await comparePaged(set.index!, memory, { ...base, query }, 7, `before new writes: ${JSON.stringify(query)}`);
      // Documents written after the migration interleave with the old ones in search order.
      const fresh = corpus('ns', 78, 300, 'new');
      await set.index!.indexEvents(fresh);
      await memory.indexEvents(fresh);
      for (const query of QUERIES) await comparePaged(set.index!, memory, { ...base, query }, 9, `after new writes: ${JSON.stringify(query)}`);
      await set.index!.dropBefore('ns', T0 + 50 * SEC);
      await memory.dropBefore('ns', T0 + 50 * SEC);
      for (const query of QUERIES) await comparePaged(set.index!, memory, { ...base, query }, 50, `after dropBefore: ${JSON.stringify(query)}`);
    } finally {
      await set.close();
    }
    const check = new Database(join(dataDir, 'dgw.sqlite'), { readonly: true });
    try {
      assert.equal((check.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number }).v, SCHEMA_VERSION);
      assert.equal((check.prepare('SELECT count(*) AS n FROM index_fields WHERE namespace_id = 0').get() as { n: number }).n, 0);
      // The packed search above answered both forms: old documents from their columns (no
      // stored JSON), new ones from their stored JSON (schema v6).
      const forms = check.prepare("SELECT json IS NULL AS old, count(*) AS n FROM index_docs GROUP BY 1 ORDER BY 1").all() as { old: number; n: number }[];
      assert.deepEqual(forms.map((f) => f.old), [0, 1]);
      assert.ok(forms.every((f) => f.n > 100), JSON.stringify(forms));
    } finally {
      check.close();
    }
  });
});
