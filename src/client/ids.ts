/**
 * Idempotency tokens and event ids, made once per logical call and reused by every retry
 * and hedge of it. Web Crypto (`crypto.randomUUID`, `getRandomValues`), present in
 * Node 20 and browsers.
 */

/** A random RFC 4122 version-4 UUID. */
export function newToken(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  // randomUUID needs a secure context in browsers; getRandomValues does not.
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
