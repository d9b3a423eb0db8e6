// Compiles the page-JSON SQLite extension (src/storage/sqlite/native/page-json.c, issue 9)
// into dist/storage/sqlite/native/, against the SQLite headers better-sqlite3 ships. Part of
// `npm run build`, so of `npm ci`. Without a C compiler it says so and leaves dgw on its
// JavaScript read path (same answers, more CPU per page): the build does not fail.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/storage/sqlite/native/page-json.c');
const ext = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';
const outDir = join(root, 'dist/storage/sqlite/native');
const out = join(outDir, `page-json.${ext}`);

function skip(why) {
  console.error(`build-native: page-json extension not built (${why}); reads use the JavaScript path`);
  process.exit(0);
}

if (process.platform === 'win32') skip('no build recipe for Windows');
let include;
try {
  include = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps/sqlite3');
} catch {
  skip('better-sqlite3 is not installed');
}
if (!existsSync(join(include, 'sqlite3ext.h'))) skip(`no sqlite3ext.h in ${include}`);
if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
mkdirSync(outDir, { recursive: true });
const shared = process.platform === 'darwin' ? ['-dynamiclib'] : ['-shared'];
const compilers = [process.env.CC, 'cc', 'gcc', 'clang'].filter((c) => typeof c === 'string' && c !== '');
const errors = [];
for (const cc of compilers) {
  try {
    execFileSync(cc, ['-O2', '-fPIC', ...shared, '-I', include, source, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    process.exit(0);
  } catch (err) {
    errors.push(`${cc}: ${err.code === 'ENOENT' ? 'not found' : String(err.stderr ?? err.message).trim().split('\n')[0]}`);
  }
}
skip(errors.join('; '));
