/**
 * /readyz tells the truth about writes (issue 14 hardening): on a full disk every write
 * fails while `SELECT 1` still answers, so a read-only probe said "ready". The data
 * directory here is a real, tiny tmpfs (mounting needs root: skipped loudly otherwise);
 * events are written until the disk is full, then /readyz must answer 503 in the error
 * envelope, and 200 again once space is freed and a write succeeded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64, startTestServer, type TestServer } from '../support/http-server.js';

function canMount(): string | false {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'no mount command';
  }
}

const skip = canMount();
if (skip) console.warn(`\n!!! SKIPPING /readyz full-disk test: ${skip} !!!\n`);

describe('/readyz on a full disk', { skip }, () => {
  let mnt: string;
  let t: TestServer | undefined;

  before(async () => {
    mnt = mkdtempSync(join(tmpdir(), 'dgw-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    t = await startTestServer({ dataDir: join(mnt, 'data') });
  });

  after(async () => {
    await t?.stop().catch(() => undefined);
    if (mnt) {
      execFileSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('answers 503 while writes fail for want of space, 200 once space is back', async () => {
    assert.equal((await t!.call('GET', '/readyz')).status, 200);
    assert.equal((await t!.call('PUT', '/v1/timeseries/namespaces/full', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '30d' } }] })).status, 201);
    const value = b64('x'.repeat(30_000));
    let failed: { status: number; json: Record<string, unknown> } | undefined;
    for (let i = 0; i < 400 && !failed; i++) {
      const events = Array.from({ length: 10 }, (_, j) => ({
        timeSeriesId: `s${j}`,
        eventTime: '2024-10-03T21:00:00Z',
        eventId: `e${i}_${j}`,
        eventItems: [{ eventItemKey: 'v', eventItemValue: value }],
      }));
      const r = await t!.post('/v1/timeseries/WriteEventRecordsSync', { namespace: 'full', events });
      if (r.status !== 200) failed = r;
    }
    assert.ok(failed, 'the disk never filled up');
    assert.equal(failed.status, 503, JSON.stringify(failed.json));
    // Whatever is left: fill it so that no write can squeeze in.
    try {
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(4 * 1024 * 1024));
    } catch {
      // ENOSPC: the disk is full, as wanted.
    }
    const ready = await t!.call('GET', '/readyz');
    assert.equal(ready.status, 503, JSON.stringify(ready.json));
    assert.equal((ready.json.error as { code?: string } | undefined)?.code, 'UNAVAILABLE');

    rmSync(join(mnt, 'filler'), { force: true });
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const retry = { timeSeriesId: 's0', eventTime: '2024-10-03T21:00:00Z', eventId: 'after', eventItems: [{ eventItemKey: 'v', eventItemValue: value }] };
    assert.equal((await t!.post('/v1/timeseries/WriteEventRecordsSync', { namespace: 'full', events: [retry] })).status, 200);
    assert.equal((await t!.call('GET', '/readyz')).status, 200);
  });
});
