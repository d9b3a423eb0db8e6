/**
 * Starts a real dgw server (in process, real HTTP on an ephemeral port) on a temp data
 * directory, with an injected clock, and offers a tiny JSON client for tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/kernel/clock.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/runtime.js';

/** A server under test plus its client. */
export interface TestServer {
  server: RunningServer;
  clock: ManualClock;
  dataDir: string;
  url: string;
  /** Sends a request; the body is JSON-encoded unless it is already a string. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  post(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/** Starts a server; `clockStart` is an RFC 3339 time (defaults to the article's day). */
export async function startTestServer(
  options: { clockStart?: string; dataDir?: string; keepData?: boolean } & Partial<ServerOptions> = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'dgw-test-'));
  const clock = new ManualClock(Date.parse(options.clockStart ?? '2024-10-03T21:25:00.000Z') * 1000);
  const server = await startServer({ port: 0, host: '127.0.0.1', dataDir, clock, lifecycleIntervalSeconds: 86_400, ...options });
  const url = `http://127.0.0.1:${server.port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { raw: text };
    }
    return { status: res.status, json };
  };
  return {
    server,
    clock,
    dataDir,
    url,
    call,
    post: (path, body) => call('POST', path, body),
    async stop() {
      await server.close();
      if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Base64 of a UTF-8 string. */
export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** A unique namespace name for one test. */
export function uniqueNamespace(prefix = 'ns'): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}
