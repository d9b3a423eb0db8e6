/**
 * The `dgw` CLI (issue 11), every command run as a real process against a real server
 * process: --help and --version, namespaces of both kinds from a file and from stdin,
 * a bulk import read back page by page, search and aggregate, counters, status, and
 * the errors a user meets (bad flag, bad URL, refused batch, missing --yes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp-dir.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';
import { runCli } from '../support/cli.js';

const COMMANDS = ['serve', 'ns create', 'ns get', 'ns list', 'ns delete', 'ts write', 'ts read', 'ts search', 'ts aggregate', 'counter add', 'counter get', 'counter clear', 'counter log', 'counter recount', 'counter compare', 'status'];
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('dgw CLI against a real server', () => {
  let server: ServerProcess;
  let dgw: (args: string[], input?: string) => ReturnType<typeof runCli>;
  const dir = tempDir('dgw-cli-');
  const ns = `cli_${Date.now().toString(36)}`;

  before(async () => {
    // DGW_V8_PRETENURING emptied: the pretenuring test below checks the choice by store.
    server = await spawnServer(join(dir, 'data'), [], { env: { DGW_V8_PRETENURING: '' } });
    dgw = (args, input) => runCli(args, { env: { DGW_URL: server.url }, ...(input !== undefined ? { input } : {}) });
  });
  after(async () => {
    await server?.stop();
  });

  test('serve logs its V8 pretenuring choice (on for embedded SQLite) and refuses a bad DGW_V8_PRETENURING by name', async () => {
    // The flags applied, not only the choice: an embedded server sets none.
    assert.match(server.output(), /"v8Pretenuring":"on","v8Flags":\[\].*embedded SQLite/);
    await assert.rejects(spawnServer(join(dir, 'data-bad-env'), [], { env: { DGW_V8_PRETENURING: 'yes' } }), /server exited early[\s\S]*DGW_V8_PRETENURING must be "on" or "off"[\s\S]*"yes"/);
  });

  test('--version and --help on every command', async () => {
    const version = await dgw(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^dgw \d+\.\d+\.\d+\n$/);
    const top = await dgw(['--help']);
    assert.equal(top.code, 0);
    for (const name of COMMANDS) assert.ok(top.stdout.includes(`  ${name}`), `top-level help lists ${name}`);
    const helps = await Promise.all(COMMANDS.map((name) => dgw([...name.split(' '), '--help'])));
    helps.forEach((r, i) => {
      assert.equal(r.code, 0, `${COMMANDS[i]} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: dgw ${COMMANDS[i]}`), COMMANDS[i]);
    });
    const bad = await dgw(['ns', 'get', 'timeseries', 'x', '--bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--bogus/);
    assert.match(bad.stderr, /usage: dgw ns get/);
  });

  test('ns create (stdin and file), get, list, delete for both kinds', async () => {
    const doc = {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', physical_storage: { type: 'SQLITE' }, config: { acceptLimit: '1d' } },
        { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { device: 'KEYWORD' } } } },
      ],
    };
    const created = await dgw(['ns', 'create', 'timeseries', ns], `// comments allowed\n${JSON.stringify(doc)}`);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).namespace, ns);
    const file = join(dir, 'counter.json');
    // accept_limit 2 min, not the 5 s default: the counter test stamps a token time, then
    // starts two CLI processes under tsx before the server sees it. At load average 20-30
    // one start took over 5 s, so the token was older than the accept limit (or behind a
    // rollup that had already passed it) and refused. 2 min leaves a 20-fold margin over
    // the slowest start seen; a retry counted twice, or a wrong count, still fails the test.
    writeFileSync(
      file,
      JSON.stringify({
        persistence_configuration: [
          { id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } },
          { id: 'EVENT_STORAGE', config: { accept_limit: '2m' } },
        ],
      }),
    );
    const counter = await dgw(['ns', 'create', 'counter', `${ns}_c`, '--file', file]);
    assert.equal(counter.code, 0, counter.stderr);
    const got = await dgw(['ns', 'get', 'counter', `${ns}_c`]);
    assert.equal(JSON.parse(got.stdout).config.counterType, 'ACCURATE');
    const list = await dgw(['ns', 'list']);
    const names = list.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { namespace: string; kind: string }));
    assert.ok(names.some((n) => n.namespace === ns && n.kind === 'timeseries'));
    assert.ok(names.some((n) => n.namespace === `${ns}_c` && n.kind === 'counter'));
    const invalid = await dgw(['ns', 'create', 'timeseries', `${ns}_bad`], '{"persistence_configuration": 7}');
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /INVALID_ARGUMENT .*persistence_configuration/);
  });

  test('ts write --file imports in batches; read pages through; search and aggregate', async () => {
    const now = Date.now();
    const lines: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const event = {
        timeSeriesId: `s${i % 3}`,
        eventTime: new Date(now - 60_000 - i * 10).toISOString(),
        eventId: `e${i}`,
        eventItems: [{ eventItemKey: 'device', eventItemValue: b64(i % 2 ? 'ios' : 'android') }],
      };
      lines.push(JSON.stringify(event));
    }
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const write = await dgw(['ts', 'write', ns, '--file', file, '--batch', '500']);
    assert.equal(write.code, 0, write.stderr);
    assert.match(write.stderr, /wrote 1200 events/);

    const read = await dgw(['ts', 'read', ns, 's1', '--page-size', '70']);
    assert.equal(read.code, 0, read.stderr);
    const events = read.stdout.trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; eventTime: string });
    assert.equal(events.length, 400);
    assert.equal(new Set(events.map((e) => e.eventId)).size, 400);
    for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.eventTime >= events[i]!.eventTime, 'newest first');
    // Piped into a slower reader, every line still arrives: the CLI exits only once its
    // output is flushed (it lost what the pipe and its reader had not taken, ~64 KB or more).
    const all = ['ts', 'search', ns, '--page-size', '250'];
    const slow = await runCli(all, { env: { DGW_URL: server.url }, readDelayMs: 1000 });
    assert.equal(slow.code, 0, slow.stderr);
    assert.equal(slow.stdout.trim().split('\n').length, 1200);
    assert.equal(slow.stdout, (await dgw(all)).stdout);
    const limited = await dgw(['ts', 'read', ns, 's1', '--limit', '5']);
    assert.equal(limited.stdout.trim().split('\n').length, 5);

    const search = await dgw(['ts', 'search', ns, '-q', JSON.stringify({ equals: { eventItemKey: 'device', eventItemValue: b64('ios') } }), '--page-size', '250']);
    assert.equal(search.code, 0, search.stderr);
    assert.equal(search.stdout.trim().split('\n').length, 600);
    const count = await dgw(['ts', 'aggregate', ns, '--count']);
    assert.deepEqual(JSON.parse(count.stdout), { count: '1200' });
    const distinct = await dgw(['ts', 'aggregate', ns, '--distinct', 'device', '--page-size', '1']);
    const values = distinct.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; count: string });
    assert.deepEqual(values.map((v) => [v.text, v.count]), [['android', '600'], ['ios', '600']]);

    // stdin works too, and a refused batch names its lines and what was written before it.
    const good = lines[0]!.replace('"e0"', '"x0"');
    const bad = await dgw(['ts', 'write', ns, '--batch', '1'], `${good}\n{"timeSeriesId":"s0","eventId":"x1"}\n`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /lines 2-2 rejected \(1 events written before them\).*eventTime/);
  });

  test('counter add, get, clear', async () => {
    const c = `${ns}_c`;
    const first = await dgw(['counter', 'add', c, 'home', '5']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { count: '5' });
    const retry = ['counter', 'add', c, 'home', '-2', '--token', 'cli-t1', '--token-time', new Date().toISOString()];
    assert.deepEqual(JSON.parse((await dgw(retry)).stdout), { count: '3' });
    // The same token and time again (a retry) is not counted twice.
    assert.deepEqual(JSON.parse((await dgw(retry)).stdout), { count: '3' });
    assert.deepEqual(JSON.parse((await dgw(['counter', 'get', c, 'home'])).stdout), { count: '3' });
    assert.equal((await dgw(['counter', 'clear', c, 'home'])).code, 0);
    assert.deepEqual(JSON.parse((await dgw(['counter', 'get', c, 'home'])).stdout), { count: '0' });
    const notInt = await dgw(['counter', 'add', c, 'home', '1.5']);
    assert.equal(notInt.code, 2);
    assert.match(notInt.stderr, /<delta>/);
    // The log, newest first: the clear, then the adds (the retried one once).
    const log = await dgw(['counter', 'log', c, 'home']);
    assert.equal(log.code, 0, log.stderr);
    const entries = log.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; token: string; delta?: string });
    assert.deepEqual(entries.map((e) => `${e.kind}:${e.delta ?? ''}`), ['CLEAR:', 'ADD:-2', 'ADD:5']);
    assert.equal(entries[1]!.token, 'cli-t1');
    assert.equal((await dgw(['counter', 'log', c, 'home', '--limit', '1'])).stdout.trim().split('\n').length, 1);
    const recount = await dgw(['counter', 'recount', c, 'home']);
    assert.equal(recount.code, 0, recount.stderr);
    assert.equal(JSON.parse(recount.stdout).difference, '0');
    await dgw(['counter', 'add', c, 'arm_a', '3']);
    await dgw(['counter', 'add', c, 'arm_b', '2']);
    const compare = await dgw(['counter', 'compare', c, 'arm_a', 'arm_b', '--probabilities', '0.5,0.5']);
    assert.equal(compare.code, 0, compare.stderr);
    assert.deepEqual(JSON.parse(compare.stdout).counts, ['3', '2']);
    const oneArm = await dgw(['counter', 'compare', c, 'arm_a', 'arm_b', '--probabilities', '1']);
    assert.notEqual(oneArm.code, 0);
    assert.match(oneArm.stderr, /assignment_probabilities/);
  });

  test('status reports version, stores, namespaces, queues and request rates', async () => {
    const text = await dgw(['status']);
    assert.equal(text.code, 0, text.stderr);
    for (const section of ['# server', '# stores', '# namespaces', '# queues', '# requests']) assert.ok(text.stdout.includes(section), section);
    assert.match(text.stdout, /sqlite: ok/);
    const json = JSON.parse((await dgw(['status', '--json'])).stdout) as {
      version: string;
      stores: { key: string; healthy: boolean }[];
      namespaces: { name: string; eventsWritten: number; slices?: Record<string, number> }[];
      requests: { operations: { operation: string; count: number }[] };
    };
    assert.match(json.version, /^\d+\.\d+\.\d+$/);
    assert.ok(json.stores.every((s) => s.healthy));
    const mine = json.namespaces.find((n) => n.name === ns);
    assert.equal(mine?.eventsWritten, 1201);
    assert.ok((mine?.slices?.ACTIVE ?? 0) >= 1);
    // The window is the last minute: the `dgw status` just before is in it however slow the machine.
    assert.ok(json.requests.operations.some((o) => o.operation === 'GET /v1/status' && o.count >= 1), JSON.stringify(json.requests));
  });

  test('ns delete needs --yes; --url is checked; an unreachable server is named', async () => {
    const refused = await dgw(['ns', 'delete', 'timeseries', ns]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes/);
    assert.equal((await dgw(['ns', 'delete', 'timeseries', ns, '--yes'])).code, 0);
    const gone = await dgw(['ns', 'get', 'timeseries', ns]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NOT_FOUND/);
    const scheme = await dgw(['status', '--url', 'ftp://127.0.0.1:1']);
    assert.equal(scheme.code, 1);
    assert.match(scheme.stderr, /--url: .*http:\/\//);
    const down = await dgw(['status', '--url', 'http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});
