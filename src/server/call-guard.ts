/**
 * The one chain of cross-cutting checks every call passes, HTTP and gRPC alike (DESIGN 7,
 * 8; STYLE "one chain"): authenticate the bearer token, shed by priority when overloaded,
 * authorize the scope on the namespace, and count the call in flight. Two stages so HTTP
 * can refuse before reading a body: `begin` needs only the operation and headers;
 * `finish` runs once the namespace is known. gRPC calls `admit`, both at once.
 */
import type { CallContext } from './call-context.js';
import type { Principal, TokenStore } from './auth/token-store.js';
import type { PendingAdmission, Shedder } from './shedding/shedder.js';

/** What {@link CallGuard.begin} learned, handed to {@link CallGuard.finish}. */
export interface GuardTicket {
  principal?: Principal;
  /** Set once the shedding decision is made (the call was admitted). */
  priority?: number;
  /** Set when {@link CallGuard.admitEarly} took the call's admission slot at stage one. */
  admitted?: true;
}

/** The checks in force; each is optional (no tokens = no authentication). */
export interface CallGuardOptions {
  tokens?: TokenStore;
  shedder?: Shedder;
}

/** Runs authentication, shedding and authorization in a fixed order. */
export class CallGuard {
  constructor(private readonly options: CallGuardOptions) {}

  /** True when calls must carry a token. */
  get authenticating(): boolean {
    return this.options.tokens !== undefined;
  }

  /**
   * Stage one (operation and headers known): 401 for a missing or bad token, 429 when shed
   * and the priority does not depend on the namespace.
   */
  begin(call: CallContext): GuardTicket {
    const ticket: GuardTicket = {};
    const { tokens, shedder } = this.options;
    if (tokens && call.access !== 'open') ticket.principal = tokens.authenticate(call.header('authorization'));
    if (shedder) {
      const priority = shedder.priorityOf(call);
      if (priority !== undefined) {
        shedder.check(call, priority);
        ticket.priority = priority;
      }
    }
    return ticket;
  }

  /**
   * Stage one and a half (HTTP, before the body is read): when stage one already knows the
   * call's priority, takes its admission slot now, so a call that waits or is shed from
   * the queue costs no body read or decoding. Undefined when admission must wait for
   * stage two (the priority depends on the namespace) or does not apply.
   */
  admitEarly(call: CallContext, ticket: GuardTicket): (() => void) | PendingAdmission | undefined {
    const { shedder } = this.options;
    if (!shedder || ticket.priority === undefined || !admits(call)) return undefined;
    ticket.admitted = true;
    return shedder.enter(call, ticket.priority);
  }

  /**
   * Stage two (namespace known): 429 when shed and not decided yet, 403 without the scope,
   * then priority admission unless {@link admitEarly} did it. Returns the function that
   * marks the call finished (it frees the call's admission slot), or a pending admission
   * when the call must wait for one.
   */
  finish(call: CallContext, ticket: GuardTicket): (() => void) | PendingAdmission {
    const { tokens, shedder } = this.options;
    if (shedder && ticket.priority === undefined) {
      const priority = shedder.priorityOf(call) ?? 50;
      shedder.check(call, priority);
      ticket.priority = priority;
    }
    if (tokens && ticket.principal) tokens.authorize(ticket.principal, call.access, call.operation, call.namespace);
    return shedder && !ticket.admitted && admits(call) ? shedder.enter(call, ticket.priority ?? 50) : NOTHING_TO_RELEASE;
  }

  /** Both stages at once, for a call whose namespace is known up front. */
  admit(call: CallContext): (() => void) | PendingAdmission {
    return this.finish(call, this.begin(call));
  }
}

/**
 * What {@link CallGuard.finish} returns when the call holds no slot of its own to free
 * (admitted at stage one, or not subject to admission): a caller may skip binding it.
 */
export function NOTHING_TO_RELEASE(): void {}

/** Probes and /metrics take no admission slot (they are never shed either). */
function admits(call: CallContext): boolean {
  return call.access !== 'open' && call.access !== 'metrics';
}
