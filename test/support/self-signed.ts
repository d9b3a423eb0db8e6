/**
 * A self-signed certificate for 127.0.0.1 / localhost, made with `openssl` at test time
 * (no key material in the repository). Undefined when openssl is missing: the caller
 * skips loudly, or fails under CI=true.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp-dir.js';

/** Paths and contents of a fresh certificate and key. */
export interface SelfSigned {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** Generates the certificate; undefined when `openssl` cannot run. */
export function selfSignedCert(): SelfSigned | undefined {
  const dir = tempDir('dgw-tls-');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'pipe' },
    );
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`openssl is needed for the TLS tests: ${(err as Error).message}`);
    console.error(`\n*** SKIPPING TLS tests: openssl failed: ${(err as Error).message} ***\n`);
    return undefined;
  }
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}
