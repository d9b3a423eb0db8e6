/**
 * The page-JSON SQLite extension (issue 9; native/page-json.c): an aggregate,
 * `dgw_page_json`, that writes a ReadEventRecords page's event texts inside the scan
 * statement, so a page crosses into JavaScript as one flat string with no work per event
 * here. scripts/build-native.mjs compiles it at `npm run build` (so at `npm ci`) when the
 * machine has a C compiler; without one, or with `DGW_SQLITE_PAGE_JSON=0`, reads take the
 * JavaScript path (packed-reads.ts), which answers the same bytes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';

/** The file name the build gives the extension on this platform. */
export const PAGE_JSON_FILE = `page-json.${process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so'}`;

/**
 * Where the built extension is: beside this module in dist/, or, when this module runs
 * from src/ (tests under tsx), in the build's dist/ folder of the same checkout.
 * Undefined when it was not built.
 */
export function pageJsonExtensionPath(): string | undefined {
  for (const candidate of [`./native/${PAGE_JSON_FILE}`, `../../../dist/storage/sqlite/native/${PAGE_JSON_FILE}`]) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Whether `DGW_SQLITE_PAGE_JSON=0` turned the extension off (A/B runs, tests of the fallback). */
export function pageJsonDisabled(): boolean {
  return process.env.DGW_SQLITE_PAGE_JSON === '0';
}

/**
 * Loads the extension into connection `db`; true when `dgw_page_json` is now available.
 * A missing or unloadable file is not an error: the reads then take the JavaScript path.
 */
export function loadPageJson(db: Database.Database): boolean {
  if (pageJsonDisabled()) return false;
  const path = pageJsonExtensionPath();
  if (path === undefined) return false;
  try {
    // SQLite finds the entry point from the file name: sqlite3_pagejson_init (page-json.c).
    db.loadExtension(path);
    return true;
  } catch {
    return false;
  }
}
