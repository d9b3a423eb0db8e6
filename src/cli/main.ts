#!/usr/bin/env node
/**
 * The dgw command line: `dgw serve` runs the server; `dgw ns|ts|counter|status` talk to
 * one over HTTP (`--url` or DGW_URL); `dgw bench` runs the benchmarks. Every command
 * answers --help; `dgw --version` prints the version. Exit status: 0 ok, 1 failure
 * (the server's error message is printed), 2 usage error.
 */
import { ApiError } from './http-client.js';
import { commandHelp, parseCommand, UsageError, type Command } from './command.js';
import { nsCommands } from './commands/ns.js';
import { tsCommands } from './commands/ts.js';
import { counterCommands } from './commands/counter.js';
import { statusCommand } from './commands/status.js';
import { packageVersion } from '../server/ops/build-info.js';

const COMMANDS: Command[] = [...nsCommands, ...tsCommands, ...counterCommands, statusCommand];

function usage(): string {
  const rows = [
    ['serve', 'runs the server (dgw serve --help)'],
    ...COMMANDS.map((c) => [`${c.name} ${c.args}`.trim(), c.summary.split('. ')[0]!.replace(/\.$/, '')]),
    ['bench', 'runs the benchmarks (dgw bench --help)'],
  ];
  return [
    'usage: dgw <command> [options]      (dgw <command> --help for its options)',
    '',
    'commands:',
    ...rows.map(([name, what]) => `  ${name!.padEnd(40)} ${what}`),
    '',
    'global: --version, --help; client commands take --url URL (default $DGW_URL or http://127.0.0.1:8080)',
    'and send $DGW_TOKEN as a bearer token when set (docs/security.md)',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first = 'serve', ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    console.log(`dgw ${packageVersion()}`);
    return 0;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    console.log(usage());
    return 0;
  }
  if (first === 'serve' || first.startsWith('--')) {
    // `npm start -- --port N` passes flags straight after "serve" is implied.
    const { serve } = await import('./serve.js');
    await serve(first === 'serve' ? rest : argv);
    return -1; // keeps running
  }
  if (first === 'bench') {
    const { runBench } = await import('../bench/run.js');
    return runBench(rest);
  }
  const group = COMMANDS.filter((c) => c.name.split(' ')[0] === first);
  if (group.length === 0) throw new UsageError(`unknown command "${first}"`);
  // A client command whose reader went away (`dgw ts read ... | head`) stops quietly with
  // status 0, as Unix tools do, instead of an uncaught EPIPE (serve and bench keep theirs).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const single = group.length === 1 && !group[0]!.name.includes(' ') ? group[0] : undefined;
  const verb = single ? undefined : rest[0];
  const cmd = single ?? group.find((c) => c.name === `${first} ${verb}`);
  if (!cmd) {
    if (verb === undefined || verb === '--help' || verb === '-h') {
      console.log([`usage: dgw ${first} <${group.map((c) => c.name.split(' ')[1]).join('|')}> ... [--help]`, '', ...group.map((c) => `  ${c.name} ${c.args}`.padEnd(44) + c.summary)].join('\n'));
      return verb === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${first} ${verb}"`);
  }
  try {
    const parsed = parseCommand(cmd, single ? rest : rest.slice(1), process.stdout);
    if (!parsed) return 0;
    return await cmd.run({ ...parsed, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  } catch (err) {
    if (err instanceof UsageError) throw Object.assign(err, { command: cmd });
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Client commands exit explicitly (a keep-alive socket must not hold the process);
    // serve keeps running until a signal; bench exits with its own status.
    if (code >= 0) process.exitCode = code;
    if (code >= 0) exitWhenFlushed(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const cmd = (err as UsageError & { command?: Command }).command;
      console.error(`dgw: ${err.message}${cmd ? `\n\n${commandHelp(cmd)}` : `\n\n${usage()}`}`);
      process.exit(2);
    }
    const prefix = err instanceof ApiError ? `${err.code} (HTTP ${err.status}): ` : '';
    console.error(`dgw: ${prefix}${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

/**
 * Exits once everything written to stdout and stderr has left the process. Writes to a pipe
 * are asynchronous in Node on Linux: exiting at once lost all but the first ~64 KB of a
 * `dgw ts read` piped into a slower reader (`| jq`, a busy test runner).
 */
function exitWhenFlushed(code: number): void {
  let waiting = 2;
  const done = (): void => {
    if (--waiting === 0) process.exit(code);
  };
  // A write's callback runs once it and every write before it are flushed (or failed).
  process.stdout.write('', done);
  process.stderr.write('', done);
}
