/**
 * The floor under dgw's per-request CPU (issue 9): the server CPU per request of a bare
 * node:http server and a bare Fastify route answering a counter-shaped POST, measured the
 * way `dgw bench` measures dgw (server in its own process, its utime + stime from /proc,
 * undici client with keep-alive at the same concurrency). What no change inside dgw can
 * go below on this machine with one Node process.
 *
 *   node --import tsx bench/http-floor.mts [N=40000] [concurrency=50]
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const BODY = JSON.stringify({ namespace: 'bench', counter_name: 'c42', delta: 1, idempotency_token: { token: 'x'.repeat(36), generation_time: new Date().toISOString() } });

async function serve(kind: string): Promise<void> {
  if (kind === 'node') {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { counter_name?: string };
        const out = JSON.stringify({ count: String(body.counter_name?.length ?? 0) });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      });
    });
    server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
    return;
  }
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.post('/v1/counter/GetCount', async (req) => ({ count: String((req.body as { counter_name?: string }).counter_name?.length ?? 0) }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send?.((app.server.address() as { port: number }).port);
}

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, 100 ticks/s
}

async function measure(kind: string, n: number, concurrency: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency, pipelining: 1 });
  const run = async (count: number) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (i++ < count) {
          const res = await pool.request({ method: 'POST', path: '/v1/counter/GetCount', body: BODY, headers: { 'content-type': 'application/json' } });
          await res.body.dump();
        }
      }),
    );
  };
  await run(Math.min(5000, n)); // warm-up
  const cpu0 = cpuMs(child.pid!);
  const t0 = performance.now();
  await run(n);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs(child.pid!) - cpu0;
  console.log(`${kind.padEnd(8)} ${Math.round(n / seconds).toLocaleString('en-US').padStart(8)} req/s  server CPU ${((cpu * 1000) / n).toFixed(1)} µs/req`);
  await pool.close();
  child.kill();
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] ?? 'node');
} else {
  const n = Number(process.argv[2] ?? 40_000);
  const concurrency = Number(process.argv[3] ?? 50);
  for (const kind of ['node', 'fastify']) await measure(kind, n, concurrency);
}
