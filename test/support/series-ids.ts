/**
 * The event ids of one series, newest first, as a first page of up to 100 shows them from
 * time 0 to `endMicros` (tests that check what a write stored).
 */
import type { TimeSeriesService } from '../../src/core/timeseries/api.js';
import type { TimeSeriesConfig } from '../../src/core/control/types.js';

export async function seriesEventIds(engine: TimeSeriesService, config: TimeSeriesConfig, timeSeriesId: string, endMicros: number): Promise<string[]> {
  const page = await engine.read(config, {
    timeSeriesId,
    startMicros: 0,
    endMicros,
    eventFilters: [],
    pageSize: 100,
    totalRecordLimit: 0,
    allowPartial: false,
  });
  return page.events.map((e) => e.eventId);
}
