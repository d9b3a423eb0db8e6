/** The memory NamespaceRegistry: records in a Map keyed by kind and name. */
import type { NamespaceKind, NamespaceRecord, NamespaceRegistry } from '../contracts.js';

function clone(record: NamespaceRecord): NamespaceRecord {
  return { ...record, config: structuredClone(record.config) };
}

/** A NamespaceRegistry held in process memory. */
export class MemoryNamespaceRegistry implements NamespaceRegistry {
  private readonly records = new Map<string, NamespaceRecord>();
  private readonly settings = new Map<string, string>();

  async put(kind: NamespaceKind, name: string, config: Record<string, unknown>, nowMicros: number): Promise<NamespaceRecord> {
    const key = `${kind}/${name}`;
    const previous = this.records.get(key);
    const record: NamespaceRecord = {
      kind,
      name,
      config: structuredClone(config),
      version: (previous?.version ?? 0) + 1,
      updatedAtMicros: nowMicros,
    };
    this.records.set(key, record);
    return clone(record);
  }

  async get(kind: NamespaceKind, name: string): Promise<NamespaceRecord | undefined> {
    const record = this.records.get(`${kind}/${name}`);
    return record ? clone(record) : undefined;
  }

  async list(kind: NamespaceKind): Promise<NamespaceRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.kind === kind)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(clone);
  }

  async delete(kind: NamespaceKind, name: string): Promise<boolean> {
    return this.records.delete(`${kind}/${name}`);
  }

  async claimSetting(name: string, candidate: string): Promise<string> {
    const stored = this.settings.get(name);
    if (stored !== undefined) return stored;
    this.settings.set(name, candidate);
    return candidate;
  }
}
