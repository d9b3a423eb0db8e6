/**
 * gRPC conventions (issue 11): grpc.health.v1 answers SERVING for the server and each
 * dgw service (NOT_SERVING for the server once shutdown begins; NOT_FOUND for an
 * unknown service), and server reflection lists and describes the services, as grpcurl
 * would ask.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, makeClientConstructor, status, type Client, type ServiceError } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { startTestServer, type TestServer } from '../support/http-server.js';

type Unary = (req: object, cb: (err: ServiceError | null, res?: { status: string }) => void) => void;

describe('gRPC health checking and reflection', () => {
  let t: TestServer;
  let address: string;
  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    address = `127.0.0.1:${t.server.grpcPort}`;
  });
  after(async () => {
    await t.stop();
  });

  const check = (client: Client, serviceName: string) =>
    new Promise<{ err: ServiceError | null; status?: string }>((resolve) =>
      (client as unknown as { Check: Unary }).Check({ service: serviceName }, (err, res) => resolve({ err, ...(res ? { status: res.status } : {}) })),
    );

  it('grpc.health.v1.Health/Check: SERVING for "" and each service; NOT_FOUND otherwise', async () => {
    const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
    const client = new Health(address, credentials.createInsecure());
    for (const name of ['', 'dgw.v1.TimeSeriesService', 'dgw.v1.CounterService']) {
      const r = await check(client, name);
      assert.equal(r.err, null, name);
      assert.equal(r.status, 'SERVING', name);
    }
    const unknown = await check(client, 'no.such.Service');
    assert.equal(unknown.err?.code, status.NOT_FOUND);
    client.close();
  });

  it('server reflection lists dgw and health services and returns their descriptors', async () => {
    const require = createRequire(import.meta.url);
    const protoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
    const def = protoLoader.loadSync(join(protoDir, 'grpc/reflection/v1/reflection.proto'), { keepCase: true, includeDirs: [protoDir] });
    const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: new (a: string, c: unknown) => Client } } } };
    const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
    const ask = (request: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = (client as unknown as { ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(o: object): void } }).ServerReflectionInfo();
        stream.on('data', (d: Record<string, unknown>) => {
          resolve(d);
          stream.end();
        });
        stream.on('error', reject);
        stream.write(request);
      });
    const listed = (await ask({ list_services: '' })) as { list_services_response?: { service: { name: string }[] } };
    const names = listed.list_services_response?.service.map((s) => s.name) ?? [];
    for (const name of ['dgw.v1.TimeSeriesService', 'dgw.v1.CounterService', 'grpc.health.v1.Health']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    const described = (await ask({ file_containing_symbol: 'dgw.v1.CounterService' })) as { file_descriptor_response?: { file_descriptor_proto: Buffer[] } };
    assert.ok((described.file_descriptor_response?.file_descriptor_proto.length ?? 0) >= 1);
    client.close();
  });
});
