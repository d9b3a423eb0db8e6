/**
 * Counter messages (proto/dgw/counter.proto) in their JSON form, shared by HTTP and gRPC.
 * Both the article's snake_case keys and the proto3 JSON camelCase names are accepted
 * (`counter_name`/`counterName`, `idempotency_token`/`idempotencyToken`,
 * `generation_time`/`generationTime`). int64 `delta` is a JSON number or a decimal string.
 */
import { parseInt64 } from '../../core/counter/int64.js';
import type { AddCountRequest, ClearCountRequest, IdempotencyToken } from '../../core/counter/types.js';
import { invalidArgument } from '../../kernel/errors.js';
import { parseTimestampMicros } from '../../kernel/time.js';
import { checkStorableText } from '../../core/text.js';
import { unknownKey } from './decode.js';

const ADD_KEYS: ReadonlySet<string> = new Set(['namespace', 'counter_name', 'counterName', 'delta', 'idempotency_token', 'idempotencyToken']);
const GET_KEYS: ReadonlySet<string> = new Set(['namespace', 'counter_name', 'counterName']);
const CLEAR_KEYS: ReadonlySet<string> = new Set(['namespace', 'counter_name', 'counterName', 'idempotency_token', 'idempotencyToken']);
const TOKEN_KEYS: ReadonlySet<string> = new Set(['token', 'generation_time', 'generationTime']);

/** Refuses a key the message does not have, naming it. */
function refuseUnknown(o: object, allowed: ReadonlySet<string>, prefix = ''): void {
  const key = unknownKey(o, allowed);
  if (key !== undefined) throw invalidArgument(`${prefix}${key}`, 'unknown field');
}

/** A decoded request of any counter method: the domain request plus its namespace. */
export type WithNamespace<T> = T & { namespace: string };

/** Decodes an AddCount / AddAndGetCount body. `delta` is required (int64). */
export function decodeAddCount(body: unknown): WithNamespace<AddCountRequest> {
  const o = asObject(body);
  refuseUnknown(o, ADD_KEYS);
  const rawDelta = field(o, 'delta');
  if (rawDelta === undefined || rawDelta === null) throw invalidArgument('delta', 'is required (an int64 as a JSON number or decimal string)');
  const token = decodeToken(o);
  return {
    namespace: decodeNamespaceField(o),
    counterName: decodeCounterName(o),
    delta: parseInt64(rawDelta, 'delta'),
    ...(token ? { token } : {}),
  };
}

/** Decodes a GetCount body. */
export function decodeGetCount(body: unknown): { namespace: string; counterName: string } {
  const o = asObject(body);
  refuseUnknown(o, GET_KEYS);
  return { namespace: decodeNamespaceField(o), counterName: decodeCounterName(o) };
}

/** Decodes a ClearCount body. */
export function decodeClearCount(body: unknown): WithNamespace<ClearCountRequest> {
  const o = asObject(body);
  refuseUnknown(o, CLEAR_KEYS);
  const token = decodeToken(o);
  return { namespace: decodeNamespaceField(o), counterName: decodeCounterName(o), ...(token ? { token } : {}) };
}

type JsonObject = Record<string, unknown>;

function asObject(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidArgument('body', 'must be a JSON object');
  }
  return body as JsonObject;
}

/** The value under the snake_case key, else under its camelCase twin. */
function field(o: JsonObject, snake: string): unknown {
  if (Object.hasOwn(o, snake)) return o[snake];
  const camel = CAMEL[snake] ?? snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return Object.hasOwn(o, camel) ? o[camel] : undefined;
}

/** The camelCase twins of the snake_case keys, spelled out (no regex per request). */
const CAMEL: Readonly<Record<string, string>> = {
  counter_name: 'counterName',
  idempotency_token: 'idempotencyToken',
  generation_time: 'generationTime',
};

function decodeNamespaceField(o: JsonObject): string {
  const ns = o['namespace'];
  if (typeof ns !== 'string' || ns.length === 0) throw invalidArgument('namespace', 'is required (a non-empty string)');
  return ns;
}

function decodeCounterName(o: JsonObject): string {
  const name = field(o, 'counter_name');
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument('counter_name', 'is required (a non-empty string)');
  checkStorableText('counter_name', name);
  return name;
}

function decodeToken(o: JsonObject): IdempotencyToken | undefined {
  const raw = field(o, 'idempotency_token');
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidArgument('idempotency_token', 'must be an object { token, generation_time }');
  }
  const t = raw as JsonObject;
  refuseUnknown(t, TOKEN_KEYS, 'idempotency_token.');
  const token = t['token'];
  if (typeof token !== 'string' || token.length === 0) {
    throw invalidArgument('idempotency_token.token', 'is required (a non-empty string)');
  }
  const time = field(t, 'generation_time');
  if (time === undefined || time === null) {
    throw invalidArgument('idempotency_token.generation_time', 'is required (an RFC 3339 timestamp)');
  }
  if (typeof time !== 'string') {
    throw invalidArgument('idempotency_token.generation_time', 'must be an RFC 3339 timestamp string');
  }
  const micros = parseTimestampMicros(time);
  if (micros === undefined) {
    throw invalidArgument('idempotency_token.generation_time', `invalid RFC 3339 timestamp "${time.slice(0, 64)}"`);
  }
  return { token, generationTimeMicros: micros };
}
