/**
 * The operation table: every operation of the API, described once (operation.ts). HTTP
 * routes, gRPC services and the OpenAPI document are built from this list, so an
 * operation added here is served on both transports and documented.
 */
import { COUNTER_OPERATIONS } from './counter-operations.js';
import { NAMESPACE_OPERATIONS } from './namespace-operations.js';
import type { Operation } from './operation.js';
import { TIMESERIES_OPERATIONS } from './timeseries-operations.js';

/** Every operation: TimeSeries, Counter, then namespace management. */
export const OPERATIONS: readonly Operation[] = [...TIMESERIES_OPERATIONS, ...COUNTER_OPERATIONS, ...NAMESPACE_OPERATIONS];

/** The operations of one gRPC service, by method name. */
export function operationsOf(grpcService: string): Operation[] {
  return OPERATIONS.filter((op) => op.grpcService === grpcService);
}

/** Every gRPC service the table serves. */
export function grpcServices(): string[] {
  return [...new Set(OPERATIONS.map((op) => op.grpcService))];
}
