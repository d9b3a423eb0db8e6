/**
 * A minimal typed gRPC client over proto/dgw/*.proto, as any grpc-js user would load them
 * (shared by the gRPC and the HTTP-vs-gRPC end-to-end tests).
 */
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_FILES } from '../../src/server/grpc/proto-json.js';

type Json = Record<string, unknown>;

/** A minimal typed client over the .proto definitions, as any grpc-js user would load them. */
export function grpcClient(port: number) {
  const definition = protoLoader.loadSync([...PROTO_FILES], {
    keepCase: false,
    longs: String,
    enums: String,
    bytes: String,
    defaults: false,
    arrays: true,
    includeDirs: [PROTO_DIR],
  });
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const call = (service: string, method: string, request: Json, deadline?: Date) =>
    new Promise<Json>((resolve, reject) => {
      const def = definition[service];
      if (!def || 'format' in def) throw new Error(`no service ${service}`);
      const m = def[method];
      if (!m) throw new Error(`no method ${method}`);
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        (buf: Buffer) => m.responseDeserialize(buf) as Json,
        request,
        new Metadata(),
        deadline ? { deadline } : {},
        (err, value) => (err ? reject(err) : resolve(value ?? {})),
      );
    });
  return { call, close: () => client.close() };
}

