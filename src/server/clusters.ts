/**
 * Server deployment configuration (issue 4): the physical clusters a dgw instance knows,
 * from a config file and/or the `--postgres-url` / `--redis-url` flags. They are opened
 * by the one store assembly (stores.ts) and resolved to by store-resolvers.ts.
 */
import { z } from 'zod';
import { readConfigJson } from './config-json.js';
import { decode } from './wire/decode.js';

const clusterSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" only'),
  type: z.enum(['POSTGRES', 'REDIS']),
  url: z.string().min(1),
  /** PostgreSQL: schema holding dgw's tables (default "dgw"). Redis: key prefix (default "dgw:"). */
  schema: z.string().optional(),
  keyPrefix: z.string().optional(),
  maxConnections: z.number().int().min(1).max(200).optional(),
  statementTimeoutMs: z.number().int().min(1).optional(),
});

/**
 * A server config file: `clusters` is read here; the other sections belong to their
 * owners (auth/config-file.ts validates them). Any other top-level key is refused, named.
 */
export const serverConfigSchema = z.strictObject({
  clusters: z.array(clusterSchema).default([]),
  auth: z.unknown().optional(),
  allowedOrigins: z.unknown().optional(),
  shedding: z.unknown().optional(),
});

/** One configured physical cluster. */
export type ClusterConfig = z.output<typeof clusterSchema>;

/** Reads a server config file (JSON) and validates it, naming the bad field. */
export function readServerConfig(path: string): ClusterConfig[] {
  const json = readConfigJson(path);
  return decode(serverConfigSchema, json).clusters;
}

/** Catalog key of a cluster. */
export function clusterKey(c: Pick<ClusterConfig, 'type' | 'name'>): string {
  return `${c.type.toLowerCase()}:${c.name}`;
}
