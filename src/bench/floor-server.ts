/**
 * The HTTP floor baseline (issue 9): a bare `node:http` server in its own process that
 * reads a counter-shaped JSON POST, parses it and answers a one-field JSON body. Nothing
 * of dgw runs in it: it is what one Node process spends per HTTP request before any work,
 * measured by the same harness, client and concurrency as dgw's rows, so `dgw ÷ floor`
 * says how much of a counter call is dgw's own work, and `floor ÷ Redis` how close to
 * Redis any Node HTTP service can come on this machine.
 *
 * Run as a child: `node dist/bench/floor-server.js --serve`; it prints its port on stdout.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { trackChild, type ServerProcess } from './procs.js';

/** Serves the floor on a free port of 127.0.0.1 and writes the port to stdout. */
function serve(): void {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let name = '';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { counter_name?: unknown };
        if (typeof body.counter_name === 'string') name = body.counter_name;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const out = `{"count":"${name.length}"}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/** Starts the floor server as a child process. */
export async function startFloorServer(): Promise<ServerProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = trackChild(child, 5000);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`floor server did not start: ${tracked.stderrTail()}`)), 10_000);
    child.stdout?.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(d.toString().trim()));
    });
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}: ${tracked.stderrTail()}`)));
  });
  if (child.pid === undefined) throw new Error('floor server: no pid');
  return { pid: child.pid, origin: `http://127.0.0.1:${port}`, ...tracked };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--serve') serve();
