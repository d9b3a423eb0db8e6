/**
 * Server deployment configuration (issue 4): the physical clusters a dgw instance knows,
 * from a config file and/or the `--postgres-url` / `--redis-url` flags, opened into a
 * StoreCatalog, plus the catalog view that resolves a namespace's
 * `physical_storage.{type, cluster}` to them (DESIGN 3.1).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Clock } from '../kernel/clock.js';
import { DgwError } from '../kernel/errors.js';
import type { StoreResolver, StoreResolution, StoreRole } from '../core/control/store-resolver.js';
import type { StoreType } from '../core/control/types.js';
import type { StoreSet } from '../storage/contracts.js';
import { LruRollupCache } from '../storage/in-process/lru-rollup-cache.js';
import { TtlCounterCache } from '../storage/in-process/ttl-counter-cache.js';
import { createPostgresStores } from '../storage/postgres/stores.js';
import { createRedisStores } from '../storage/redis/stores.js';
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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DgwError('INVALID_ARGUMENT', `--config: cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DgwError('INVALID_ARGUMENT', `--config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return decode(serverConfigSchema, json).clusters;
}

/** Catalog key of a cluster. */
export function clusterKey(c: Pick<ClusterConfig, 'type' | 'name'>): string {
  return `${c.type.toLowerCase()}:${c.name}`;
}

/** Opened server stores: catalog entries, default key and the view resolving to them. */
export interface ServerStores {
  defaultKey: string;
  entries: [string, StoreSet][];
  view: StoreResolver;
}

/**
 * Opens every configured cluster. The first PostgreSQL cluster is the default store (events,
 * index, rollups, registry); the first Redis cluster, when any, provides the caches of the
 * default store. Without Redis the caches are in process (per instance; documented).
 */
export async function openServerStores(clusters: readonly ClusterConfig[], clock: Clock): Promise<ServerStores> {
  const names = new Set<string>();
  for (const c of clusters) {
    if (names.has(c.name)) throw new DgwError('INVALID_ARGUMENT', `clusters: duplicate cluster name "${c.name}"`);
    names.add(c.name);
  }
  const pgs = clusters.filter((c) => c.type === 'POSTGRES');
  const redises = clusters.filter((c) => c.type === 'REDIS');
  if (pgs.length === 0) throw new DgwError('INVALID_ARGUMENT', 'clusters: a server deployment needs a POSTGRES cluster (--postgres-url)');
  const entries: [string, StoreSet][] = [];
  const opened: StoreSet[] = [];
  try {
    for (const c of redises) {
      const set = await createRedisStores({ url: c.url, ...(c.keyPrefix ? { keyPrefix: c.keyPrefix } : {}) });
      opened.push(set);
      entries.push([clusterKey(c), set]);
    }
    for (const c of pgs) {
      const set = await createPostgresStores({
        url: c.url,
        clock,
        ...(c.schema ? { schema: c.schema } : {}),
        ...(c.maxConnections ? { maxConnections: c.maxConnections } : {}),
        ...(c.statementTimeoutMs ? { statementTimeoutMs: c.statementTimeoutMs } : {}),
      });
      opened.push(set);
      entries.push([clusterKey(c), set]);
    }
  } catch (err) {
    await Promise.allSettled(opened.map((s) => s.close()));
    throw err;
  }
  const defaultKey = clusterKey(pgs[0]!);
  const redis = redises[0] ? entries.find(([k]) => k === clusterKey(redises[0]!))?.[1] : undefined;
  const pg = entries.find(([k]) => k === defaultKey)![1];
  // The default store also answers for caches: Redis when configured, else in process.
  const defaultSet: StoreSet = {
    name: pg.name,
    capabilities: pg.capabilities,
    ...(pg.events ? { events: pg.events } : {}),
    ...(pg.index ? { index: pg.index } : {}),
    ...(pg.rollups ? { rollups: pg.rollups } : {}),
    ...(pg.namespaces ? { namespaces: pg.namespaces } : {}),
    rollupCache: redis?.rollupCache ?? new LruRollupCache({}),
    counterCache: redis?.counterCache ?? new TtlCounterCache({ clock }),
    ping: () => pg.ping(),
    close: () => pg.close(),
  };
  const finalEntries = entries.map(([k, s]): [string, StoreSet] => [k, k === defaultKey ? defaultSet : s]);
  return { defaultKey, entries: finalEntries, view: createServerStoreResolver(clusters, defaultKey) };
}

const ROLE_TYPES: Record<StoreRole, readonly ClusterConfig['type'][]> = {
  events: ['POSTGRES'],
  index: ['POSTGRES'],
  rollups: ['POSTGRES'],
  cache: ['REDIS', 'POSTGRES'],
};

/**
 * Resolution in server mode: a configured cluster whose type can serve the role is used
 * as named; CASSANDRA and ELASTICSEARCH map to the default PostgreSQL cluster, EVCACHE to
 * the first Redis cluster (or the default store's in-process cache); anything else maps to
 * the default store with a notice saying so.
 */
export function createServerStoreResolver(clusters: readonly ClusterConfig[], defaultKey: string): StoreResolver {
  const firstRedis = clusters.find((c) => c.type === 'REDIS');
  return {
    defaultType: 'POSTGRES',
    resolve(type: StoreType, cluster: string, role: StoreRole): StoreResolution {
      const notices: string[] = [];
      const named = cluster ? clusters.find((c) => c.name === cluster) : undefined;
      if (named && ROLE_TYPES[role].includes(named.type)) {
        if (named.type !== type && !(type === 'EVCACHE' && named.type === 'REDIS') && !(type === 'CASSANDRA' || type === 'ELASTICSEARCH')) {
          notices.push(`type ${type} differs from cluster "${cluster}" (${named.type}); using the cluster`);
        }
        return notices.length ? { store: clusterKey(named), notice: notices.join('; ') } : { store: clusterKey(named) };
      }
      if (cluster) notices.push(`cluster ${JSON.stringify(cluster)} is not configured for ${role}; using the default store`);
      let store = defaultKey;
      if (role === 'cache' && (type === 'REDIS' || type === 'EVCACHE') && firstRedis) {
        store = clusterKey(firstRedis);
        if (type === 'EVCACHE') notices.push(`type EVCACHE mapped to REDIS cluster "${firstRedis.name}"`);
      } else if (type === 'CASSANDRA' || type === 'ELASTICSEARCH' || type === 'EVCACHE') {
        notices.push(`type ${type} mapped to POSTGRES (${defaultKey})${role === 'cache' ? ' with in-process caches' : ''}`);
      } else if (type === 'REDIS' && role === 'cache') {
        notices.push('no REDIS cluster is configured; using in-process caches (per instance)');
      } else if (type !== 'POSTGRES') {
        notices.push(`type ${type} is not available in server mode for ${role}; mapped to POSTGRES (${defaultKey})`);
      }
      return notices.length ? { store, notice: notices.join('; ') } : { store };
    },
  };
}
