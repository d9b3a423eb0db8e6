/**
 * The gRPC handlers of the operation table: per service, one unary handler per operation,
 * taking the request's proto3 JSON form and the call deadline, running the operation
 * through the chain, and answering with the body's proto3 JSON (server.ts does the
 * message conversion, the guard, the metrics and the status mapping).
 */
import type { OperationChain } from '../operations/chain.js';
import type { JsonObject } from '../operations/operation.js';
import { operationsOf } from '../operations/table.js';

/** What a handler knows about its call besides the request. */
export interface GrpcCallContext {
  /** The call's deadline in epoch milliseconds (wall clock); Infinity when there is none. */
  deadlineMs: number;
}

/** A unary method on proto3 JSON: request in, response out (DgwErrors thrown). */
export type JsonHandler = (request: JsonObject, context: GrpcCallContext) => Promise<unknown>;

/** The methods of one gRPC service, by method name. */
export function serviceHandlers(service: string, chain: OperationChain): Record<string, JsonHandler> {
  const handlers: Record<string, JsonHandler> = {};
  for (const op of operationsOf(service)) {
    handlers[op.name] = async (request, context) =>
      (await chain.run({ operation: op, input: request, info: { deadlineMs: context.deadlineMs }, transport: 'grpc' })).body;
  }
  return handlers;
}
