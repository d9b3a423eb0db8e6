/**
 * Plugs the call guard (src/server/call-guard.ts) and the cross-site checks into Fastify,
 * per route: `onRequest` refuses foreign origins and non-JSON POSTs, authenticates and
 * sheds before any body is read; `preHandler` (body parsed, namespace known) authorizes
 * and counts the call in flight until its response is closed.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest, RouteOptions, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { accessOf, type Access, type CallContext } from '../call-context.js';
import type { CallGuard, GuardTicket } from '../call-guard.js';
import type { PendingAdmission } from '../shedding/shedder.js';
import { checkCrossSite } from '../auth/cross-site.js';
import { toHttpError } from './errors.js';

/** What the hooks enforce. */
export interface GuardHookOptions {
  guard: CallGuard;
  /** Browser origins allowed to call (exact `scheme://host[:port]`, or `*`). */
  allowedOrigins: readonly string[];
}

/** The operation name of a route (see OPERATION_ACCESS), or undefined for routes left unguarded. */
export function operationOfRoute(method: string, url: string): string | undefined {
  if (url === '/healthz') return 'Healthz';
  if (url === '/readyz') return 'Readyz';
  if (url === '/metrics') return 'Metrics';
  if (url === '/v1/status') return 'Status';
  const ns = /^\/v1\/(?:timeseries|counter)\/namespaces(\/:ns)?$/.exec(url);
  if (ns) {
    if (!ns[1]) return 'ListNamespaces';
    return method === 'PUT' ? 'PutNamespace' : method === 'DELETE' ? 'DeleteNamespace' : 'GetNamespace';
  }
  const data = /^\/v1\/(?:timeseries|counter)\/([A-Za-z]+)$/.exec(url);
  return data ? data[1] : undefined;
}

/**
 * Whether a request comes from a page dgw served itself (the status page, /ui/) reached by
 * an IP address or `localhost`: its Origin is dgw's own. Only literal hosts count, so
 * DNS rebinding (a foreign name resolving to dgw) still needs `allowedOrigins`; so does
 * the status page served under a DNS name (docs/operations.md).
 */
function isOwnLiteralOrigin(req: FastifyRequest): boolean {
  const { origin, host } = req.headers;
  if (origin === undefined || host === undefined || origin !== `${req.protocol}://${host}`) return false;
  const hostname = host.replace(/:\d+$/, '');
  return hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || /^\[[0-9a-fA-F:.]+\]$/.test(hostname);
}

/** Installs the hooks on every route registered after this call. */
export function installGuardHooks(app: FastifyInstance, options: GuardHookOptions): void {
  const allowed = new Set(options.allowedOrigins);
  const tickets = new WeakMap<FastifyRequest, GuardTicket>();
  const { guard } = options;

  app.addHook('onRoute', (route: RouteOptions) => {
    const method = Array.isArray(route.method) ? route.method[0]! : route.method;
    // HEAD twins of GET routes share the GET's operation.
    const operation = operationOfRoute(method === 'HEAD' ? 'GET' : method, route.url);
    if (operation === undefined) return;
    const access = accessOf(operation);
    const context = (req: FastifyRequest, namespace: string | undefined): CallContext => callContext(operation, access, req.headers, namespace);

    const onRequest: onRequestHookHandler = (req, reply, done) => {
      const origin = isOwnLiteralOrigin(req) ? undefined : req.headers.origin;
      const refusal = checkCrossSite(req.method, { origin, contentType: req.headers['content-type'] }, allowed);
      if (refusal) {
        void reply.code(refusal.status).send(toHttpError(refusal.error, 0).body);
        return;
      }
      let admission: ReturnType<CallGuard['admitEarly']>;
      try {
        const call = context(req, namespaceParam(req));
        const ticket = guard.begin(call);
        tickets.set(req, ticket);
        admission = guard.admitEarly(call, ticket);
      } catch (err) {
        done(err as Error);
        return;
      }
      if (admission === undefined) done();
      else awaitAdmission(reply.raw, admission, done);
    };
    const preHandler: preHandlerHookHandler = (req, reply, done) => {
      let admission: ReturnType<CallGuard['finish']>;
      try {
        admission = guard.finish(context(req, namespaceParam(req) ?? namespaceInBody(req.body)), tickets.get(req) ?? {});
      } catch (err) {
        done(err as Error);
        return;
      }
      awaitAdmission(reply.raw, admission, done);
    };
    route.onRequest = prepend(onRequest, route.onRequest);
    route.preHandler = prepend(preHandler, route.preHandler);
  });
}

function prepend<T>(hook: T, own: T | T[] | undefined): T[] {
  return own === undefined ? [hook] : Array.isArray(own) ? [hook, ...own] : [hook, own];
}

function namespaceParam(req: FastifyRequest): string | undefined {
  const params = req.params as Record<string, unknown> | undefined;
  const ns = params?.ns;
  return typeof ns === 'string' ? ns : undefined;
}

/** What the guard sees of an HTTP call: its operation and access, the namespace once known, its headers. */
export function callContext(operation: string, access: Access, headers: IncomingHttpHeaders, namespace: string | undefined): CallContext {
  return {
    operation,
    access,
    namespace,
    header: (name) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    },
  };
}

/** The `namespace` field of a parsed body, if it is a string. */
export function namespaceInBody(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const ns = (body as Record<string, unknown>).namespace;
  return typeof ns === 'string' ? ns : undefined;
}

/**
 * Continues the request once admitted (at once with a free slot), binding the slot's
 * release to the response's end; a call shed from the queue fails with its 429. A client
 * that goes away while waiting leaves the queue.
 */
export function awaitAdmission(res: ServerResponse, admission: (() => void) | PendingAdmission, done: (err?: Error) => void): void {
  if (typeof admission === 'function') {
    releaseOnClose(res, admission);
    done();
    return;
  }
  const stay = onceClosed(res, () => admission.cancel());
  admission.admitted.then(
    (release) => {
      stay();
      releaseOnClose(res, release);
      done();
    },
    (err: unknown) => {
      stay();
      done(err as Error);
    },
  );
}

/** Calls `release` once the response is closed (done, or the connection dropped). */
export function releaseOnClose(res: ServerResponse, release: () => void): void {
  onceClosed(res, release);
}

/**
 * Calls `fn` once the response is closed: done, or its connection dropped, whichever
 * first (now if it already is). Returns what cancels the call. A response queued behind
 * an earlier one on its connection (HTTP pipelining) has no socket yet, and Node emits no
 * 'close' for it when the connection drops before its turn: the socket's 'close' stands
 * in, else whatever it holds (body reservation, admission slot) would never be released.
 */
function onceClosed(res: ServerResponse, fn: () => void): () => void {
  if (res.writableFinished || res.destroyed) {
    fn();
    return () => {};
  }
  // 'close' fires once the response is done or its connection dropped.
  if (res.socket !== null) {
    res.once('close', fn);
    return () => res.off('close', fn);
  }
  const socket = res.req.socket;
  if (socket.destroyed) {
    fn();
    return () => {};
  }
  const once = () => {
    cancel();
    fn();
  };
  const cancel = () => {
    res.off('close', once);
    socket.off('close', once);
  };
  res.once('close', once);
  socket.once('close', once);
  return cancel;
}
