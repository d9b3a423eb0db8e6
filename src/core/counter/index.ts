/** The Counter abstraction's public surface (DESIGN 4). */
export { createCounterService, type CounterEngine, type CounterServiceOptions } from './service.js';
export type { AddCountRequest, ClearCountRequest, CounterService, IdempotencyToken } from './types.js';
export { parseInt64, formatInt64, isInt64, INT64_MAX, INT64_MIN } from './int64.js';
export { createRealScheduler, ManualScheduler, type Scheduler, type TimerHandle, type TimerTask } from './scheduler.js';
export { RollupPipeline, type RollupPipelineOptions, type RollupResult, type BackPressureOptions, type QueueStats } from './rollup-pipeline.js';
export type { PipelineOptions } from './pipelines.js';
export { foldEvents, decodeCounterEvent, addEvent, clearEvent, type CounterMutation } from './counter-events.js';
