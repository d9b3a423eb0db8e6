/**
 * Issue 10 "first answer wins, the other cancelled": a hedged SDK call whose first
 * attempt went to an instance that never answers (a TCP endpoint that reads the request
 * and sends nothing, as a hung host does) and whose hedge went to a real dgw server. Once
 * the hedge answers, the losing attempt's AbortSignal has fired (CANCELLED "superseded")
 * and its request is cancelled on the wire: the connection to the hung instance is closed
 * by the client, not left open until the deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { DgwClient, DgwClientError, type CallEvent, type FetchLike } from '../../src/client/index.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

/** A TCP endpoint that reads requests and never answers; tells when each connection closes. */
class HungInstance {
  readonly server: Server;
  readonly requests: string[] = [];
  readonly sockets: Socket[] = [];
  private closed: (() => void)[] = [];
  closedCount = 0;

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.push(socket);
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        if (!head.includes('\r\n')) {
          head += chunk.toString('latin1');
          if (head.includes('\r\n')) this.requests.push(head.slice(0, head.indexOf('\r\n')));
        }
      });
      socket.on('close', () => {
        this.closedCount++;
        for (const f of this.closed.splice(0)) f();
      });
      socket.on('error', () => undefined);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    assert.ok(address && typeof address === 'object');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Resolves once `n` connections have closed (the test's own timeout bounds the wait). */
  async closedAtLeast(n: number): Promise<void> {
    while (this.closedCount < n) await new Promise<void>((resolve) => this.closed.push(resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('DgwClient hedging: the losing attempt is cancelled', () => {
  const ns = uniqueNamespace('sdk_hedge_abort');
  const hung = new HungInstance();
  let hungUrl = '';
  let t: TestServer;

  before(async () => {
    hungUrl = await hung.listen();
    t = await startTestServer();
    const doc = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] };
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, doc)).status, 201);
    assert.equal((await t.post('/v1/counter/AddCount', { namespace: ns, counter_name: 'c', delta: 4 })).status, 200);
  });
  after(async () => {
    await hung.stop();
    await t?.stop();
  });

  it('aborts the attempt to the hung instance once the hedge answers, and closes its connection', { timeout: 60_000 }, async () => {
    const attempts: { url: string; signal: AbortSignal }[] = [];
    const recording: FetchLike = (url, init) => {
      attempts.push({ url, signal: init.signal });
      return fetch(url, init);
    };
    const events: CallEvent[] = [];
    const client = new DgwClient({
      // Round robin: the first call starts on the hung instance.
      baseUrls: [hungUrl, t.url],
      fetch: recording,
      fetchNamespaceInfo: false,
      onEvent: (e) => events.push(e),
    });
    const count = await client.getCount({ namespace: ns, counterName: 'c' }, { hedgeAfterMs: 100, deadlineMs: 30_000 });
    assert.equal(count, 4n);
    const trace = events.map((e) => (e.type === 'attempt' ? `${e.reason}@${e.baseUrl}` : e.type === 'answered' ? `answered@${e.baseUrl}` : e.type));
    assert.deepEqual(trace, [`first@${hungUrl}`, `hedge@${t.url}`, `answered@${t.url}`]);

    assert.deepEqual(attempts.map((a) => new URL(a.url).origin), [hungUrl, t.url]);
    const loser = attempts[0]!.signal;
    assert.equal(loser.aborted, true, 'the losing attempt was aborted when the hedge answered');
    assert.ok(loser.reason instanceof DgwClientError, String(loser.reason));
    assert.equal(loser.reason.code, 'CANCELLED');
    assert.match(loser.reason.message, /superseded/);
    assert.equal(attempts[1]!.signal.aborted, false, 'the winner was not aborted');

    // The hung instance got the request, and the client closed that connection.
    assert.deepEqual(hung.requests, ['POST /v1/counter/GetCount HTTP/1.1']);
    await hung.closedAtLeast(1);
    assert.equal(hung.closedCount, 1);
  });
});
