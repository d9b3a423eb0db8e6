/**
 * The page-JSON SQLite extension (issue 9; src/storage/sqlite/native/page-json.c) writes a
 * read page inside the scan statement. It must answer exactly what the JavaScript path
 * answers (packed-reads.ts, `eventTexts`), byte for byte and with the same event ends: both
 * run here over the same file, on both slice-table keys, for ids, keys and values chosen to
 * break an encoder (quotes, backslashes, every control character, non-ASCII and astral
 * characters, empty and long values), times on and off the millisecond and across calendar
 * edges, ties on time, multi-item events cut by the row limit, every limit and cursor. Rows
 * the extension cannot write the same way (text that is not UTF-8, times JavaScript cannot
 * format alike) must be declined, so that the read falls back to the JavaScript path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { jsonTimeBucketScan, pageJsonScanSql, ScanTexts } from '../../src/storage/sqlite/packed-reads.js';
import { pageJsonDisabled, pageJsonExtensionPath } from '../../src/storage/sqlite/page-json-extension.js';
import { BUCKETED_LAYOUT, sliceTableDdl, TIME_ORDERED_LAYOUT, type SliceLayout } from '../../src/storage/sqlite/schema.js';
import type { TimeBucketScan } from '../../src/storage/contracts.js';
import { eventJsonPosition, joinedEventText, type JoinedEventJson } from '../../src/domain/event-json.js';
import { prng } from '../support/dgw-load.js';
import { tempDir } from '../support/temp-dir.js';

const built = pageJsonExtensionPath() !== undefined && !pageJsonDisabled();
if (!built) {
  const why = pageJsonDisabled() ? 'DGW_SQLITE_PAGE_JSON=0' : 'not built (no C compiler at npm run build?)';
  console.warn(`\n*** page-JSON extension ${why}: its tests are skipped; reads use the JavaScript path ***\n`);
}

/** Ids and keys an encoder gets wrong: JSON escapes, control characters, non-ASCII, astral. */
const HARD_TEXTS = [
  'plain',
  '',
  'quote"inside',
  'back\\slash',
  '\\"',
  'tab\tnew\nline\rcr\bbs\fff',
  Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''),
  '\u007f del',
  'line\u2028para\u2029sep',
  'é à ü ñ',
  '中文字',
  '😀 astral 𝄞',
  '</script>',
  '{"json":[1,2]}',
  'x'.repeat(300),
];

/** Times (µs) on and off the millisecond, before 1970, on calendar edges, at the safe-integer edge. */
const HARD_TIMES = [
  0,
  1,
  999,
  1000,
  -1,
  -1000,
  -1001,
  Date.UTC(2024, 1, 29, 23, 59, 59, 999) * 1000 + 999,
  Date.UTC(2000, 0, 1) * 1000,
  Date.UTC(1900, 2, 1) * 1000 + 5,
  Date.UTC(1969, 11, 31, 23, 59, 59, 999) * 1000 + 999,
  Date.UTC(2100, 11, 31, 12) * 1000 + 123_456,
  Number.MAX_SAFE_INTEGER - 7,
  -Number.MAX_SAFE_INTEGER + 7,
];

interface Row {
  series: string;
  time: number;
  id: string;
  key: string;
  value: Buffer;
}

const INSERT = (table: string) => `INSERT OR IGNORE INTO "${table}" VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`;

/** Writes rows into a new slice table of `layout` (time bucket 0); returns the table. */
function tableWith(sql: SqliteDatabase, name: string, layout: SliceLayout, rows: readonly Row[]): { name: string; layout: SliceLayout } {
  sql.db.exec(sliceTableDdl(name, layout));
  const insert = sql.db.prepare(INSERT(name));
  sql.db.transaction(() => {
    for (const r of rows) insert.run(r.series, 0, r.id.length % 4, r.time, r.id, r.key, r.value);
  })();
  return { name, layout };
}

/** Seeded events over a few series: hard ids, keys and times, 1–20 items each (more than a first round's row limit of 8), ties on time. */
function hardRows(seed: number, count: number): Row[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const rows: Row[] = [];
  for (let e = 0; e < count; e++) {
    const series = pick(['a', 'b', 'quote"series', 'ünï😀']);
    const time = rnd() < 0.3 ? pick(HARD_TIMES) : Math.floor(rnd() * 4) * 1000 + (rnd() < 0.5 ? 0 : Math.floor(rnd() * 1000));
    const id = `${pick(HARD_TEXTS)}#${e}`;
    const items = 1 + Math.floor(rnd() * 20);
    for (let k = 0; k < items; k++) {
      const length = pick([0, 1, 2, 3, 4, 47, 48, 49, 100, 1000]);
      const value = Buffer.alloc(length);
      for (let i = 0; i < length; i++) value[i] = Math.floor(rnd() * 256);
      rows.push({ series, time, id, key: `${pick(HARD_TEXTS)}/${k}`, value });
    }
  }
  return rows;
}

function scanOf(table: string, series: string, limit: number, after?: TimeBucketScan['after']): TimeBucketScan {
  return {
    namespace: 'page_json',
    sliceId: 0,
    timeSeriesId: series,
    timeBucket: 0,
    eventBuckets: 4,
    fromMicros: -Number.MAX_SAFE_INTEGER,
    toMicros: Number.MAX_SAFE_INTEGER,
    limit,
    ...(after ? { after } : {}),
  };
}

function same(a: JoinedEventJson, b: JoinedEventJson, what: string): void {
  assert.equal(a.text, b.text, `${what}: text`);
  assert.deepEqual(a.ends, b.ends, `${what}: event ends`);
}

describe('page-JSON extension (SQLite): the same pages as the JavaScript path', { skip: !built && process.env.CI !== 'true' }, () => {
  it('is built and loads (CI builds it: `npm ci` runs the build)', () => {
    assert.ok(pageJsonExtensionPath(), 'dist/storage/sqlite/native/page-json.* exists');
    const sql = new SqliteDatabase(':memory:');
    try {
      assert.equal(sql.pageJson, true, 'dgw_page_json is loaded on a new connection');
    } finally {
      sql.close();
    }
  });

  for (const [layoutName, layout] of [
    ['time-ordered', TIME_ORDERED_LAYOUT],
    ['bucketed', BUCKETED_LAYOUT],
  ] as const) {
    it(`answers every page, limit and cursor alike over hard ids, keys, values and times (${layoutName} key)`, () => {
      const file = join(tempDir(), 'pages.sqlite');
      const native = new SqliteDatabase(file);
      const js = new SqliteDatabase(file, { pageJson: false });
      try {
        assert.equal(native.pageJson, true);
        assert.equal(js.pageJson, false);
        const table = tableWith(native, 'ev_hard', layout, hardRows(layout + 7, 400));
        const nativeTexts = new ScanTexts();
        const jsTexts = new ScanTexts();
        let pages = 0;
        for (const series of ['a', 'b', 'quote"series', 'ünï😀', 'missing']) {
          for (const limit of [1, 2, 3, 7, 8, 9, 50, 1000]) {
            // Follow the series to its end, page by page, from each page's last event.
            let after: TimeBucketScan['after'];
            for (let guard = 0; guard < 500; guard++) {
              const scan = scanOf(table.name, series, limit, after);
              const a = jsonTimeBucketScan(native, nativeTexts, table, scan);
              const b = jsonTimeBucketScan(js, jsTexts, table, scan);
              same(a, b, `${series}, limit ${limit}, page ${guard}`);
              pages++;
              if (b.ends.length < limit) break;
              const { eventTimeMicros, eventId } = eventJsonPosition(joinedEventText(b, b.ends.length - 1));
              after = { eventTimeMicros, eventId };
            }
          }
        }
        assert.ok(pages > 100, `${pages} pages compared`);
      } finally {
        native.close();
        js.close();
      }
    });
  }

  it('declines rows it cannot write as JavaScript does, and the read falls back to the same answer', () => {
    const file = join(tempDir(), 'declined.sqlite');
    const native = new SqliteDatabase(file);
    const js = new SqliteDatabase(file, { pageJson: false });
    try {
      const good: Row = { series: 's', time: 1_000, id: 'ok', key: 'k', value: Buffer.from('v') };
      const table = tableWith(native, 'ev_declined', TIME_ORDERED_LAYOUT, [good]);
      const aggregate = (series: string) =>
        native.db.prepare(pageJsonScanSql(table, 4, 8)).raw(true).get({ seriesJson: JSON.stringify(series), series, timeBucket: 0, from: -1e18, hi: 1e18, cursorTime: 1e18, cursorId: '' }) as [
          string | null,
          number,
        ];
      assert.notEqual(aggregate('s')[0], null, 'a plain row is written');
      // Text that is not UTF-8 (written by hand; dgw never stores it), a time past 2^53 µs.
      native.db.exec(`INSERT INTO "${table.name}" VALUES ('bad_utf8', 0, 0, 5, CAST(x'C328' AS TEXT), 'k', x'00', NULL)`);
      native.db.exec(`INSERT INTO "${table.name}" VALUES ('bad_key', 0, 0, 5, 'id', CAST(x'EDA080' AS TEXT), x'00', NULL)`);
      native.db.exec(`INSERT INTO "${table.name}" VALUES ('far', 0, 0, 9007199254740993, 'id', 'k', x'00', NULL)`);
      for (const series of ['bad_utf8', 'bad_key', 'far']) {
        assert.equal(aggregate(series)[0], null, `${series}: declined`);
        same(jsonTimeBucketScan(native, new ScanTexts(), table, scanOf(table.name, series, 10)), jsonTimeBucketScan(js, new ScanTexts(), table, scanOf(table.name, series, 10)), series);
      }
      assert.equal(aggregate('nothing')[0], '', 'no rows: an empty page, not a decline');
    } finally {
      native.close();
      js.close();
    }
  });
});
