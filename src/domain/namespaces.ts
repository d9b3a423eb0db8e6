/**
 * Domain types of the control plane: which abstraction a namespace belongs to and its
 * stored record. Core and storage both speak them.
 */
/** Which abstraction a namespace belongs to. */
export type NamespaceKind = 'timeseries' | 'counter';

/** A stored namespace: its canonical configuration document and a version. */
export interface NamespaceRecord {
  kind: NamespaceKind;
  name: string;
  /** The canonical (normalised) configuration, as JSON. */
  config: Record<string, unknown>;
  /** Increases on every change of this namespace; starts at 1. */
  version: number;
  updatedAtMicros: number;
}
