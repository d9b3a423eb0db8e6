/**
 * Lenient reading of namespace request bodies (DESIGN 3.1): the article's documents are
 * accepted as printed, with `//` comments, trailing commas and, as the article shows them,
 * as a bare `"persistence_configuration": [ ... ]` fragment. JSON5 is a superset of JSON,
 * so every strict JSON body reads the same.
 */
import JSON5 from 'json5';
import { DgwError } from '../../kernel/errors.js';

/**
 * Parses a namespace request body. Accepted forms:
 * - `{ "persistence_configuration": [ ... ] }` (or any other object, checked later),
 * - a bare array of entries `[ ... ]`,
 * - the bare fragment `"persistence_configuration": [ ... ]` (wrapped in braces here),
 * - `{}` or an empty / whitespace-only body (all defaults).
 * Comments, trailing commas, single quotes and unquoted keys are allowed (JSON5).
 * Malformed text throws INVALID_ARGUMENT naming `body` with the line and column.
 */
export function parseNamespaceBody(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const start = firstSignificantChar(body);
  if (start === undefined) return {};
  if (start === '{' || start === '[') return parseOrThrow(body, 0, body);
  // A fragment such as `"persistence_configuration": [...]`: wrap it in an object. The
  // wrapper's `{` sits on its own line so error positions shift by exactly one line.
  return parseOrThrow(`{\n${body}\n}`, 1, body);
}

function parseOrThrow(text: string, lineShift: number, original: string): unknown {
  try {
    return JSON5.parse(text) as unknown;
  } catch (err) {
    throw malformed(err, lineShift, original);
  }
}

function malformed(err: unknown, lineShift: number, original: string): DgwError {
  const e = err as { message?: unknown; lineNumber?: unknown; columnNumber?: unknown };
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const reason = raw.replace(/^JSON5:\s*/, '').replace(/\s+at \d+:\d+$/, '');
  let where = '';
  if (typeof e.lineNumber === 'number' && typeof e.columnNumber === 'number') {
    const line = e.lineNumber - lineShift;
    const lines = original.split('\n').length;
    where = line < 1 || line > lines ? ' at end of input' : ` at line ${line}, column ${e.columnNumber}`;
  }
  const message = `malformed JSON${where}: ${reason}`;
  return new DgwError('INVALID_ARGUMENT', `body: ${message}`, {
    details: [{ field: 'body', reason: message }],
    cause: err,
  });
}

/** First character that is neither whitespace nor part of a comment. */
function firstSignificantChar(text: string): string | undefined {
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (text.startsWith('//', i)) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return '/'; // unterminated comment: let the parser report it
      i = end + 2;
    } else {
      return c;
    }
  }
  return undefined;
}
