/**
 * Store URL checks (issue 11): a PostgreSQL URL must be postgres:// or postgresql://, a
 * Redis one redis:// or rediss://, a NATS one nats:// or tls://, so a swapped flag fails at start-up naming the flag
 * instead of as a driver error later. Passwords are redacted from anything logged.
 */

const SCHEMES = { POSTGRES: ['postgres:', 'postgresql:'], REDIS: ['redis:', 'rediss:'], NATS: ['nats:', 'tls:'] } as const;

/** Returns `url` when its scheme fits `type`; throws naming `what` otherwise. */
export function checkUrlScheme(what: string, url: string, type: keyof typeof SCHEMES): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what}: "${redactUrl(url)}" is not a URL`);
  }
  const allowed: readonly string[] = SCHEMES[type];
  if (!allowed.includes(parsed.protocol)) {
    throw new Error(`${what}: scheme "${parsed.protocol}" is not one of ${allowed.map((s) => s + '//').join(', ')}`);
  }
  return url;
}

/** `url` with its password replaced by "***" (unparseable input: only the scheme kept). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/.*$/, '://…');
  }
}
