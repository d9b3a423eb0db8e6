/**
 * The gRPC server (grpc-js): every service of the operation table (TimeSeriesService,
 * CounterService, NamespaceService from proto/dgw/*.proto), run through the same
 * operation chain as HTTP (DESIGN 1, 2; server/operations/). Each call: the request
 * message becomes its proto3 JSON form, the guard admits it, the chain runs the
 * operation, the JSON answer becomes the response message; errors become gRPC statuses
 * (see errors.ts).
 */
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type handleUnaryCall,
  type Metadata,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { OperationChain } from '../operations/chain.js';
import { grpcServices } from '../operations/table.js';
import { toGrpcError } from './errors.js';
import { addOpsServices } from './ops-services.js';
import { serviceHandlers, type JsonHandler } from './operation-services.js';
import { jsonToMessage, loadDgwProtos, messageToJson, methodTypes, type DgwProtos } from './proto-json.js';
import { accessOf, type CallContext } from '../call-context.js';
import type { CallGuard } from '../call-guard.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import { bodyReservationBytes } from '../memory/body-reservations.js';
import { requestFacts, strictDeserializer } from './request-decoder.js';

/** What the gRPC server serves. */
export interface GrpcServerDeps {
  /** The operation chain every call runs through (shared with HTTP). */
  chain: OperationChain;
  /** Largest request message accepted (the HTTP body limit). */
  maxMessageBytes: number;
  /** Where the request counter and latency histogram are registered. */
  metrics: Registry;
  /** Called with errors that are bugs (mapped to INTERNAL). Default: console.error. */
  onInternalError?: (err: unknown, method: string) => void;
  /** Authentication, authorization and shedding, shared with HTTP; default: none. */
  guard?: CallGuard;
  /** Rejects while the server cannot serve (a store is down): drives grpc.health.v1. */
  ready?: () => Promise<void>;
  /** Server interceptors, outermost first (request logging: ops/grpc-request-log.ts). */
  interceptors?: ServerInterceptor[];
  /** Server memory budget each received message reserves from while its call runs; none: unbounded. */
  memoryBudget?: MemoryBudget;
}

/** Where to listen. */
export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port; {@link RunningGrpcServer.port} tells which. */
  port: number;
  /** Seconds a graceful close waits for calls in flight before cancelling them. Default 10. */
  shutdownGraceSeconds?: number;
  /** TLS certificate and key (PEM); plaintext when absent. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** A listening gRPC server. */
export interface RunningGrpcServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops accepting, lets calls in flight finish (up to the grace period); idempotent. */
  close(): Promise<void>;
}

/** Starts serving gRPC; resolves once the port is bound. */
export async function startGrpcServer(deps: GrpcServerDeps, options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const protos = loadDgwProtos();
  const requests = new Counter({
    name: 'dgw_grpc_requests_total',
    help: 'gRPC calls by method and status code name',
    labelNames: ['method', 'code'],
    registers: [deps.metrics],
  });
  const latency = new Histogram({
    name: 'dgw_grpc_request_seconds',
    help: 'gRPC call latency by method',
    labelNames: ['method'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [deps.metrics],
  });
  const onInternalError =
    deps.onInternalError ?? ((err: unknown, method: string) => console.error(`dgw: gRPC ${method} failed:`, err));

  const bind = (service: string, handlers: Record<string, JsonHandler>): [ServiceDefinition, UntypedServiceImplementation] => {
    const impl: UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(handlers)) {
      const types = methodTypes(protos.root, service, name);
      const method = `${service}/${name}`;
      const unary: handleUnaryCall<unknown, unknown> = (call, callback) => {
        const started = performance.now();
        const deadline = call.getDeadline();
        const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
        const finish = (code: string) => {
          requests.inc({ method, code });
          latency.observe({ method }, (performance.now() - started) / 1000);
        };
        const fail = (err: unknown) => {
          const mapped = toGrpcError(err);
          if (mapped.internal) onInternalError(err, method);
          callback(mapped.status);
          finish(mapped.code);
        };
        let release: () => void = noop;
        let admission: ReturnType<CallGuard['admit']> | undefined;
        let releaseMemory: () => void = noop;
        let json: ReturnType<typeof messageToJson>;
        try {
          const facts = requestFacts(call.request);
          if (facts?.refusal) throw facts.refusal;
          json = messageToJson(types.request, call.request);
          if (deps.guard) admission = deps.guard.admit(grpcCallContext(name, json, call.metadata));
          if (deps.memoryBudget && facts) {
            releaseMemory = deps.memoryBudget.reserve(bodyReservationBytes(facts.bytes, deps.maxMessageBytes), `a request message of ${facts.bytes} bytes`).release;
          }
        } catch (err) {
          release();
          fail(err);
          return;
        }
        // Wait for an admission slot when the priority queue says so; a cancelled call
        // leaves the queue.
        let admitted: Promise<void> | undefined;
        if (typeof admission === 'function') release = admission;
        else if (admission) {
          const pending = admission;
          call.once('cancelled', () => pending.cancel());
          admitted = pending.admitted.then((r) => {
            release = r;
          });
        }
        (admitted ? admitted.then(() => handler(json, { deadlineMs })) : handler(json, { deadlineMs }))
          .then((result) => {
            callback(null, jsonToMessage(types.response, result));
            finish('OK');
          })
          .catch(fail)
          .finally(() => {
            release();
            releaseMemory();
          });
      };
      impl[name] = unary;
    }
    return [strictService(protos, service), impl];
  };

  const server = new Server({ 'grpc.max_receive_message_length': deps.maxMessageBytes, interceptors: deps.interceptors ?? [] });
  for (const service of grpcServices()) server.addService(...bind(service, serviceHandlers(service, deps.chain)));
  const ops = addOpsServices(server, protos.definition, grpcServices(), deps.ready ?? (() => Promise.resolve()));

  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, credentials(options.tls), (err, bound) => (err ? reject(err) : resolve(bound)));
  });

  const graceMs = (options.shutdownGraceSeconds ?? 10) * 1000;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      ops.stop();
      const force = setTimeout(() => server.forceShutdown(), graceMs);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }));
  return { port, close };
}

function noop(): void {}

function credentials(tls: GrpcServerOptions['tls']): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], false);
}

/** The guard's view of a gRPC call: the method name, the request's namespace, the metadata. */
function grpcCallContext(operation: string, request: Record<string, unknown>, metadata: Metadata): CallContext {
  const namespace = request.namespace;
  return {
    operation,
    access: accessOf(operation),
    namespace: typeof namespace === 'string' ? namespace : undefined,
    header: (name) => {
      const v = metadata.get(name)[0];
      return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');
    },
  };
}

function serviceDefinition(protos: DgwProtos, service: string): ServiceDefinition {
  const def = protos.definition[service];
  if (!def || 'format' in def) throw new Error(`${service} is not a service in the protos`);
  return def as ServiceDefinition;
}

/** The service with every request deserializer made strict (request-decoder.ts). */
function strictService(protos: DgwProtos, service: string): ServiceDefinition {
  const def = serviceDefinition(protos, service);
  const strict: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(def)) {
    const { request } = methodTypes(protos.root, service, name);
    strict[name] = { ...method, requestDeserialize: strictDeserializer(request, (buf) => method.requestDeserialize(buf)) };
  }
  return strict as ServiceDefinition;
}
