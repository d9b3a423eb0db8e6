/**
 * The gRPC conventions every operator tool expects (issue 11): the standard health
 * service (grpc.health.v1.Health, Check and Watch) and server reflection (v1 and
 * v1alpha, so grpcurl and grpcui list and describe the services without .proto files).
 * Health follows readiness: the overall status ("") and each dgw service are SERVING
 * while every store answers, NOT_SERVING when one does not, and NOT_SERVING from the
 * moment shutdown begins, so a load balancer drains this instance first.
 */
import type { Server } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';

/** Health and reflection attached to one server. */
export interface OpsServices {
  /** Stops the readiness polling and reports NOT_SERVING (shutdown). */
  stop(): void;
}

/**
 * Adds health and reflection to `server`. `definition` is the package definition of the
 * served services; `ready` rejects while a store is down (polled every `pollMs`).
 */
export function addOpsServices(
  server: Server,
  definition: protoLoader.PackageDefinition,
  services: readonly string[],
  ready: () => Promise<void>,
  pollMs = 5000,
): OpsServices {
  const health = new HealthImplementation({ '': 'SERVING', ...Object.fromEntries(services.map((s) => [s, 'SERVING' as const])) });
  health.addToServer(server);
  const healthDefinition = protoLoader.loadSync(healthProtoPath, { keepCase: true });
  new ReflectionService({ ...definition, ...healthDefinition }).addToServer(server);

  let stopped = false;
  const set = (status: ServingStatus) => {
    health.setStatus('', status);
    for (const s of services) health.setStatus(s, status);
  };
  const poll = () => {
    ready().then(
      () => !stopped && set('SERVING'),
      () => !stopped && set('NOT_SERVING'),
    );
  };
  const timer = setInterval(poll, pollMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      set('NOT_SERVING');
    },
  };
}
