/**
 * The bind rule of DESIGN 7: dgw listens on 127.0.0.1 unless told otherwise, and refuses
 * to serve any other address without authentication unless explicitly told it may (an
 * open data gateway on a network is how data gets read or wiped by anyone who finds it).
 */
import { isIP } from 'node:net';
import { DgwError } from '../../kernel/errors.js';

/** The default listen address. */
export const DEFAULT_HOST = '127.0.0.1';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** Throws FAILED_PRECONDITION when `host` is not loopback, auth is off and not explicitly allowed. */
export function checkBindPolicy(host: string, authenticating: boolean, allowUnauthenticated: boolean): void {
  if (authenticating || allowUnauthenticated || isLoopbackHost(host)) return;
  throw new DgwError(
    'FAILED_PRECONDITION',
    `refusing to serve ${host} without authentication: configure tokens (server config "auth", docs/security.md) or pass --allow-unauthenticated`,
  );
}
