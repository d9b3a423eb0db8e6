/**
 * Text every store can hold (issue 14 items 3 and 4). Ids, names and keys become SQL text
 * columns and map keys: PostgreSQL refuses NUL in text, and a lone UTF-16 surrogate has no
 * UTF-8 form, so drivers replace it with U+FFFD and two distinct ids would collapse into
 * one (the second mutation silently lost). Both are refused up front with a 400 naming the
 * field, before anything is queued or stored.
 */
import { invalidArgument } from '../kernel/errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `value` cannot be stored as an id, name or key: it holds a NUL character or a lone
 * UTF-16 surrogate (ill-formed Unicode). Undefined when it is fine.
 */
export function textProblem(value: string): string | undefined {
  const nul = value.indexOf('\u0000');
  if (nul >= 0) return `must not contain a NUL character (at offset ${nul})`;
  const m = LONE_SURROGATE.exec(value);
  if (m) {
    const unit = m[0].charCodeAt(0).toString(16).toUpperCase();
    return `ill-formed Unicode: lone surrogate U+${unit} at offset ${m.index}`;
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT naming `field` unless {@link textProblem} finds nothing. */
export function checkStorableText(field: string, value: string): void {
  const problem = textProblem(value);
  if (problem !== undefined) throw invalidArgument(field, problem);
}
