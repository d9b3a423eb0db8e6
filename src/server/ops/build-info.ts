/**
 * What this build is: the package version (from package.json, found the same way from
 * src/ under tsx and from dist/ after the build), the Node version and when the process
 * started. Used by `dgw --version`, GET /v1/status and the dgw_build_info metric.
 */
import { readFileSync } from 'node:fs';

/** Version facts of the running process. */
export interface BuildInfo {
  version: string;
  node: string;
  startedAt: Date;
}

const startedAt = new Date();
let version: string | undefined;

/** The package version (read once). */
export function packageVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    version = pkg.version;
  }
  return version;
}

/** The build facts of this process. */
export function buildInfo(): BuildInfo {
  return { version: packageVersion(), node: process.version, startedAt };
}
