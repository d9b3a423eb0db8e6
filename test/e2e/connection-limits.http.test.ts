/**
 * Time limits and the connection cap of the HTTP server (issue 14 hardening): sockets
 * stalled mid-body and sockets dribbling their headers are answered 408 (in the error
 * envelope) and closed; connections past the cap are closed on accept. The limits are
 * set small here so the test takes seconds; the bound waited for is generous (the
 * server's sweep runs every half header-timeout), so a loaded machine does not flake.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startTestServer, type TestServer } from '../support/http-server.js';

interface Probe {
  socket: Socket;
  closed: Promise<string>;
}

function open(port: number): Probe {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.on('data', (c) => (data += c.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(data)));
  return { socket, closed };
}

/** Resolves with the responses of every probe once all are closed, or rejects after `ms`. */
async function allClosed(probes: Probe[], ms: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${probes.filter((p) => !p.socket.destroyed).length} of ${probes.length} sockets still open after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.all(probes.map((p) => p.closed)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('HTTP time limits and connection cap', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ connectionLimits: { headersTimeoutMs: 500, receiveTimeoutMs: 1000, idleTimeoutMs: 60_000, maxConnections: 100 } });
  });
  after(() => t.stop());

  it('closes connections stalled mid-body and header-dribbling sockets, answering 408 in the envelope', async () => {
    const port = t.server.port;
    const stalled: Probe[] = [];
    for (let i = 0; i < 20; i++) {
      const p = open(port);
      p.socket.write(`POST /v1/counter/AddCount HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${7 * 1024 * 1024}\r\n\r\n{"namespace":"`);
      stalled.push(p);
    }
    const dribbling: Probe[] = [];
    const header = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
    for (let i = 0; i < 40; i++) dribbling.push(open(port));
    let at = 0;
    const drip = setInterval(() => {
      for (const p of dribbling) if (!p.socket.destroyed) p.socket.write(header[at % header.length]!);
      at++;
    }, 50);
    try {
      const answers = await allClosed([...stalled, ...dribbling], 15_000);
      const with408 = answers.filter((a) => a.startsWith('HTTP/1.1 408'));
      assert.ok(with408.length > 0, `no 408 among ${answers.length} answers: ${answers.slice(0, 3).join(' | ')}`);
      for (const a of with408) {
        const body = JSON.parse(a.slice(a.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
        assert.equal(body.error.code, 'DEADLINE_EXCEEDED');
      }
    } finally {
      clearInterval(drip);
      for (const p of [...stalled, ...dribbling]) p.socket.destroy();
    }
    assert.equal((await t.call('GET', '/healthz')).status, 200);
  });
});

describe('HTTP connection cap', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ connectionLimits: { maxConnections: 5 } });
  });
  after(() => t.stop());

  it('closes connections past maxConnections on accept and keeps serving', async () => {
    const probes = Array.from({ length: 12 }, () => open(t.server.port));
    await Promise.all(probes.map((p) => new Promise((r) => p.socket.once('connect', r))));
    // The excess sockets are closed by the server without an answer.
    const excess = await Promise.race([
      Promise.all(probes.map((p) => Promise.race([p.closed.then(() => 1), new Promise<number>((r) => setTimeout(() => r(0), 3000))]))),
    ]);
    const closedCount = excess.reduce((a, b) => a + b, 0);
    assert.ok(closedCount >= 7, `${closedCount} of 12 closed; expected at least 7 past a cap of 5`);
    for (const p of probes) p.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await t.call('GET', '/healthz')).status, 200);
  });
});
