/**
 * A gRPC client that sends request bytes as they are (no serializer), for tests of what
 * the server does with malformed or hostile messages: invalid UTF-8, wrong wire types,
 * truncations, random bytes. Answers the status code and details of every call.
 */
import { Client, Metadata, credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { loadDgwProtos, methodTypes } from '../../src/server/grpc/proto-json.js';

/** What one raw call ended with. */
export interface RawOutcome {
  code: number;
  details: string;
  /** The response bytes of a successful call. */
  response?: Buffer;
}

/** A raw client to `127.0.0.1:port`. */
export function grpcRawClient(port: number) {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const { root } = loadDgwProtos();
  const call = (service: string, method: string, bytes: Buffer, headers: Record<string, string | Buffer> = {}, deadlineMs = 30_000) =>
    new Promise<RawOutcome>((resolve) => {
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
      client.makeUnaryRequest(
        `/${service}/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, value?: Buffer) =>
          resolve(err ? { code: err.code, details: err.details } : { code: GrpcStatus.OK, details: '', ...(value ? { response: value } : {}) }),
      );
    });
  /** Encodes a request from its protobufjs object form (camelCase fields, Long-able strings). */
  const encode = (service: string, method: string, message: Record<string, unknown>): Buffer => {
    const { request } = methodTypes(root, service, method);
    return Buffer.from(request.encode(request.fromObject(message)).finish());
  };
  /** Decodes a response of `service/method`. */
  const decode = (service: string, method: string, bytes: Buffer): Record<string, unknown> => {
    const { response } = methodTypes(root, service, method);
    return response.toObject(response.decode(bytes), { longs: String, bytes: String, defaults: false }) as Record<string, unknown>;
  };
  return { call, encode, decode, root, close: () => client.close() };
}

/** Replaces every occurrence of the ASCII `marker` in `buf` with `bytes` of the same length. */
export function patchBytes(buf: Buffer, marker: string, bytes: number[]): Buffer {
  const m = Buffer.from(marker, 'latin1');
  if (m.length !== bytes.length) throw new Error('the patch must keep the length');
  const out = Buffer.from(buf);
  let at = out.indexOf(m);
  if (at < 0) throw new Error(`marker ${marker} not found`);
  while (at >= 0) {
    Buffer.from(bytes).copy(out, at);
    at = out.indexOf(m, at + m.length);
  }
  return out;
}

export { protobuf };
