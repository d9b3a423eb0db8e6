/**
 * Clock offsets (issue 15): how far this instance's clock is from the clock of each store
 * it shares with other instances (PostgreSQL, Redis, Cassandra: `StoreSet.clock`).
 * Measured at start and then every {@link DEFAULT_OFFSET_INTERVAL_MS}: each measurement
 * reads the store's clock three times and keeps the read with the shortest round trip,
 * taking the store's time to be at the middle of it (`offset = store − (sent + received) / 2`,
 * error at most RTT/2). Exported as `dgw_clock_offset_seconds{store}` (and the round trip as
 * `dgw_clock_offset_rtt_seconds{store}`).
 *
 * What the offset drives (docs/counters.md "Clock offset"):
 * - `/readyz` fails (503, the reason in the body) while any |offset| exceeds the server's
 *   skew margin by more than the measurement's uncertainty, and the crossing is logged
 *   (both ways);
 * - the counter service stops rolling up (rollups and sweeps) a namespace whose rollup
 *   store's |offset| exceeds the namespace's `skew_margin`, and stamps tokenless mutations
 *   with `now + offset`, its estimate of the store's clock (core/counter/service.ts).
 * A store without a clock of its own (embedded SQLite, memory) has offset 0.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../kernel/clock.js';
import { DgwError } from '../kernel/errors.js';
import { COUNTER_DEFAULTS } from '../core/control/defaults.js';
import type { StoreClock } from '../storage/contracts.js';
import type { StoreCatalog } from '../storage/catalog.js';
import type { CounterClockOffsets } from '../core/counter/types.js';

/** Time between two measurements (10 s). */
export const DEFAULT_OFFSET_INTERVAL_MS = 10_000;
/** Reads of the store's clock per measurement; the one with the shortest round trip counts. */
const SAMPLES = 3;

/**
 * The coarsest store clock read: Cassandra's `currentTimestamp()` has milliseconds
 * (PostgreSQL's `clock_timestamp()` and Redis `TIME` have microseconds).
 */
export const STORE_CLOCK_RESOLUTION_MICROS = 1000;

/** One store's last measurement. */
export interface ClockOffsetReading {
  /** Store clock − this instance's clock, µs. */
  offsetMicros: number;
  /** Round trip of the read the offset came from, µs (the offset is good to half of it). */
  rttMicros: number;
  /** This instance's clock at the measurement. */
  atMicros: number;
}

/** Options of {@link ClockOffsetMonitor}. */
export interface ClockOffsetMonitorOptions {
  catalog: StoreCatalog;
  /** This instance's clock (the one every window and rollup runs on). */
  clock: Clock;
  /** Largest |offset| with which the instance is ready (the server's skew margin), µs. */
  marginMicros: number;
  /** Told when a store's offset leaves or comes back within the margin, and when a measurement fails. */
  log(level: 'warn' | 'info', message: string): void;
  intervalMs?: number;
}

/** Measures and remembers the offset of every store clock of a catalog; see the file header. */
export class ClockOffsetMonitor implements CounterClockOffsets {
  private readonly clocks: [string, StoreClock][];
  private readonly readings = new Map<string, ClockOffsetReading>();
  private readonly outside = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ClockOffsetMonitorOptions) {
    this.clocks = options.catalog.clocks();
  }

  /** Registers `dgw_clock_offset_seconds{store}` and `dgw_clock_offset_rtt_seconds{store}`. */
  registerMetrics(registry: Registry): void {
    const readings = this.readings;
    new Gauge({
      name: 'dgw_clock_offset_seconds',
      help: "A shared store's clock minus this instance's clock, as last measured (issue 15); /readyz fails beyond the skew margin",
      labelNames: ['store'],
      registers: [registry],
      collect() {
        for (const [store, r] of readings) this.set({ store }, r.offsetMicros / 1e6);
      },
    });
    new Gauge({
      name: 'dgw_clock_offset_rtt_seconds',
      help: 'Round trip of the store clock read the offset came from (the offset is good to half of it)',
      labelNames: ['store'],
      registers: [registry],
      collect() {
        for (const [store, r] of readings) this.set({ store }, r.rttMicros / 1e6);
      },
    });
  }

  /** Measures every store once now (a store that fails keeps its last reading). */
  measure(): Promise<void> {
    // One measurement at a time: a slow store must not pile them up.
    this.running ??= this.measureAll().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Measures every `intervalMs` from now on (the timer does not keep the process alive). */
  start(): void {
    if (this.timer || this.clocks.length === 0) return;
    this.timer = setInterval(() => void this.measure(), this.options.intervalMs ?? DEFAULT_OFFSET_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops measuring; idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The last reading of a store (by catalog key), if any. */
  reading(key: string): ClockOffsetReading | undefined {
    return this.readings.get(key);
  }

  /** Offset of the store holding `key`'s rollups; 0 for a store without a clock or not measured yet. */
  offsetMicros(rollupStoreKey: string): number {
    return this.readings.get(this.options.catalog.providerKey(rollupStoreKey, 'rollups'))?.offsetMicros ?? 0;
  }

  /**
   * How far the offset of `key`'s rollup store may be off: half the round trip of its
   * read, plus {@link STORE_CLOCK_RESOLUTION_MICROS}; 0 when not measured.
   */
  uncertaintyMicros(rollupStoreKey: string): number {
    const r = this.readings.get(this.options.catalog.providerKey(rollupStoreKey, 'rollups'));
    return r ? r.rttMicros / 2 + STORE_CLOCK_RESOLUTION_MICROS : 0;
  }

  /** Why this instance is not ready (an offset beyond the margin), or undefined. */
  readinessProblem(): string | undefined {
    const beyond = [...this.readings]
      .filter(([, r]) => this.beyond(r))
      .map(([key, r]) => describe(key, r, this.options.marginMicros));
    return beyond.length > 0 ? beyond.join('; ') : undefined;
  }

  /**
   * Whether a reading is beyond the server's margin by more than the measurement can tell
   * (half its round trip plus the store clock's resolution), the rule the counter service
   * applies to a namespace's `skew_margin` (core/counter/types.ts offsetBeyondMargin): with
   * a margin of 0, noise alone would otherwise keep the instance not ready.
   */
  private beyond(r: ClockOffsetReading): boolean {
    return Math.abs(r.offsetMicros) - (r.rttMicros / 2 + STORE_CLOCK_RESOLUTION_MICROS) > this.options.marginMicros;
  }

  private async measureAll(): Promise<void> {
    await Promise.all(
      this.clocks.map(async ([key, storeClock]) => {
        try {
          this.record(key, await this.sample(storeClock));
        } catch (err) {
          this.options.log('warn', `clock offset of store "${key}" not measured: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
  }

  private async sample(storeClock: StoreClock): Promise<ClockOffsetReading> {
    const { clock } = this.options;
    let best: ClockOffsetReading | undefined;
    for (let i = 0; i < SAMPLES; i++) {
      const sent = clock.nowMicros();
      const store = await storeClock.nowMicros();
      const received = clock.nowMicros();
      const reading = { offsetMicros: Math.round(store - (sent + received) / 2), rttMicros: received - sent, atMicros: received };
      if (!best || reading.rttMicros < best.rttMicros) best = reading;
    }
    return best!;
  }

  private record(key: string, reading: ClockOffsetReading): void {
    this.readings.set(key, reading);
    const beyond = this.beyond(reading);
    if (beyond && !this.outside.has(key)) {
      this.outside.add(key);
      this.options.log('warn', `${describe(key, reading, this.options.marginMicros)}: not ready; rollups of its namespaces paused on this instance`);
    } else if (!beyond && this.outside.delete(key)) {
      this.options.log('info', `clock offset of store "${key}" back within the skew margin (${fmt(reading.offsetMicros)}): ready; rollups resume`);
    }
  }
}

function describe(key: string, r: ClockOffsetReading, margin: number): string {
  return `clock offset of store "${key}" is ${fmt(r.offsetMicros)} (± ${(r.rttMicros / 2000).toFixed(1)} ms), beyond the skew margin of ${fmt(margin)}`;
}

function fmt(micros: number): string {
  return `${(micros / 1e6).toFixed(3)} s`;
}

/** Settings of the clock-offset measurement (ServerOptions.clockOffsets). */
export interface ClockOffsetSettings {
  /** Largest |offset| with which the instance is ready, µs; default 1 s (the default `skew_margin`). */
  marginMicros?: number;
  intervalMs?: number;
}

/**
 * The server's monitor, measured once before the server serves and then periodically;
 * undefined when off (`settings` false, or an injected clock whose time is not the stores').
 */
export async function startClockOffsets(
  settings: ClockOffsetSettings | false | undefined,
  injectedClock: boolean,
  deps: Pick<ClockOffsetMonitorOptions, 'catalog' | 'clock' | 'log'>,
): Promise<ClockOffsetMonitor | undefined> {
  const s = settings ?? (injectedClock ? false : {});
  if (s === false) return undefined;
  const monitor = new ClockOffsetMonitor({
    ...deps,
    marginMicros: s.marginMicros ?? COUNTER_DEFAULTS.skewMarginMicros,
    ...(s.intervalMs === undefined ? {} : { intervalMs: s.intervalMs }),
  });
  await monitor.measure();
  monitor.start();
  return monitor;
}

/** A readiness probe: the stores answer, and no clock offset is beyond the margin. */
export function readinessWithClocks(ping: () => Promise<void>, monitor: ClockOffsetMonitor | undefined): () => Promise<void> {
  return async () => {
    await ping();
    const problem = monitor?.readinessProblem();
    if (problem !== undefined) throw new DgwError('UNAVAILABLE', problem, { details: [{ reason: 'clock offset beyond skew margin' }] });
  };
}
