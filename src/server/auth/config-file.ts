/**
 * The security and overload sections of the server config file (`--config`): `auth`
 * (tokens), `allowedOrigins`, `shedding`. Tokens are re-read without a restart: on
 * SIGHUP (the CLI calls {@link TokenFileWatcher.reload}) and when the file changes (polled
 * every two seconds), so a revoked token stops working within seconds. A file that no
 * longer parses keeps the previous tokens and is reported: locking every client out over
 * a typo would be its own outage.
 */
import { statSync } from 'node:fs';
import { z } from 'zod';
import { readConfigJson } from '../config-json.js';
import { decode } from '../wire/decode.js';
import { sheddingConfigSchema } from '../shedding/shedder.js';
import type { TokenStore } from './token-store.js';

const sectionsSchema = z.object({
  auth: z.unknown().optional(),
  allowedOrigins: z.array(z.string().min(1)).default([]),
  shedding: sheddingConfigSchema.optional(),
});

/** The sections of the config file this module reads (others are left to their owners). */
export type SecuritySections = z.output<typeof sectionsSchema>;

/** Reads and validates the security sections of a JSON config file; INVALID_ARGUMENT names the problem. */
export function readSecuritySections(path: string): SecuritySections {
  const json = readConfigJson(path);
  return decode(sectionsSchema, json);
}

/** Keeps a TokenStore in step with the `auth` section of a config file. */
export class TokenFileWatcher {
  /** Identity of the file version last read: stat taken before reading, so a later write differs. */
  private seen = '';
  private readonly timer: NodeJS.Timeout;

  /** Reads the file now (the store takes its tokens) and then every `pollMs` when it changed. */
  constructor(
    private readonly path: string,
    private readonly store: TokenStore,
    private readonly report: (message: string) => void,
    pollMs = 2000,
  ) {
    this.reload();
    this.timer = setInterval(() => {
      if (this.version() !== this.seen) this.reload();
    }, pollMs);
    this.timer.unref();
  }

  private version(): string {
    try {
      const st = statSync(this.path);
      return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      return 'missing';
    }
  }

  /** Re-reads the file now; false (old tokens kept, problem reported) when it is invalid. */
  reload(): boolean {
    this.seen = this.version();
    try {
      this.store.replace(readSecuritySections(this.path).auth ?? {});
      return true;
    } catch (err) {
      this.report(`${this.path}: tokens not reloaded, previous tokens kept: ${(err as Error).message}`);
      return false;
    }
  }

  /** Stops watching. */
  close(): void {
    clearInterval(this.timer);
  }
}
