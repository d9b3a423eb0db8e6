/**
 * `dgw counter add|get|clear`: the Counter data plane over HTTP. `add` and `clear` send
 * an idempotency token: --token and --token-time when given (repeat both to retry a
 * command without counting it twice), else a fresh UUID stamped now.
 */
import { randomUUID } from 'node:crypto';
import { UsageError, type Command, type CommandContext } from '../command.js';
import { DgwHttpClient, URL_OPTION } from '../http-client.js';

const tokenOptions = {
  token: { type: 'string', value: 'TOKEN', description: 'idempotency token (default: a new UUID)' },
  'token-time': { type: 'string', value: 'TIME', description: 'its generation time, RFC 3339 (default: now); repeat both to retry safely' },
} as const;

/** The idempotency token: the same token and time make a retry count once (within the accept limit). */
function token(ctx: CommandContext) {
  return {
    token: (ctx.values.token as string | undefined) ?? randomUUID(),
    generation_time: (ctx.values['token-time'] as string | undefined) ?? new Date().toISOString(),
  };
}

function client(ctx: CommandContext): DgwHttpClient {
  return new DgwHttpClient(ctx.values.url as string | undefined);
}

/** The `counter` commands. */
export const counterCommands: Command[] = [
  {
    name: 'counter add',
    summary: 'Adds DELTA (an int64, may be negative) to a counter and prints {"count": ...} as the namespace\'s type allows.',
    args: '<namespace> <counter> <delta>',
    required: 3,
    options: { ...tokenOptions, url: URL_OPTION },
    async run(ctx) {
      const [namespace, name, delta] = ctx.positionals as [string, string, string];
      if (!/^-?\d{1,19}$/.test(delta)) throw new UsageError(`<delta>: "${delta}" is not an integer`);
      const answer = await client(ctx).call('POST', '/v1/counter/AddAndGetCount', { namespace, counter_name: name, delta, idempotency_token: token(ctx) });
      ctx.stdout.write(JSON.stringify({ count: answer.count }) + '\n');
      return 0;
    },
  },
  {
    name: 'counter get',
    summary: 'Prints a counter\'s count as {"count": "..."}.',
    args: '<namespace> <counter>',
    required: 2,
    options: { url: URL_OPTION },
    async run(ctx) {
      const [namespace, name] = ctx.positionals as [string, string];
      const answer = await client(ctx).call('POST', '/v1/counter/GetCount', { namespace, counter_name: name });
      ctx.stdout.write(JSON.stringify({ count: answer.count }) + '\n');
      return 0;
    },
  },
  {
    name: 'counter clear',
    summary: 'Sets a counter back to zero.',
    args: '<namespace> <counter>',
    required: 2,
    options: { ...tokenOptions, url: URL_OPTION },
    async run(ctx) {
      const [namespace, name] = ctx.positionals as [string, string];
      await client(ctx).call('POST', '/v1/counter/ClearCount', { namespace, counter_name: name, idempotency_token: token(ctx) });
      ctx.stderr.write(`cleared "${name}" in "${namespace}"\n`);
      return 0;
    },
  },
];
