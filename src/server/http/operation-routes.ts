/**
 * The HTTP routes of the operation table: one Fastify route per operation route, whose
 * handler builds the operation's input (the body, or path parameters plus the body as the
 * namespace `document`), runs it through the operation chain, and answers with the
 * operation's success status. Errors go to app.ts's error handler (one status table).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperationChain } from '../operations/chain.js';
import type { CallInfo, HttpRoute, JsonObject, Operation } from '../operations/operation.js';

/** HTTP calls carry no deadline of their own; the chain applies the request deadline. */
export const NO_DEADLINE: CallInfo = { deadlineMs: Number.POSITIVE_INFINITY };

/** {@link NO_DEADLINE} on the fast path, which sends an answer's JSON text as it is. */
export const NO_DEADLINE_JSON_TEXT: CallInfo = { deadlineMs: Number.POSITIVE_INFINITY, jsonText: true };

function inputOf(op: Operation, route: HttpRoute, req: FastifyRequest): JsonObject {
  if (op.http.input === 'body') return req.body as JsonObject;
  const ns = (req.params as { ns?: string } | undefined)?.ns;
  const input: JsonObject = { ...route.fixed };
  if (ns !== undefined) input['namespace'] = ns;
  if (op.http.input === 'document') input['document'] = req.body ?? {};
  return input;
}

/** Registers every route of every operation. */
export function registerOperationRoutes(app: FastifyInstance, operations: readonly Operation[], chain: OperationChain): void {
  for (const op of operations) {
    for (const route of op.http.routes) {
      app.route({
        method: op.http.method,
        url: route.url,
        handler: async (req: FastifyRequest, reply: FastifyReply) => {
          const result = await chain.run({ operation: op, input: inputOf(op, route, req), info: NO_DEADLINE, transport: 'http' });
          const status = result.created ? 201 : op.http.status;
          if (status !== 200) void reply.code(status);
          return result.body;
        },
      });
    }
  }
}
