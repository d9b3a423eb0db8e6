/**
 * `dgw ns create|get|list|delete`: the control plane of both namespace kinds
 * (timeseries, counter) over HTTP. Documents come from `--file` or stdin and may use
 * the lenient syntax the server accepts (comments, trailing commas).
 */
import { UsageError, type Command, type CommandContext } from '../command.js';
import { DgwHttpClient, URL_OPTION } from '../http-client.js';
import { readDocument } from '../input.js';

const KINDS = ['timeseries', 'counter'] as const;
type Kind = (typeof KINDS)[number];

function kindOf(value: string | undefined): Kind {
  if (value === 'timeseries' || value === 'ts') return 'timeseries';
  if (value === 'counter') return 'counter';
  throw new UsageError(`<kind>: "${value ?? ''}" is not timeseries or counter`);
}

function client(ctx: CommandContext): DgwHttpClient {
  return new DgwHttpClient(ctx.values.url as string | undefined);
}

const path = (kind: Kind, name?: string) => `/v1/${kind}/namespaces${name === undefined ? '' : '/' + encodeURIComponent(name)}`;

function print(ctx: CommandContext, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The `ns` commands. */
export const nsCommands: Command[] = [
  {
    name: 'ns create',
    summary: 'Creates or replaces a namespace from a configuration document (from --file or stdin; {} when neither).',
    args: '<kind> <name>',
    required: 2,
    options: { file: { type: 'string', short: 'f', value: 'FILE', description: 'the document (- for stdin)' }, url: URL_OPTION },
    details: 'kind: timeseries | counter. Documents: docs/namespaces.md.\nexample: echo \'{ "counterType": "EVENTUAL" }\' | dgw ns create counter clicks',
    async run(ctx) {
      const kind = kindOf(ctx.positionals[0]);
      const text = await readDocument(ctx.values.file as string | undefined, ctx.stdin, '{}');
      print(ctx, await client(ctx).call('PUT', path(kind, ctx.positionals[1]), text.trim() === '' ? '{}' : text));
      return 0;
    },
  },
  {
    name: 'ns get',
    summary: 'Prints a namespace: version, update time and its canonical configuration.',
    args: '<kind> <name>',
    required: 2,
    options: { url: URL_OPTION },
    async run(ctx) {
      print(ctx, await client(ctx).call('GET', path(kindOf(ctx.positionals[0]), ctx.positionals[1])));
      return 0;
    },
  },
  {
    name: 'ns list',
    summary: 'Lists namespaces as JSON lines (both kinds unless one is named).',
    args: '[kind]',
    required: 0,
    options: { url: URL_OPTION },
    async run(ctx) {
      const kinds = ctx.positionals[0] === undefined ? KINDS : [kindOf(ctx.positionals[0])];
      for (const kind of kinds) {
        const { namespaces } = await client(ctx).call<{ namespaces: unknown[] }>('GET', path(kind));
        for (const ns of namespaces) ctx.stdout.write(JSON.stringify(ns) + '\n');
      }
      return 0;
    },
  },
  {
    name: 'ns delete',
    summary: 'Deletes a namespace and ALL its data (needs --yes).',
    args: '<kind> <name>',
    required: 2,
    options: { yes: { type: 'boolean', short: 'y', description: 'confirm dropping every event and count of the namespace' }, url: URL_OPTION },
    async run(ctx) {
      const kind = kindOf(ctx.positionals[0]);
      if (!ctx.values.yes) throw new UsageError(`deleting ${kind} namespace "${ctx.positionals[1]}" drops all its data; add --yes`);
      await client(ctx).call('DELETE', path(kind, ctx.positionals[1]));
      ctx.stderr.write(`deleted ${kind} namespace "${ctx.positionals[1]}"\n`);
      return 0;
    },
  },
];
