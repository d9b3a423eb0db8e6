/**
 * The hand-written SQLite floor of the bench (src/bench/floor-sqlite.ts): its read answers
 * in dgw's wire shape, byte for byte per event (domain/event-json.ts writes dgw's), newest
 * first, paging without gap or overlap; its adds are answered only after their group commit
 * and are all stored. No timing is asserted.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isoMicros, openFloorSqlite, type FloorReply } from '../../src/bench/floor-sqlite.js';
import { eventJson } from '../../src/domain/event-json.js';

/** A response that records what the route wrote, and `atEnd()` when it was written. */
function fakeResponse(atEnd: () => number = () => 0): { res: ServerResponse; reply: FloorReply; answer: Promise<{ status: number; body: string; at: number }> } {
  let status = 0;
  let done: (a: { status: number; body: string; at: number }) => void = () => undefined;
  const answer = new Promise<{ status: number; body: string; at: number }>((r) => (done = r));
  const res = {
    writeHead(s: number) {
      status = s;
      return res;
    },
    end(body: string) {
      done({ status, body, at: atEnd() });
    },
  } as unknown as ServerResponse;
  const reply: FloorReply = (s, body) => done({ status: s, body, at: atEnd() });
  return { res, reply, answer };
}

interface Page {
  events: { timeSeriesId: string; eventTime: string; eventId: string; eventItems: { eventItemKey: string; eventItemValue: string }[] }[];
  nextPageToken?: string;
}

describe('bench floor over SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgw-floor-test-'));
  const file = join(dir, 'floor.db');
  const events = 3000;
  const series = 3;
  const floor = openFloorSqlite(file, { preload: { events, series } });
  after(() => {
    floor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = async (body: object): Promise<{ status: number; page: Page; text: string }> => {
    const { res, answer } = fakeResponse();
    floor.read(JSON.stringify(body), res);
    const a = await answer;
    return { status: a.status, page: a.status === 200 ? (JSON.parse(a.body) as Page) : { events: [] }, text: a.body };
  };
  const interval = { start: new Date(Date.now() - 2 * 3600_000).toISOString(), end: new Date(Date.now() + 60_000).toISOString() };

  it('reads a series newest first in dgw’s wire shape, paging over all of its events', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const { status, page, text } = await read({ namespace: 'n', timeSeriesId: 's1', timeInterval: interval, pageSize: 100, ...(token ? { pageToken: token } : {}) });
      assert.equal(status, 200);
      // Each event's text is what dgw writes for the same event.
      const expected = page.events.map((e) =>
        eventJson({
          timeSeriesId: e.timeSeriesId,
          eventTimeMicros: Date.parse(e.eventTime) * 1000,
          eventId: e.eventId,
          items: e.eventItems.map((i) => ({ key: i.eventItemKey, value: Buffer.from(i.eventItemValue, 'base64') })),
        }),
      );
      assert.ok(text.startsWith(`{"events":[${expected.join(',')}]`));
      for (const e of page.events) {
        assert.equal(e.timeSeriesId, 's1');
        assert.deepEqual(e.eventItems.map((i) => i.eventItemKey), ['deviceType']);
        seen.push(e.eventId);
      }
      token = page.nextPageToken;
      pages++;
    } while (token && pages < 20);
    assert.equal(pages, 10);
    assert.equal(seen.length, events / series);
    assert.equal(new Set(seen).size, seen.length);
    // Event i is in series i mod 3, and later i is newer: newest first is descending i.
    const ids = seen.map((id) => Number(id.slice(1)));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
    assert.ok(ids.every((i) => i % series === 1));
  });

  it('keeps to the interval and refuses a malformed request', async () => {
    const empty = await read({ timeSeriesId: 's0', timeInterval: { start: interval.end, end: new Date(Date.now() + 120_000).toISOString() }, pageSize: 100 });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.page, { events: [] });
    assert.equal((await read({ timeSeriesId: 's0', pageSize: 100 })).status, 400);
  });

  it('writes microseconds as dgw does', () => {
    assert.equal(isoMicros(1_700_000_000_123_000), '2023-11-14T22:13:20.123Z');
    assert.equal(isoMicros(1_700_000_000_123_456), '2023-11-14T22:13:20.123456Z');
  });

  it('commits the adds of one event-loop turn together, answers each after that commit, and stores every add', async () => {
    const before = floor.stats();
    const answers = Array.from({ length: 30 }, (_, i) => {
      // Each answer records how many of these adds were committed when it was written.
      const { reply, answer } = fakeResponse(() => floor.stats().adds - before.adds);
      floor.add(JSON.stringify({ namespace: 'n', counter_name: `c${i % 3}`, delta: 2, idempotency_token: { token: `t${i}`, generation_time: new Date().toISOString() } }), reply);
      return answer;
    });
    const bad = fakeResponse();
    floor.add('{"delta":1}', bad.reply);
    assert.equal((await bad.answer).status, 400);
    for (const a of await Promise.all(answers)) assert.deepEqual(a, { status: 200, body: '{}', at: 30 });
    // The adds of one turn: one transaction, and no other commit in the next turn.
    await new Promise((r) => setImmediate(r));
    assert.equal(floor.stats().commits - before.commits, 1);
    const check = new Database(file, { readonly: true });
    try {
      assert.deepEqual(check.prepare('SELECT count(*) AS n, sum(delta) AS total, count(DISTINCT token) AS tokens FROM adds').get(), { n: 30, total: 60, tokens: 30 });
    } finally {
      check.close();
    }
  });
});

describe('bench floor over SQLite, ordered adds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgw-floor-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const rows = (file: string) => {
    const check = new Database(file, { readonly: true });
    try {
      return check.prepare('SELECT count(*) AS n, sum(delta) AS total FROM adds').get();
    } finally {
      check.close();
    }
  };

  it('stores a retried add once, whenever the retry comes, and answers every add', async () => {
    const file = join(dir, 'retries.db');
    const floor = openFloorSqlite(file, { addLayout: 'ordered' });
    try {
      const generation_time = new Date().toISOString();
      const add = (token: string, delta: number) => {
        const { reply, answer } = fakeResponse();
        floor.add(JSON.stringify({ namespace: 'n', counter_name: 'c', delta, idempotency_token: { token, generation_time } }), reply);
        return answer;
      };
      const first = await Promise.all([add('a', 1), add('a', 5), add('b', 2)]);
      // The retry of `a` comes in later commits, on the real clock.
      await new Promise((r) => setTimeout(r, 5));
      const later = await add('a', 7);
      await new Promise((r) => setTimeout(r, 5));
      const last = await add('b', 9);
      assert.deepEqual([...first, later, last].map((a) => a.status), [200, 200, 200, 200, 200]);
      assert.deepEqual(rows(file), { n: 2, total: 3 });
    } finally {
      floor.close();
    }
  });

  it('keeps every add without a token, even in the same microsecond', async () => {
    const file = join(dir, 'untokened.db');
    const floor = openFloorSqlite(file, { addLayout: 'ordered', nowMicros: () => 1_700_000_000_000_000 });
    try {
      const answers = await Promise.all(
        [1, 2, 3].map((delta) => {
          const { reply, answer } = fakeResponse();
          floor.add(JSON.stringify({ namespace: 'n', counter_name: 'c', delta }), reply);
          return answer;
        }),
      );
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
      assert.deepEqual(rows(file), { n: 3, total: 6 });
    } finally {
      floor.close();
    }
  });
});
