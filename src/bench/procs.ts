/**
 * Processes under measurement: starting the dgw server as a child process, and reading
 * CPU time and peak RSS of any process from /proc (Linux only; elsewhere the figures
 * are reported as unknown).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const CLK_TCK = 100; // Linux USER_HZ on every mainstream kernel

/** Total CPU time (user + system) of a process in ms, or undefined if unreadable. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: it ends at the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return undefined;
  }
}

/** CPU time (ms) of each readable process of `pids`. */
export function cpuSnapshot(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const v = cpuMs(pid);
    if (v !== undefined) out.set(pid, v);
  }
  return out;
}

/**
 * CPU ms used between two snapshots by the processes present in both (a process that
 * started or exited in between is left out rather than counted from zero).
 */
export function cpuDeltaMs(before: Map<number, number>, after: Map<number, number>): number | undefined {
  let sum = 0;
  let any = false;
  for (const [pid, t0] of before) {
    const t1 = after.get(pid);
    if (t1 === undefined) continue;
    sum += t1 - t0;
    any = true;
  }
  return any ? sum : undefined;
}

/** Peak resident set size (VmHWM) in MiB, or undefined. */
export function peakRssMiB(pid: number): number | undefined {
  return statusKiB(pid, 'VmHWM') === undefined ? undefined : statusKiB(pid, 'VmHWM')! / 1024;
}

/** Current resident set size (VmRSS) in MiB, or undefined. */
export function rssMiB(pid: number): number | undefined {
  const v = statusKiB(pid, 'VmRSS');
  return v === undefined ? undefined : v / 1024;
}

function statusKiB(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS to its current RSS (Linux clear_refs "5"); false if not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Pids of running processes whose `/proc/<pid>/<file>` text passes `match`. */
export function pidsWhere(file: 'comm' | 'cmdline' | 'stat', match: (text: string) => boolean): number[] {
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (match(readFileSync(`/proc/${e}/${file}`, 'latin1'))) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Pids of the running children of `pid` (the workers of `dgw serve --workers N`). */
export function childPids(pid: number): number[] {
  return pidsWhere('stat', (text) => Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]) === pid);
}

/** Pids of running processes whose command name is `comm` (e.g. postgres, redis-server). */
export function pidsByName(comm: string): number[] {
  return pidsWhere('comm', (text) => text.trim() === comm);
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** A dgw server child process. */
export interface ServerProcess {
  readonly pid: number;
  readonly origin: string;
  /** Last lines the server wrote to stderr (for failure reports). */
  stderrTail(): string;
  /** SIGTERM, wait for the graceful exit (SIGKILL after `graceMs`); resolves to the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Options of {@link startDgw}. */
export interface StartDgwOptions {
  dataDir: string;
  /** Extra `dgw serve` flags (e.g. --postgres-url). */
  serveArgs?: string[];
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/** Starts `dgw serve` on a free port and waits until /healthz answers. */
export async function startDgw(options: StartDgwOptions): Promise<ServerProcess> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const args = [...(options.nodeArgs ?? []), main, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', options.dataDir, '--quiet', ...(options.serveArgs ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const tracked = trackChild(child, 15_000);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let up = false;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${origin}/healthz`);
      if (r.ok) {
        up = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!up || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error(`dgw server did not start (exit ${child.exitCode}): ${tracked.stderrTail().trim().slice(-1000)}`);
  }
  return { pid: child.pid, origin, ...tracked };
}

/**
 * The stderr tail and the graceful stop of a server child (see {@link ServerProcess});
 * call right after spawning it. `defaultGraceMs`: SIGKILL after this when stop() gets none.
 */
export function trackChild(child: ChildProcess, defaultGraceMs: number): Pick<ServerProcess, 'stderrTail' | 'stop'> {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    stderrTail: () => tail,
    stop: async (graceMs = defaultGraceMs) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
