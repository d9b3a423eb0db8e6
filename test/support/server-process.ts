/**
 * Runs dgw as a real child process (`dgw serve`) for restart and crash tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A dgw server process. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /**
   * What the process wrote to stdout and stderr (its log): all of it up to 200,000
   * characters; past that its first 20,000 and its most recent 100,000 to 200,000.
   */
  output(): string;
  /** Sends a signal and waits for exit; resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Options of {@link spawnServer}. */
export interface SpawnOptions {
  /** Variables added to this process's environment (e.g. LD_PRELOAD and FAKETIME for libfaketime). */
  env?: Record<string, string>;
}

/** Spawns `dgw serve --port 0 --data-dir DIR` and waits until it listens. */
export async function spawnServer(dataDir: string, extraArgs: string[] = [], options: SpawnOptions = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  // Text, not Buffers: a multi-byte character (µ, →) split between chunks stays whole.
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  let output = '';
  let head: string | undefined;
  const keep = (text: string) => {
    output += text;
    if (output.length > 200_000) {
      head ??= output.slice(0, 20_000);
      output = output.slice(-100_000);
    }
  };
  const all = () => (head === undefined ? output : `${head}\n[…]\n${output}`);
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // 'close' comes once both pipes are read to their end; 'exit' may come before the last output.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // A child that failed to start is killed: a live one would keep this test file's process
  // (and so the whole `npm test` run) waiting on its pipes forever. 90 s: tsx compiles the
  // server at start, which takes tens of seconds on a loaded 2-core machine.
  const startFailed = (err: Error): Error => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    return err;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(startFailed(new Error(`server did not start in 90s:\n${all()}`))), 90_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      // Its last words (the reason it stopped) may still be in the pipes: read them first.
      const grace = new Promise<void>((r) => setTimeout(r, 2_000).unref());
      void Promise.race([closed, grace]).then(() => reject(startFailed(new Error(`server exited early (${code}):\n${all()}`))));
    };
    const onStart = () => {
      const m = /serving on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onStart);
      child.off('exit', onExit);
      resolve(m[1]!);
    };
    child.stdout!.on('data', onStart);
    child.once('exit', onExit);
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  return {
    child,
    url,
    output: all,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT'); // a stopped (SIGSTOP) process only acts on SIGTERM once resumed
        child.kill(signal);
      }
      // A graceful shutdown that hangs must fail its test, not hang the run: SIGKILL after
      // 60 s, and say so in the exit value the test sees.
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<string>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(`hung on ${signal}: killed after 60 s`);
        }, 60_000);
      });
      const result = await Promise.race([exited, hung]);
      clearTimeout(timer);
      return result;
    },
  };
}

/** POST/PUT JSON to a server; returns status and parsed body. */
export async function callJson(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
