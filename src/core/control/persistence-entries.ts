/**
 * The parts every namespace document shares: the list of `persistence_configuration`
 * entries keyed by `id`, `physical_storage` resolution, and retention lifecycle configs.
 */
import { invalidArgument } from '../../kernel/errors.js';
import { formatDurationMicros } from '../../kernel/time.js';
import { MAX_DURATION_MICROS } from './defaults.js';
import { DocSection, isPlainObject, joinPath, show, type Found } from './doc-reader.js';
import { STORE_TYPES } from './store-resolver.js';
import type { StoreResolver, StoreRole } from './store-resolver.js';
import type { PhysicalStorage } from './types.js';

/** State shared while parsing one document. */
export interface ParseContext {
  /** The namespace name (already validated). */
  name: string;
  catalog: StoreResolver;
  /** Human notices collected on the way (mappings, ignored settings). */
  notices: string[];
}

/**
 * Records that a setting present in the document is kept (and returned) but changes
 * nothing, and why (issue 14 item 10: no setting is silently ignored).
 */
export function noEffect(ctx: ParseContext, found: Found | undefined, why: string): void {
  if (found !== undefined) ctx.notices.push(`${found.path}: accepted but has no effect: ${why}`);
}

const ROOT_KEYS = ['persistence_configuration', 'persistenceConfiguration'] as const;

/**
 * Splits a parsed document into its entries by `id`. The document is an object holding
 * `persistence_configuration` (either spelling), `{}`, or a bare array of entries. Unknown
 * top-level keys are refused (a misspelt root would silently mean "all defaults").
 */
export function splitEntries<Id extends string>(
  doc: unknown,
  ids: readonly Id[],
  kindLabel: string,
  notices: string[],
): Map<Id, DocSection> {
  let items: unknown[];
  let base: string = ROOT_KEYS[0];
  if (Array.isArray(doc)) {
    items = doc;
  } else if (isPlainObject(doc)) {
    const root = DocSection.of(doc, '', notices);
    const found = root.find(ROOT_KEYS);
    for (const key of root.keys()) {
      if (!(ROOT_KEYS as readonly string[]).includes(key)) {
        throw invalidArgument(key, `unknown top-level field (expected ${ROOT_KEYS[0]})`);
      }
    }
    if (found === undefined) return new Map();
    if (!Array.isArray(found.value)) throw invalidArgument(found.path, `expected an array of entries, got ${show(found.value)}`);
    items = found.value;
    base = found.key;
  } else {
    throw invalidArgument('body', `expected an object or an array, got ${show(doc)}`);
  }
  const entries = new Map<Id, DocSection>();
  items.forEach((item, i) => {
    const entry = DocSection.of(item, joinPath(base, i), notices);
    const id = entry.enumeration(['id'], ids, `id for a ${kindLabel} namespace`);
    if (id === undefined) throw invalidArgument(joinPath(entry.path, 'id'), `required (one of ${ids.join(', ')})`);
    if (entries.has(id)) throw invalidArgument(joinPath(entry.path, 'id'), `duplicate id ${JSON.stringify(id)}`);
    entry.accept(['scope']);
    entries.set(id, entry);
  });
  return entries;
}

/**
 * Resolves an entry's `physical_storage` (either spelling; absent means the server's
 * default type). Mappings are recorded in `ctx.notices` under the field's path.
 */
export function resolveStorage(entry: DocSection | undefined, ctx: ParseContext, role: StoreRole): PhysicalStorage {
  const ps = entry?.section(['physical_storage', 'physicalStorage']);
  const requestedType = ps?.enumeration(['type'], STORE_TYPES, 'store type') ?? ctx.catalog.defaultType;
  const requestedCluster = ps?.string(['cluster']) ?? '';
  const givenDataset = ps?.string(['dataset']);
  const dataset = givenDataset ?? ctx.name;
  const resolved = ctx.catalog.resolve(requestedType, requestedCluster, role, givenDataset);
  // A dataset selects a keyspace on a Cassandra cluster that lists it (docs/cassandra.md); elsewhere it is stored only.
  if (!resolved.datasetHandled) noEffect(ctx, ps?.find(['dataset']), 'namespaces are kept apart by name inside the store; dataset is stored and returned only');
  ps?.finish();
  if (resolved.notice !== undefined) {
    const where = ps?.path ?? joinPath(entry?.path ?? '', 'physical_storage');
    ctx.notices.push(`${where}: ${resolved.notice}`);
  }
  return { requestedType, requestedCluster, dataset, store: resolved.store };
}

/** Retention in microseconds; 0 means never. */
export interface Retention {
  closeAfterMicros: number;
  deleteAfterMicros: number;
}

const DURATION_RANGE = { min: 0, max: MAX_DURATION_MICROS };

/**
 * Reads `lifecycleConfigs.lifecycleConfig[]` (either spelling) of an entry. Only
 * `type: "retention"` exists. A missing side takes its default; when that contradicts the
 * given side (drop before close), it follows the given side. `close_after` 0 with a
 * `delete_after` closes the slice when it is dropped. Both given with
 * `delete_after < close_after` is INVALID_ARGUMENT.
 */
export function parseRetention(entry: DocSection | undefined, defaults: Retention): Retention {
  const lc = entry?.section(['lifecycleConfigs', 'lifecycle_configs', 'lifecycleConfig', 'lifecycle_config']);
  if (lc === undefined) return { closeAfterMicros: defaults.closeAfterMicros, deleteAfterMicros: defaults.deleteAfterMicros };
  const list = lc.find(['lifecycleConfig', 'lifecycle_config', 'lifecycle_configs']);
  lc.finish();
  if (list === undefined) return { closeAfterMicros: defaults.closeAfterMicros, deleteAfterMicros: defaults.deleteAfterMicros };
  if (!Array.isArray(list.value)) throw invalidArgument(list.path, `expected an array, got ${show(list.value)}`);
  let close: number | undefined;
  let del: number | undefined;
  let closePath = '';
  let deletePath = '';
  let seen = false;
  list.value.forEach((item, i) => {
    const one = lc.child(item, joinPath(list.path, i));
    one.enumeration(['type'], ['RETENTION'] as const, 'lifecycle type');
    if (seen) throw invalidArgument(joinPath(one.path, 'type'), 'only one retention lifecycle config is allowed');
    seen = true;
    const cfg = one.section(['config']);
    one.finish();
    if (cfg === undefined) return;
    const c = cfg.find(['close_after', 'closeAfter']);
    const d = cfg.find(['delete_after', 'deleteAfter']);
    close = c === undefined ? undefined : cfg.duration([c.key], DURATION_RANGE);
    del = d === undefined ? undefined : cfg.duration([d.key], DURATION_RANGE);
    closePath = c?.path ?? '';
    deletePath = d?.path ?? '';
    cfg.finish();
  });
  let closeAfter = close ?? defaults.closeAfterMicros;
  let deleteAfter = del ?? defaults.deleteAfterMicros;
  if (deleteAfter > 0 && closeAfter > deleteAfter) {
    if (close !== undefined && del !== undefined) {
      throw invalidArgument(deletePath, `must not be less than close_after (${closePath}), got ${formatDurationMicros(deleteAfter)} < ${formatDurationMicros(closeAfter)}`);
    }
    if (close === undefined) closeAfter = deleteAfter;
    else deleteAfter = closeAfter;
  }
  if (closeAfter === 0 && deleteAfter > 0) closeAfter = deleteAfter;
  return { closeAfterMicros: closeAfter, deleteAfterMicros: deleteAfter };
}
