/**
 * Security through the real `dgw serve` process: the default bind address, the refusal
 * to serve a network address without tokens, TLS on both ports (HTTPS and gRPC, from a
 * certificate made by openssl at test time), and token revocation by SIGHUP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { hashToken } from '../../src/server/auth/token-store.js';
import { grpcTestClient } from '../support/grpc-call.js';
import { selfSignedCert, type SelfSigned } from '../support/self-signed.js';
import { tempDir } from '../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `dgw serve ARGS`; resolves once both ports are reported, or with the exit output. */
function serve(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', tempDir('dgw-secp-'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<{ url: string; grpcPort?: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 30 s:\n${output}`)), 30_000);
    const check = () => {
      const http = /serving on (https?:\/\/[\d.]+:\d+)/.exec(output);
      const grpc = /serving gRPC on [\d.]+:(\d+)/.exec(output);
      if (http && (grpc || !args.includes('--grpc-port'))) {
        clearTimeout(timer);
        resolve({ url: http[1]!, ...(grpc ? { grpcPort: Number(grpc[1]) } : {}) });
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}:\n${output}`));
    });
  });
  started.catch(() => undefined); // a test that expects the exit awaits `exited` instead
  return {
    started,
    exited,
    output: () => output,
    signal: (s: NodeJS.Signals) => child.kill(s),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The local addresses of the TCP sockets listening on `port`, read from /proc/net/tcp and
 * /proc/net/tcp6 (Linux): what the process bound, whatever it logged.
 */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local?.endsWith(`:${hexPort}`)) continue; // 0A: LISTEN
      const hex = local.slice(0, local.indexOf(':'));
      // IPv4: one little-endian word; IPv6: four (only the loopback and unspecified forms matter here).
      found.push(
        hex.length === 8
          ? (hex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.')
          : hex === '00000000000000000000000001000000' ? '::1' : hex === '0'.repeat(32) ? '::' : `v6:${hex}`,
      );
    }
  }
  return found;
}

/** An HTTPS request trusting `ca`. */
function httpsJson(url: string, ca: Buffer, path: string, token: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url + path, { method: 'POST', ca, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('security: dgw serve process', () => {
  it('binds 127.0.0.1 by default, HTTP and gRPC (the sockets the kernel lists, not the log)', async (t) => {
    if (process.platform !== 'linux') return t.skip('reads /proc/net/tcp');
    const p = serve(['--grpc-port', '0']);
    try {
      const { url, grpcPort } = await p.started;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(grpcPort !== undefined, 'gRPC port reported');
      assert.deepEqual(listeningAddresses(Number(new URL(url).port)), ['127.0.0.1'], 'HTTP listens on 127.0.0.1 only');
      assert.deepEqual(listeningAddresses(grpcPort), ['127.0.0.1'], 'gRPC listens on 127.0.0.1 only');
    } finally {
      await p.stop();
    }
  });

  it('refuses to serve 0.0.0.0 without tokens, with or without gRPC (--allow-unauthenticated: unit-tested, not bound here)', async () => {
    for (const args of [['--host', '0.0.0.0'], ['--host', '0.0.0.0', '--grpc-port', '0'], ['--host', '::', '--grpc-port', '0']]) {
      const refused = serve(args);
      // `started` resolves if it serves, rejects once it exits.
      if (await refused.started.then(() => true, () => false)) {
        await refused.stop();
        assert.fail(`${args.join(' ')}: served without tokens:\n${refused.output()}`);
      }
      assert.equal(await refused.exited, 1, args.join(' '));
      const host = args[1]!.replace(/\./g, '\\.');
      assert.match(refused.output(), new RegExp(`refusing to serve ${host} without authentication`), args.join(' '));
      assert.doesNotMatch(refused.output(), /serving gRPC on/, `${args.join(' ')}: no gRPC port served`);
    }
  });

  describe('with tokens and TLS on both ports', () => {
    let cert: SelfSigned | undefined;
    let p: ReturnType<typeof serve> | undefined;
    let url = '';
    let grpcPort = 0;
    const configPath = join(tempDir('dgw-secp-'), 'dgw.json');
    const writeConfig = (tokens: string[]) =>
      writeFileSync(configPath, JSON.stringify({ auth: { tokens: tokens.map((t) => ({ name: t, sha256: hashToken(t), scopes: ['admin'] })) } }));

    before(async () => {
      cert = selfSignedCert();
      if (!cert) return;
      writeConfig(['keep-token', 'gone-token']);
      p = serve(['--config', configPath, '--tls-cert', cert.certPath, '--tls-key', cert.keyPath, '--grpc-port', '0']);
      const s = await p.started;
      url = s.url;
      grpcPort = s.grpcPort!;
    });
    after(async () => p?.stop());

    it('serves HTTPS and gRPC over TLS, and revokes on SIGHUP', async (t) => {
      if (!cert) return t.skip('openssl unavailable');
      assert.match(url, /^https:\/\//);
      const put = await httpsJson(url, cert.cert, '/v1/counter/AddCount', 'gone-token', { namespace: 'nope', counter_name: 'c', delta: 1 });
      assert.equal(put.status, 404, put.text); // authenticated; the namespace does not exist
      const rpc = grpcTestClient(grpcPort, { ca: cert.cert });
      try {
        const notFound = await rpc.failure('dgw.v1.CounterService', 'GetCount', { namespace: 'nope', counterName: 'c' }, { authorization: 'Bearer gone-token' });
        assert.equal(notFound.code, status.NOT_FOUND, 'TLS gRPC call authenticated');
        const plain = grpcTestClient(grpcPort);
        const refused = await plain.failure('dgw.v1.CounterService', 'GetCount', { namespace: 'nope', counterName: 'c' }, { authorization: 'Bearer gone-token' });
        plain.close();
        assert.equal(refused.code, status.UNAVAILABLE, 'a plaintext client cannot talk to the TLS port');

        writeConfig(['keep-token']);
        p!.signal('SIGHUP');
        // Wait (not a timing assertion) until the reload is reported.
        for (let i = 0; i < 200 && !/SIGHUP: 1 tokens loaded/.test(p!.output()); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(p!.output(), /SIGHUP: 1 tokens loaded/);
        const gone = await httpsJson(url, cert.cert, '/v1/counter/AddCount', 'gone-token', { namespace: 'nope', counter_name: 'c', delta: 1 });
        assert.equal(gone.status, 401, gone.text);
        const g = await rpc.failure('dgw.v1.CounterService', 'GetCount', { namespace: 'nope', counterName: 'c' }, { authorization: 'Bearer gone-token' });
        assert.equal(g.code, status.UNAUTHENTICATED);
        const kept = await httpsJson(url, cert.cert, '/v1/counter/AddCount', 'keep-token', { namespace: 'nope', counter_name: 'c', delta: 1 });
        assert.equal(kept.status, 404, kept.text);
      } finally {
        rpc.close();
      }
    });
  });
});
