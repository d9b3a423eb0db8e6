/**
 * One log line per gRPC call (issue 11), as a grpc-js server interceptor so it slots
 * into the server's interceptor chain: request id (from the `x-request-id` metadata or
 * new, returned in the response metadata), method, namespace (the request message's
 * `namespace` field), status code name and latency. Internal errors are logged with
 * their stack where they are mapped (server.ts `onInternalError`).
 */
import { Metadata, ServerInterceptingCall, status as GrpcStatus, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';
import type { RequestRates } from './request-rates.js';

const CODE_NAMES = new Map<number, string>(
  Object.entries(GrpcStatus)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([name, code]) => [code, name]),
);

/** Builds the logging interceptor writing to `log` (and counting calls in `rates`). */
export function grpcRequestLog(log: Logger, rates?: RequestRates): ServerInterceptor {
  return (descriptor, call) => {
    const started = performance.now();
    let reqId = '';
    let namespace: string | undefined;
    let sentMetadata = false;
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            reqId = requestIdFrom(metadata.get(REQUEST_ID_HEADER)[0]);
            nextMetadata(metadata);
          },
          onReceiveMessage(message: unknown, nextMessage) {
            const ns = (message as { namespace?: unknown } | null)?.namespace;
            if (typeof ns === 'string') namespace = ns.slice(0, 256);
            nextMessage(message);
          },
        });
      },
      sendMetadata(metadata, next) {
        sentMetadata = true;
        metadata.set(REQUEST_ID_HEADER, reqId);
        next(metadata);
      },
      sendStatus(status, next) {
        if (!sentMetadata) {
          const trailers = status.metadata ?? new Metadata();
          trailers.set(REQUEST_ID_HEADER, reqId);
          status = { ...status, metadata: trailers };
        }
        const code = status.code ?? GrpcStatus.OK;
        const latencyMs = performance.now() - started;
        const failed = code === GrpcStatus.INTERNAL || code === GrpcStatus.UNKNOWN || code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
        rates?.record(`gRPC ${descriptor.path}`, latencyMs, failed);
        const line: Record<string, unknown> = {
          reqId,
          method: 'POST',
          route: descriptor.path,
          status: CODE_NAMES.get(code) ?? String(code),
          latencyMs: Math.round(latencyMs * 1000) / 1000,
        };
        if (namespace !== undefined) line.namespace = namespace;
        if (failed) log.error(line, 'grpc call failed');
        else log.info(line, 'grpc call');
        next(status);
      },
    });
  };
}
