/**
 * Machine tools a test needs (promtool, chromium): found on PATH or at a fixed path.
 * Missing under CI=true is a failure (.ci/run installs them); elsewhere the test skips
 * with a loud banner, as backend tests do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The tool's path, or undefined (after a banner) when it is missing outside CI. */
export function requireTool(name: string, candidates: string[], installHint: string): string | undefined {
  for (const c of candidates) {
    if (c.includes('/') ? existsSync(c) : spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) return c;
  }
  const message = `${name} not found (${candidates.join(', ')}); install it: ${installHint}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.error(`\n!!! SKIPPING: ${message}\n`);
  return undefined;
}
