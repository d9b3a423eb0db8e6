/**
 * `dgw counter add|get|clear|log|recount|compare`: the Counter data plane over HTTP. `add` and `clear` send
 * an idempotency token: --token and --token-time when given (repeat both to retry a
 * command without counting it twice), else a fresh UUID stamped now. `log` prints a
 * counter's adds and clears (every page, newest first, one JSON line each), `recount`
 * the recount against the rollup (`--repair` to fix it), `compare` the anytime-valid test
 * of two or more counters (DESIGN 4.6).
 */
import { once } from 'node:events';
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
  {
    name: 'counter log',
    summary: "Prints a counter's adds and clears, newest first, one JSON line each (EVENTUAL and ACCURATE).",
    args: '<namespace> <counter>',
    required: 2,
    options: {
      start: { type: 'string', value: 'TIME', description: 'from this generation time, RFC 3339 (default: the whole log)' },
      end: { type: 'string', value: 'TIME', description: 'before this generation time (with --start)' },
      limit: { type: 'string', value: 'N', description: 'stop after N entries (default: all)' },
      url: URL_OPTION,
    },
    async run(ctx) {
      const [namespace, name] = ctx.positionals as [string, string];
      const start = ctx.values.start as string | undefined;
      const end = ctx.values.end as string | undefined;
      if ((start === undefined) !== (end === undefined)) throw new UsageError('--start and --end go together');
      const limitText = ctx.values.limit as string | undefined;
      const limit = limitText === undefined ? Infinity : Number(limitText);
      if (!(Number.isInteger(limit) && limit >= 1) && limit !== Infinity) throw new UsageError(`--limit: "${limitText}" is not a positive integer`);
      const http = client(ctx);
      let printed = 0;
      let pageToken: string | undefined;
      do {
        const answer = await http.call('POST', '/v1/counter/ReadCounterLog', {
          namespace,
          counter_name: name,
          ...(start !== undefined && end !== undefined ? { time_interval: { start, end } } : {}),
          ...(pageToken ? { page_token: pageToken } : {}),
        });
        for (const entry of (answer.entries as unknown[] | undefined) ?? []) {
          if (printed >= limit) return 0;
          // A slower reader holds the next page back (see ts.ts pageThrough).
          if (!ctx.stdout.write(JSON.stringify(entry) + '\n')) await once(ctx.stdout, 'drain');
          printed++;
        }
        pageToken = answer.nextPageToken as string | undefined;
      } while (pageToken && printed < limit);
      return 0;
    },
  },
  {
    name: 'counter recount',
    summary: 'Recounts a counter from its event log; prints the rollup, the recount and the difference. --repair fixes a wrong rollup.',
    args: '<namespace> <counter>',
    required: 2,
    options: { repair: { type: 'boolean', description: 'replace a wrong rollup with the recount' }, url: URL_OPTION },
    async run(ctx) {
      const [namespace, name] = ctx.positionals as [string, string];
      const answer = await client(ctx).call('POST', '/v1/counter/RecountCount', { namespace, counter_name: name, ...(ctx.values.repair === true ? { repair: true } : {}) });
      ctx.stdout.write(JSON.stringify(answer) + '\n');
      return answer.difference === '0' || answer.repaired === true ? 0 : 1;
    },
  },
  {
    name: 'counter compare',
    summary: 'Anytime-valid test that the counters\' rates are in the proportions of --probabilities (DESIGN 4.6); prints counts and p-value.',
    args: '<namespace> <counter> <counter>...',
    required: 3,
    options: {
      probabilities: { type: 'string', value: 'P,P,...', description: 'assignment probabilities, one per counter (default: equal)' },
      alpha: { type: 'string', value: 'A', description: 'level whose first crossing is reported (0.05)' },
      concentration: { type: 'string', value: 'C', description: 'Dirichlet prior concentration (100)' },
      start: { type: 'string', value: 'TIME', description: 'replay from this time, RFC 3339 (with --end)' },
      end: { type: 'string', value: 'TIME', description: 'replay up to this time' },
      url: URL_OPTION,
    },
    async run(ctx) {
      const [namespace, ...names] = ctx.positionals as [string, ...string[]];
      const number = (flag: string): number | undefined => {
        const text = ctx.values[flag] as string | undefined;
        if (text === undefined) return undefined;
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: "${text}" is not a number`);
        return n;
      };
      const probText = ctx.values.probabilities as string | undefined;
      const probabilities = probText === undefined ? names.map(() => 1 / names.length) : probText.split(',').map((p) => Number(p));
      if (probabilities.some((p) => !Number.isFinite(p))) throw new UsageError(`--probabilities: "${probText}" is not a list of numbers`);
      const start = ctx.values.start as string | undefined;
      const end = ctx.values.end as string | undefined;
      if ((start === undefined) !== (end === undefined)) throw new UsageError('--start and --end go together');
      const alpha = number('alpha');
      const concentration = number('concentration');
      const answer = await client(ctx).call('POST', '/v1/counter/CompareCounts', {
        namespace,
        counter_names: names,
        assignment_probabilities: probabilities,
        ...(alpha !== undefined ? { alpha } : {}),
        ...(concentration !== undefined ? { concentration } : {}),
        ...(start !== undefined && end !== undefined ? { time_interval: { start, end } } : {}),
      });
      ctx.stdout.write(JSON.stringify(answer) + '\n');
      return 0;
    },
  },
];
