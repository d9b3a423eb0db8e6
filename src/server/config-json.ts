/**
 * Reading the server's `--config` file: one place that turns "cannot read" and "not JSON"
 * into INVALID_ARGUMENT naming the file, for every module that reads its own sections.
 */
import { readFileSync } from 'node:fs';
import { DgwError } from '../kernel/errors.js';

/** The parsed JSON of the config file at `path`; INVALID_ARGUMENT when unreadable or not JSON. */
export function readConfigJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DgwError('INVALID_ARGUMENT', `--config: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DgwError('INVALID_ARGUMENT', `--config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
