/**
 * Reading command input: a whole document from `--file` or stdin, and JSON lines
 * (one object per line, blank lines skipped) with the line number in every error.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { UsageError } from './command.js';

/** The text of `file`, or of stdin when no file is given and stdin is not a terminal. */
export async function readDocument(file: string | undefined, stdin: NodeJS.ReadableStream & { isTTY?: boolean }, fallback?: string): Promise<string> {
  if (file !== undefined && file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--file: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (stdin.isTTY && file === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError('no input: give --file FILE or pipe the document on stdin');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Iterates the JSON objects of a JSON-lines source, with the bytes read so far. */
export async function* jsonLines(source: NodeJS.ReadableStream): AsyncGenerator<{ value: Record<string, unknown>; line: number; bytes: number }> {
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let line = 0;
  let bytes = 0;
  for await (const text of lines) {
    line++;
    bytes += Buffer.byteLength(text) + 1;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`line ${line}: not JSON (${(err as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`line ${line}: not a JSON object`);
    yield { value: value as Record<string, unknown>, line, bytes };
  }
}

/** A stream of `file` ('-' or undefined: stdin). */
export function openInput(file: string | undefined, stdin: NodeJS.ReadableStream): NodeJS.ReadableStream {
  return file === undefined || file === '-' ? stdin : createReadStream(file);
}
