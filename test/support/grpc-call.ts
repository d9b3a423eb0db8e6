/**
 * A minimal grpc-js client over proto/dgw/*.proto for tests that need call metadata
 * (bearer tokens, priorities) or TLS credentials.
 */
import { Client, Metadata, credentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_FILES } from '../../src/server/grpc/proto-json.js';

type Json = Record<string, unknown>;

/** A client to `127.0.0.1:port`; `ca` switches to TLS trusting that certificate. */
export function grpcTestClient(port: number, options: { ca?: Buffer } = {}) {
  const definition = protoLoader.loadSync([...PROTO_FILES], { keepCase: false, longs: String, enums: String, defaults: false, arrays: true, includeDirs: [PROTO_DIR] });
  const creds: ChannelCredentials = options.ca ? credentials.createSsl(options.ca) : credentials.createInsecure();
  const client = new Client(`127.0.0.1:${port}`, creds, options.ca ? { 'grpc.ssl_target_name_override': 'localhost' } : {});
  /** Calls `service/method`; `headers` become metadata. */
  const call = (service: string, method: string, request: Json, headers: Record<string, string> = {}) =>
    new Promise<Json>((resolve, reject) => {
      const def = definition[service];
      if (!def || 'format' in def) throw new Error(`no service ${service}`);
      const m = def[method];
      if (!m) throw new Error(`no method ${method}`);
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
      client.makeUnaryRequest(m.path, m.requestSerialize, (buf: Buffer) => m.responseDeserialize(buf) as Json, request, metadata, {}, (err, value) =>
        err ? reject(err) : resolve(value ?? {}),
      );
    });
  /** The status of a call that must fail. */
  const failure = async (service: string, method: string, request: Json, headers: Record<string, string> = {}): Promise<ServiceError> => {
    try {
      await call(service, method, request, headers);
    } catch (err) {
      return err as ServiceError;
    }
    throw new Error(`${method} was expected to fail`);
  };
  return { call, failure, close: () => client.close() };
}
