/**
 * The V8 settings of `dgw serve` (src/server/memory/v8-flags.ts): allocation-site
 * pretenuring is turned off unless DGW_V8_PRETENURING=1, and the flag is one this Node's
 * V8 knows (an unknown flag is only warned about, so a misspelling would silently do nothing).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyServingV8Flags, SERVING_V8_FLAGS } from '../../src/server/memory/v8-flags.js';

describe('serving V8 flags', () => {
  it('turns allocation-site pretenuring off', () => {
    const set: string[] = [];
    const applied = applyServingV8Flags({}, (flag) => set.push(flag));
    assert.deepEqual(set, ['--no-allocation-site-pretenuring']);
    assert.deepEqual([...applied], set);
  });

  it('keeps V8 defaults with DGW_V8_PRETENURING=1', () => {
    const set: string[] = [];
    assert.deepEqual([...applyServingV8Flags({ DGW_V8_PRETENURING: '1' }, (flag) => set.push(flag))], []);
    assert.deepEqual(set, []);
  });

  it('names flags this V8 recognises', () => {
    for (const flag of SERVING_V8_FLAGS) {
      // On the command line an unknown flag stops node (status 9); set at run time, as
      // serve does, V8 only prints "unrecognized flag" and goes on: both are checked.
      const cli = spawnSync(process.execPath, [flag, '-e', '0'], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      const runtime = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flag)})`], { encoding: 'utf8' });
      assert.equal(runtime.status, 0, runtime.stderr);
      assert.doesNotMatch(runtime.stdout + runtime.stderr, /unrecognized/i);
    }
  });

  it('would catch a misspelt flag', () => {
    const runtime = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString('--no-allocation-site-pretenurin')`], { encoding: 'utf8' });
    assert.match(runtime.stdout + runtime.stderr, /unrecognized/i);
  });
});
