/**
 * Runs the `dgw` command line as a real child process (the same entry point as the
 * package's bin, through tsx so the sources under test are what runs).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Exit status and output of one `dgw` run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `dgw ...args` with `env` added, `input` on stdin; resolves when it exits.
 * `readDelayMs`: stdout is not read for that long, as a slower reader of a pipe would.
 */
export function runCli(args: string[], options: { input?: string; env?: Record<string, string>; readDelayMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    if (options.readDelayMs) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), options.readDelayMs);
    }
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
