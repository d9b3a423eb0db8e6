/**
 * Token scopes (DESIGN 7): `admin` (control plane and every namespace), `metrics` (the
 * /metrics endpoint), and `read:<pattern>` / `write:<pattern>` on namespaces, where the
 * pattern is a namespace name, a name prefix ending in `*`, or `*` alone. `write`
 * includes `read` (AddAndGetCount both writes and reads). A namespace pattern covers the
 * name in both kinds (timeseries and counter).
 */
import { DgwError } from '../../kernel/errors.js';
import type { Access } from '../call-context.js';

/** A parsed scope. */
export type Scope =
  | { kind: 'admin' }
  | { kind: 'metrics' }
  | { kind: 'read' | 'write'; name: string; prefix: boolean };

const NAMESPACE_PATTERN = /^[A-Za-z0-9_.-]*\*?$/;

/** Parses `admin`, `metrics`, `read:NAME`, `write:PREFIX*`; throws INVALID_ARGUMENT naming `field`. */
export function parseScope(text: string, field: string): Scope {
  if (text === 'admin' || text === 'metrics') return { kind: text };
  const m = /^(read|write):(.+)$/.exec(text);
  if (!m || !NAMESPACE_PATTERN.test(m[2]!)) {
    throw new DgwError('INVALID_ARGUMENT', `${field}: "${text}" is not a scope (admin, metrics, read:NAME, write:NAME, read:PREFIX*, write:*)`, {
      details: [{ field, reason: 'not a scope' }],
    });
  }
  const pattern = m[2]!;
  const prefix = pattern.endsWith('*');
  return { kind: m[1] as 'read' | 'write', name: prefix ? pattern.slice(0, -1) : pattern, prefix };
}

/** True when `scopes` grant `access` (on `namespace` for read and write). */
export function grants(scopes: readonly Scope[], access: Access, namespace: string | undefined): boolean {
  if (access === 'open') return true;
  for (const s of scopes) {
    if (s.kind === 'admin') return true;
    if (access === 'metrics' && s.kind === 'metrics') return true;
    if ((access === 'read' || access === 'write') && (s.kind === 'read' || s.kind === 'write')) {
      if (access === 'write' && s.kind === 'read') continue;
      // Without a namespace (not decoded yet) no namespace scope can be checked: refuse.
      if (namespace === undefined) continue;
      if (s.prefix ? namespace.startsWith(s.name) : namespace === s.name) return true;
    }
  }
  return false;
}
