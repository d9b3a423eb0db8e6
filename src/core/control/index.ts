/** The control plane: namespace documents to canonical configurations, and their registry. */
export type { CounterConfig, CounterType, NamespaceConfig, ParsedNamespace, PhysicalStorage, StoreType, TimeSeriesConfig } from './types.js';
export { parseNamespaceBody } from './lenient-json.js';
export { NAMESPACE_NAME_PATTERN, validateNamespaceName } from './namespace-name.js';
export { STORE_TYPES, createEmbeddedCatalogView } from './store-catalog-view.js';
export type { EmbeddedCatalogViewOptions, StoreCatalogView, StoreResolution, StoreRole } from './store-catalog-view.js';
export { COUNTER_DEFAULTS, COUNTER_EVENTS_DEFAULTS, INDEX_REFRESH_DEFAULT_MICROS, TIMESERIES_DEFAULTS } from './defaults.js';
export type { PrimaryDefaults } from './defaults.js';
export { FIELD_TYPES, TS_KEYS, parseTimeSeriesNamespace } from './timeseries-doc.js';
export { COUNTER_CARDINALITIES, COUNTER_KEYS, COUNTER_TYPES, counterEventsNamespace, parseCounterNamespace } from './counter-doc.js';
export { DEFAULT_NAMESPACE_CACHE_TTL_MICROS, NamespaceManager } from './namespace-manager.js';
export type { NamespaceDeleteHook, NamespaceManagerOptions, PutNamespaceResult } from './namespace-manager.js';
