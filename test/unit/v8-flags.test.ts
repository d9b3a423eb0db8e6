/**
 * V8's allocation-site pretenuring in `dgw serve` (src/server/memory/v8-flags.ts): off with
 * shared stores, on for embedded SQLite, DGW_V8_PRETENURING forcing either; the flag is one
 * this Node's V8 knows (set at run time an unknown flag is only warned about, so a
 * misspelling would silently do nothing), and setting it at run time, as serve does, really
 * stops V8 from weighing sites for tenuring. That serve applies it is checked by the CLI and
 * workers tests, from the flags each process logs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyPretenuring, choosePretenuring, NO_PRETENURING_FLAG, pretenuringOverride } from '../../src/server/memory/v8-flags.js';

describe('V8 pretenuring of dgw serve', () => {
  it('is off for a shared default store and on for an embedded one', () => {
    assert.equal(choosePretenuring(true, undefined).pretenuring, 'off');
    assert.equal(choosePretenuring(false, undefined).pretenuring, 'on');
    const set: string[] = [];
    assert.deepEqual([...applyPretenuring(choosePretenuring(true, undefined), (f) => set.push(f))], [NO_PRETENURING_FLAG]);
    assert.deepEqual([...applyPretenuring(choosePretenuring(false, undefined), (f) => set.push(f))], []);
    assert.deepEqual(set, [NO_PRETENURING_FLAG]);
  });

  it('DGW_V8_PRETENURING forces either way; any other value is refused by name', () => {
    assert.equal(pretenuringOverride({}), undefined);
    assert.equal(pretenuringOverride({ DGW_V8_PRETENURING: '' }), undefined);
    assert.equal(choosePretenuring(true, pretenuringOverride({ DGW_V8_PRETENURING: 'on' })).pretenuring, 'on');
    assert.equal(choosePretenuring(false, pretenuringOverride({ DGW_V8_PRETENURING: 'off' })).pretenuring, 'off');
    assert.throws(() => pretenuringOverride({ DGW_V8_PRETENURING: '1' }), /DGW_V8_PRETENURING must be "on" or "off".*"1"/);
  });

  it('names a flag this V8 recognises, and a misspelling would be caught', () => {
    const cli = spawnSync(process.execPath, [NO_PRETENURING_FLAG, '-e', '0'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const runtime = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(NO_PRETENURING_FLAG)})`], { encoding: 'utf8' });
    assert.equal(runtime.status, 0, runtime.stderr);
    assert.doesNotMatch(runtime.stdout + runtime.stderr, /unrecognized/i);
    const misspelt = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString('--no-allocation-site-pretenurin')`], { encoding: 'utf8' });
    assert.match(misspelt.stdout + misspelt.stderr, /unrecognized/i);
  });

  it('set at run time, stops V8 weighing sites for tenuring', () => {
    // Objects from literal sites kept alive across young collections: with pretenuring on,
    // V8 weighs those sites after each scavenge (--trace-pretenuring-statistics prints
    // each one, "maybe tenure" or "tenure"); with the flag set at run time, before the
    // allocations, it weighs none, so no site can be tenured.
    const script = `
      if (process.argv[1] === 'off') require('node:v8').setFlagsFromString(${JSON.stringify(NO_PRETENURING_FLAG)});
      const keep = [];
      function make(i) { return { a: i, b: [i], c: { d: i } }; }
      for (let r = 0; r < 30; r++) {
        for (let i = 0; i < 100000; i++) keep.push(make(i));
        if (keep.length > 300000) keep.length = 0;
      }
      console.log('made');`;
    const run = (mode: string) => spawnSync(process.execPath, ['--trace-pretenuring', '--trace-pretenuring-statistics', '-e', script, mode], { encoding: 'utf8' });
    const on = run('on');
    assert.equal(on.status, 0, on.stderr);
    assert.match(on.stdout, /pretenuring: AllocationSite\(.*=> (maybe )?tenure/);
    const off = run('off');
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, /made/);
    assert.doesNotMatch(off.stdout, /pretenuring: AllocationSite/);
  });
});
