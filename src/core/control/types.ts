/**
 * Canonical (normalised) namespace configurations. The control plane parses the
 * article's documents, in any of their spellings, into these shapes; every default is
 * filled in, so the rest of dgw never sees an optional setting.
 */
import type { FieldType } from '../../domain/search.js';

/** Store types a namespace may name; the last three are mapped (DESIGN 3.1). */
export type StoreType = 'SQLITE' | 'POSTGRES' | 'REDIS' | 'MEMORY' | 'CASSANDRA' | 'ELASTICSEARCH' | 'EVCACHE';

/** A `physical_storage` entry after resolution against the server's stores. */
export interface PhysicalStorage {
  /** The type as written in the document (upper-cased). */
  requestedType: StoreType;
  /** Cluster name as written ("" when absent). */
  requestedCluster: string;
  dataset: string;
  /** The server store (catalog key) this storage resolved to, e.g. "sqlite" or "postgres:main". */
  store: string;
}

/** TimeSeries namespace configuration (DESIGN 3.1, all defaults filled). */
export interface TimeSeriesConfig {
  kind: 'timeseries';
  name: string;
  primary: {
    storage: PhysicalStorage;
    secondsPerTimeSlice: number;
    secondsPerTimeBucket: number;
    eventBuckets: number;
    /** WriteEventRecords queue: coalesce window and capacity in bytes. */
    coalesceMicros: number;
    bufferCapacityBytes: number;
    consistencyScope: string;
    consistencyTarget: string;
    /** Writes older than now - acceptLimit are refused (except retries of stored events). */
    acceptLimitMicros: number;
    /** Writes later than now + futureLimit are refused. */
    futureLimitMicros: number;
    /** Retention; 0 = never. */
    closeAfterMicros: number;
    deleteAfterMicros: number;
  };
  /** The document's `slos` block (DESIGN 3.5); absent when the document has none. */
  slos?: NamespaceSlos;
  /** Present when INDEX_STORAGE is configured with at least one field. */
  index?: {
    storage: PhysicalStorage;
    fieldMapping: Record<string, FieldType>;
    secondsPerSlice: number;
    refreshIntervalMicros: number;
    closeAfterMicros: number;
    deleteAfterMicros: number;
  };
}

/** Endpoints with an SLO: `read` (Read/Search/Aggregate), `write` (both writes). */
export type SloEndpoint = 'read' | 'write';

/** One endpoint's latency SLO: clients hedge at `target`, everyone gives up at `max`. */
export interface Slo {
  targetMicros: number;
  maxMicros: number;
}

/** The SLOs of a TimeSeries namespace, per endpoint (DESIGN 3.5). */
export type NamespaceSlos = Partial<Record<SloEndpoint, Slo>>;

/** Counter flavours (DESIGN 4). */
export type CounterType = 'BEST_EFFORT' | 'EVENTUAL' | 'ACCURATE';

/** Counter namespace configuration (DESIGN 4.1, all defaults filled). */
export interface CounterConfig {
  kind: 'counter';
  name: string;
  counterType: CounterType;
  counterCardinality: string;
  cache: { storage: PhysicalStorage };
  rollup: {
    storage: PhysicalStorage;
    numQueues: number;
    coalesceMicros: number;
    capacityBytes: number;
    rollupBatchCount: number;
  };
  /** Best-effort TTL; 0 = no expiry. */
  ttlMicros: number;
  skewMarginMicros: number;
  /** The counter's own TimeSeries namespace (EVENT_STORAGE). */
  events: TimeSeriesConfig;
  /**
   * Which stored version of the namespace this configuration was read from (issue 15):
   * `<registry version>@<updatedAtMicros>`, different after a delete and re-create (and
   * after a replace). Every cache an instance keeps about the namespace's counters (write
   * marks, rollup checkpoints) is keyed by it, so a re-created namespace never inherits a
   * belief about the old one. Set by the NamespaceManager; absent on a configuration not
   * read from the registry (a document just parsed, tests). Never stored.
   */
  incarnation?: string;
}

/** Either kind of namespace configuration. */
export type NamespaceConfig = TimeSeriesConfig | CounterConfig;

/** Result of parsing a namespace document: the config plus human notices (mappings, defaults). */
export interface ParsedNamespace<C extends NamespaceConfig> {
  config: C;
  notices: string[];
}
