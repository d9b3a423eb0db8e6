/**
 * Bearer tokens (DESIGN 7). The server config lists tokens by their SHA-256 (hex), never
 * in plain text, each with scopes and an optional expiry. `authenticate` maps a presented
 * token to its principal (401 UNAUTHENTICATED when missing, unknown or expired);
 * `authorize` checks a scope (403 PERMISSION_DENIED). `replace` swaps the whole set at
 * once, which is how revocation takes effect without a restart (see config-file.ts).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../kernel/clock.js';
import { DgwError } from '../../kernel/errors.js';
import { parseTimestampMicros } from '../../kernel/time.js';
import type { Access } from '../call-context.js';
import { decode } from '../wire/decode.js';
import { grants, parseScope, type Scope } from './scopes.js';

const tokenSchema = z.strictObject({
  /** A label for logs and errors; never the token. */
  name: z.string().min(1).max(128),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the token, 64 hex digits'),
  scopes: z.array(z.string()).min(1),
  /** RFC 3339; the token is refused from this instant on. */
  expiresAt: z.string().optional(),
});

/** The `auth` section of the server config file. */
export const authConfigSchema = z.strictObject({
  tokens: z.array(tokenSchema).default([]),
});

/** The `auth` section as written in the config file. */
export type AuthConfig = z.input<typeof authConfigSchema>;

/** An authenticated caller. */
export interface Principal {
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Microseconds since the epoch; undefined = never expires. */
  readonly expiresAtMicros?: number;
}

/** SHA-256 hex of a token: what the config file stores. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Validates an `auth` config section (INVALID_ARGUMENT naming the field) into principals by hash. */
export function parseAuthConfig(input: unknown): Map<string, Principal> {
  const config = decode(authConfigSchema, input);
  const byHash = new Map<string, Principal>();
  config.tokens.forEach((t, i) => {
    const field = `auth.tokens[${i}]`;
    const scopes = t.scopes.map((s, j) => parseScope(s, `${field}.scopes[${j}]`));
    let expiresAtMicros: number | undefined;
    if (t.expiresAt !== undefined) {
      expiresAtMicros = parseTimestampMicros(t.expiresAt);
      if (expiresAtMicros === undefined) {
        throw new DgwError('INVALID_ARGUMENT', `${field}.expiresAt: "${t.expiresAt}" is not an RFC 3339 timestamp`);
      }
    }
    const hash = t.sha256.toLowerCase();
    if (byHash.has(hash)) throw new DgwError('INVALID_ARGUMENT', `${field}.sha256: the same token is listed twice`);
    byHash.set(hash, { name: t.name, scopes, ...(expiresAtMicros !== undefined ? { expiresAtMicros } : {}) });
  });
  return byHash;
}

/** The live token set of a server. */
export class TokenStore {
  private byHash: Map<string, Principal>;

  constructor(
    private readonly clock: Clock,
    config: unknown,
  ) {
    this.byHash = parseAuthConfig(config);
  }

  /** Replaces every token at once (revocation, rotation); throws, keeping the old set, when invalid. */
  replace(config: unknown): void {
    this.byHash = parseAuthConfig(config);
  }

  /** Number of tokens configured. */
  get size(): number {
    return this.byHash.size;
  }

  /**
   * The principal of an `Authorization` header value (`Bearer <token>`); throws
   * UNAUTHENTICATED when it is missing, malformed, unknown or expired.
   */
  authenticate(authorization: string | undefined): Principal {
    if (authorization === undefined || authorization === '') {
      throw new DgwError('UNAUTHENTICATED', 'authorization: a bearer token is required (Authorization: Bearer <token>)');
    }
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) throw new DgwError('UNAUTHENTICATED', 'authorization: expected "Bearer <token>"');
    const principal = this.byHash.get(hashToken(m[1]!));
    if (!principal) throw new DgwError('UNAUTHENTICATED', 'authorization: unknown or revoked token');
    if (principal.expiresAtMicros !== undefined && this.clock.nowMicros() >= principal.expiresAtMicros) {
      throw new DgwError('UNAUTHENTICATED', `authorization: token "${principal.name}" has expired`);
    }
    return principal;
  }

  /** Throws PERMISSION_DENIED unless `principal` may do `access` (on `namespace`). */
  authorize(principal: Principal, access: Access, operation: string, namespace: string | undefined): void {
    if (grants(principal.scopes, access, namespace)) return;
    const target = access === 'read' || access === 'write' ? ` on namespace "${namespace ?? ''}"` : '';
    throw new DgwError('PERMISSION_DENIED', `token "${principal.name}" lacks the ${access} scope${target} needed by ${operation}`, {
      details: [{ reason: 'missing scope', scope: access, ...(namespace !== undefined ? { namespace } : {}) }],
    });
  }
}
