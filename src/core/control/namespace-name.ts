/**
 * Namespace names: what a client may call a namespace (path segment, log field, metric
 * label). The storage contracts allow a wider alphabet (`:` is reserved for internal
 * namespaces such as `counter:<name>`), so no user name can collide with an internal one.
 */
import { invalidArgument } from '../../kernel/errors.js';

/** Pattern every user-visible namespace name matches. */
export const NAMESPACE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Returns `name` when it is a valid namespace name; otherwise throws INVALID_ARGUMENT
 * naming the field `namespace`.
 */
export function validateNamespaceName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalidArgument('namespace', 'required: a non-empty string');
  }
  if (!NAMESPACE_NAME_PATTERN.test(name)) {
    const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
    throw invalidArgument(
      'namespace',
      `invalid name ${JSON.stringify(shown)}: use 1 to 128 characters among letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
  return name;
}
