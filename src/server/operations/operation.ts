/**
 * One operation, one description (issue 10, item 1; STYLE "one operation, one
 * description"): an {@link Operation} names the call, its gRPC method and HTTP route, its
 * plane (data calls answer within the request deadline, control calls have none), and
 * `run`: decode the proto3 JSON input, resolve the namespace, call core, encode the
 * proto3 JSON answer. HTTP routes (http/operation-routes.ts), gRPC services
 * (grpc/operation-services.ts) and the OpenAPI document (openapi.ts) are all built from
 * the table (table.ts); nothing transport-specific lives in an operation.
 *
 * The messages' source of truth is proto/dgw/*.proto: the input and answer of `run` are
 * the proto3 JSON mapping of the operation's request and response messages, and the
 * OpenAPI schemas are derived from those messages by reflection.
 */
import type { Clock } from '../../kernel/clock.js';
import type { NamespaceManager } from '../../core/control/namespace-manager.js';
import type { CounterService } from '../../core/counter/types.js';
import type { TimeSeriesEngine } from '../../core/timeseries/service.js';
import type { NamespaceRegistry } from '../../storage/contracts.js';

/** A proto3 JSON object. */
export type JsonObject = Record<string, unknown>;

/** What operations call. */
export interface OperationDeps {
  clock: Clock;
  engine: TimeSeriesEngine;
  counters: CounterService;
  namespaces: NamespaceManager;
  registry: NamespaceRegistry;
}

/** What an operation knows about its call besides the input. */
export interface CallInfo {
  /** The transport's deadline of the call in epoch milliseconds (gRPC); Infinity when none. */
  deadlineMs: number;
  /**
   * The transport sends an answer's {@link OperationResult.json} text as it is (the HTTP
   * fast path, issue 9): an operation may then build its answer as JSON text directly.
   */
  jsonText?: boolean;
}

/** An operation's answer: the proto3 JSON body, and whether it created something (HTTP 201). */
export interface OperationResult {
  body: JsonObject;
  /**
   * `JSON.stringify(body)`, when the operation wrote the answer as text itself (only for a
   * call with {@link CallInfo.jsonText}); `body` is then parsed from it when read.
   */
  json?: string;
  created?: boolean;
}

/** An HTTP route of an operation. `fixed` input fields come from the route (e.g. `kind`). */
export interface HttpRoute {
  /** Fastify URL (`:ns` for the namespace path parameter). */
  url: string;
  fixed?: JsonObject;
}

/** How an operation is reached over HTTP. */
export interface HttpBinding {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  routes: readonly HttpRoute[];
  /** Status of a success (201 instead when the result says `created`). */
  status: number;
  /**
   * Where the input comes from: `body` (the request body is the input, POST data calls),
   * or `document` (the body is the input's `document` field, path parameters fill the rest).
   */
  input: 'body' | 'document' | 'none';
}

/** One operation of the API. */
export interface Operation {
  /** The operation name: the gRPC method name, the HTTP path's last segment, the guard's name. */
  readonly name: string;
  /** Full gRPC service name, e.g. `dgw.v1.CounterService`. */
  readonly grpcService: string;
  readonly http: HttpBinding;
  /** `data`: answers within the request deadline; `control`: no deadline (a delete may take long). */
  readonly plane: 'data' | 'control';
  /** One line for the OpenAPI summary. */
  readonly summary: string;
  /** Decode, resolve the namespace, call core, encode. Throws DgwErrors. */
  run(deps: OperationDeps, input: JsonObject, call: CallInfo): Promise<OperationResult>;
  /**
   * Optional: the answer at once, when the process already holds all it needs (no store
   * call, no promise), or `undefined` to take the `run` way. The same decoding, checks,
   * metrics and answer as `run`, and the same DgwErrors, thrown (issue 9: GetCount of a
   * cached count on the HTTP fast path; `OperationChain.runNow`, chain.ts).
   */
  runNow?(deps: OperationDeps, input: JsonObject, call: CallInfo): OperationResult | undefined;
}
