#!/usr/bin/env node
/**
 * The dgw command line: `dgw serve [--port N] [--data-dir DIR] [--host H]`, and
 * `dgw bench` (see bench/). `npm start -- --port N --data-dir DIR` runs `serve`.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startServer } from '../server/runtime.js';
import { openServerStores, readServerConfig, type ClusterConfig } from '../server/clusters.js';
import { SystemClock } from '../core/clock.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_HOST, isLoopbackHost } from '../server/auth/bind-policy.js';
import { readSecuritySections, TokenFileWatcher } from '../server/auth/config-file.js';
import { TokenStore } from '../server/auth/token-store.js';

const USAGE = `usage:
  dgw serve [--port 8080] [--host 127.0.0.1] [--data-dir ./data]
            [--postgres-url URL] [--redis-url URL] [--config dgw.json] [--grpc-port N]
            [--tls-cert cert.pem --tls-key key.pem] [--allow-unauthenticated]
  dgw bench [--quick] [--help]
  dgw help`;

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: process.env.DGW_PORT ?? '8080' },
      host: { type: 'string', default: process.env.DGW_HOST ?? DEFAULT_HOST },
      'data-dir': { type: 'string', default: process.env.DGW_DATA_DIR ?? './data' },
      quiet: { type: 'boolean', default: false },
      'postgres-url': { type: 'string', default: process.env.DGW_POSTGRES_URL },
      'redis-url': { type: 'string', default: process.env.DGW_REDIS_URL },
      config: { type: 'string', default: process.env.DGW_CONFIG },
      'grpc-port': { type: 'string', default: process.env.DGW_GRPC_PORT },
      'tls-cert': { type: 'string', default: process.env.DGW_TLS_CERT },
      'tls-key': { type: 'string', default: process.env.DGW_TLS_KEY },
      'allow-unauthenticated': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: "${values.port}" is not a port number`);
  const grpcPort = values['grpc-port'] === undefined ? undefined : Number(values['grpc-port']);
  if (grpcPort !== undefined && (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535)) {
    throw new Error(`--grpc-port: "${values['grpc-port']}" is not a port number`);
  }
  const dataDir = resolve(values['data-dir']);
  const clusters: ClusterConfig[] = values.config ? readServerConfig(values.config) : [];
  if (values['postgres-url']) clusters.push({ name: 'postgres', type: 'POSTGRES', url: values['postgres-url'] });
  if (values['redis-url']) clusters.push({ name: 'redis', type: 'REDIS', url: values['redis-url'] });
  const clock = new SystemClock();
  const security = values.config ? readSecuritySections(values.config) : { allowedOrigins: [] };
  const tokens = security.auth !== undefined ? new TokenStore(clock, security.auth) : undefined;
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const tls = values['tls-cert'] && values['tls-key'] ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } : undefined;
  const stores = clusters.length > 0 ? await openServerStores(clusters, clock) : undefined;
  const server = await startServer({
    port,
    host: values.host,
    dataDir,
    clock,
    ...(stores ? { stores } : {}),
    ...(grpcPort !== undefined ? { grpcPort } : {}),
    ...(tokens ? { tokens } : {}),
    ...(tls ? { tls } : {}),
    allowedOrigins: security.allowedOrigins,
    allowUnauthenticated: values['allow-unauthenticated'],
    ...(security.shedding !== undefined ? { shedding: security.shedding } : {}),
  });
  if (tokens && !tls && !isLoopbackHost(values.host)) {
    console.error(`dgw: warning: serving ${values.host} with bearer tokens but without TLS: tokens cross the network in clear (--tls-cert/--tls-key)`);
  }
  // Revocation without restart: SIGHUP or an edit of the config file re-reads the tokens.
  const watcher = tokens && values.config ? new TokenFileWatcher(values.config, tokens, (m) => console.error(`dgw: ${m}`)) : undefined;
  process.on('SIGHUP', () => {
    if (watcher?.reload() && !values.quiet) console.log(`dgw: SIGHUP: ${tokens?.size ?? 0} tokens loaded`);
  });
  const where = stores ? `stores ${stores.entries.map(([k]) => k).join(', ')}` : `embedded SQLite in ${dataDir}`;
  const scheme = tls ? 'https' : 'http';
  if (!values.quiet) console.log(`dgw serving on ${scheme}://${values.host}:${server.port} (${where}${tokens ? ', bearer tokens required' : ''})`);
  if (!values.quiet && server.grpcPort !== undefined) console.log(`dgw serving gRPC on ${values.host}:${server.grpcPort}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    watcher?.close();
    if (!values.quiet) console.log(`dgw: ${signal} received, draining and shutting down`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('dgw: shutdown failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  const [command = 'serve', ...rest] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'bench': {
      const { runBench } = await import('../bench/run.js');
      // Exit explicitly: a stuck client socket must not keep a CI smoke run alive.
      process.exit(await runBench(rest));
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      // `npm start -- --port N` passes flags straight after "serve" is implied.
      if (command.startsWith('--')) return serve([command, ...rest]);
      console.error(`unknown command "${command}"\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  console.error('dgw:', err instanceof Error ? err.message : err);
  process.exit(1);
});
