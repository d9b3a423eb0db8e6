/**
 * The bench's wait for a quiet server between scenarios (src/bench/driver.ts `settle`): it
 * waits while the server's processes use a core, returns once they stop, and gives up at
 * its bound. A real child process burns the CPU (the helper reads /proc; Linux only). The
 * margins are wide: only the order of events is asserted, not how long anything took.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { settle } from '../../src/bench/driver.js';

/** A child that spins for `busyMs`, then sleeps until killed. */
function burner(busyMs: number) {
  const child = spawn(process.execPath, ['-e', `const end = Date.now() + ${busyMs}; while (Date.now() < end); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
  return { target: { pids: () => [child.pid!] }, stop: () => child.kill('SIGKILL') };
}

describe('bench settle', { skip: existsSync('/proc/self/stat') ? false : 'reads /proc (Linux only)' }, () => {
  it('waits while the server is busy and returns once it is quiet', async () => {
    const b = burner(1_500);
    try {
      const r = await settle(b.target, { windowMs: 100, maxMs: 20_000 });
      assert.equal(r.quiet, true);
      assert.ok(r.waitedMs >= 1_000, `waited ${r.waitedMs} ms while the child spun for 1,500 ms`);
    } finally {
      b.stop();
    }
  });

  it('gives up at its bound while the server stays busy', async () => {
    const b = burner(60_000);
    try {
      const r = await settle(b.target, { windowMs: 100, maxMs: 500 });
      assert.equal(r.quiet, false);
      assert.ok(r.waitedMs >= 500 && r.waitedMs < 10_000, `waited ${r.waitedMs} ms`);
    } finally {
      b.stop();
    }
  });

  it('does not wait for a server that is idle', async () => {
    const b = burner(0);
    try {
      // Let the child's start-up (its own module loading) pass first.
      await settle(b.target, { windowMs: 100, maxMs: 20_000 });
      const r = await settle(b.target, { windowMs: 100, maxMs: 20_000 });
      assert.equal(r.quiet, true);
      assert.ok(r.waitedMs < 1_000, `waited ${r.waitedMs} ms`);
    } finally {
      b.stop();
    }
  });
});
