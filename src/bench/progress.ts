/**
 * The progress line of `dgw bench`, on stderr: rewritten in place on a terminal, one
 * line per step otherwise (CI logs).
 */

const tty = process.stderr.isTTY === true;
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] `;
let shown = false;

/** Shows what runs now. */
export function progress(text: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 120) - 1)}`);
    shown = true;
  } else if (text !== lastPlain) {
    // In a log, only the start of each step (not every preload batch).
    const step = text.replace(/\d[\d,]*\/[\d,]+ (events|rows)( \([\d,]+ events\/s\))?/, '');
    if (step !== lastStep) process.stderr.write(`${stamp()}${text}\n`);
    lastStep = step;
  }
  lastPlain = text;
}

let lastPlain = '';
let lastStep = '';

/** Ends the current progress line, optionally replacing it with a final text. */
export function progressDone(text?: string): void {
  if (tty && shown) process.stderr.write('\r\x1b[2K');
  shown = false;
  if (text) process.stderr.write(`${tty ? '' : stamp()}${text}\n`);
}
