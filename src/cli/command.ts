/**
 * The shape of a `dgw` sub-command and the one argument parser they share
 * (node:util parseArgs, strict): every command answers `--help` with its usage and
 * options, and refuses an unknown flag or a missing argument naming it (exit 2).
 */
import { parseArgs } from 'node:util';

/** One option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in --help. */
  description: string;
  /** Placeholder of a string value in --help. */
  value?: string;
}

/** A `dgw <group> <verb>` command. */
export interface Command {
  /** e.g. "ns create". */
  name: string;
  /** One line for the group's --help. */
  summary: string;
  /** Positional arguments, e.g. "<kind> <name>". */
  args: string;
  /** Number of required positionals. */
  required: number;
  options: Record<string, OptionSpec>;
  /** Extra lines for --help (examples, input formats). */
  details?: string;
  run(ctx: CommandContext): Promise<number>;
}

/** What a running command gets. */
export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** A usage error: printed with the command's usage, exit status 2. */
export class UsageError extends Error {}

/** The --help text of a command. */
export function commandHelp(cmd: Command): string {
  const lines = [`usage: dgw ${cmd.name}${cmd.args ? ' ' + cmd.args : ''} [options]`, '', cmd.summary, '', 'options:'];
  for (const [name, o] of Object.entries(cmd.options)) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(30)} ${o.description}${o.multiple ? ' (repeatable)' : ''}`);
  }
  lines.push(`  ${'-h, --help'.padEnd(30)} this help`);
  if (cmd.details) lines.push('', cmd.details.trimEnd());
  return lines.join('\n');
}

/** Parses argv for `cmd`; undefined when --help was asked (help already printed). */
export function parseCommand(cmd: Command, argv: string[], out: NodeJS.WritableStream): { values: CommandContext['values']; positionals: string[] } | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(cmd.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  // Negative numbers (a counter delta of -2) are positionals, not flags.
  const negatives = new Map<string, string>();
  const args = argv.map((a, i) => {
    if (!/^-\d+$/.test(a)) return a;
    negatives.set(`\u0000neg${i}`, a);
    return `\u0000neg${i}`;
  });
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  parsed.positionals = parsed.positionals.map((p) => negatives.get(p) ?? p);
  if (parsed.values.help) {
    out.write(commandHelp(cmd) + '\n');
    return undefined;
  }
  if (parsed.positionals.length < cmd.required) throw new UsageError(`missing argument(s): ${cmd.args}`);
  const names = cmd.args.split(' ').filter(Boolean);
  const variadic = names.some((n) => n.includes('...'));
  if (!variadic && parsed.positionals.length > names.length) throw new UsageError(`unexpected argument "${parsed.positionals[names.length]}"`);
  return { values: parsed.values as CommandContext['values'], positionals: parsed.positionals };
}
