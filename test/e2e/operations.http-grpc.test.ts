/**
 * One operation table, two transports, one document (issue 10, item 1):
 * - the OpenAPI 3.1 document built from the table is valid (a real validator,
 *   @seriousme/openapi-schema-validator), is what GET /openapi.json serves, and is the
 *   checked-in openapi.json (regenerate with DGW_UPDATE_OPENAPI=1 on this test);
 * - every operation is exercised once over HTTP and once over gRPC with the same request:
 *   the HTTP status is the documented one, the HTTP body validates against the documented
 *   response schema, and the gRPC answer (in its proto3 JSON form) is the HTTP body;
 * - an error is the same code and message on both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceError } from '@grpc/grpc-js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { jsonToMessage, loadDgwProtos, messageToJson, methodTypes } from '../../src/server/grpc/proto-json.js';
import { openApiDocument } from '../../src/server/operations/openapi.js';
import { OPERATIONS } from '../../src/server/operations/table.js';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcClient } from '../support/grpc-client.js';

type Json = Record<string, unknown>;
const CHECKED_IN = fileURLToPath(new URL('../../openapi.json', import.meta.url));

describe('the operation table: OpenAPI and HTTP = gRPC', () => {
  const document = openApiDocument();
  const protos = loadDgwProtos();
  let t: TestServer;
  let rpc: ReturnType<typeof grpcClient>;
  const exercised = new Set<string>();

  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    rpc = grpcClient(t.server.grpcPort!);
  });
  after(async () => {
    rpc.close();
    await t.stop();
  });

  it('is a valid OpenAPI 3.1 document, served at /openapi.json and checked in', async () => {
    const result = await new Validator().validate(structuredClone(document));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    const served = await fetch(`${t.url}/openapi.json`);
    assert.equal(served.status, 200);
    assert.deepEqual(await served.json(), document);
    const text = `${JSON.stringify(document, null, 2)}\n`;
    if (process.env['DGW_UPDATE_OPENAPI'] === '1') writeFileSync(CHECKED_IN, text);
    assert.equal(readFileSync(CHECKED_IN, 'utf8'), text, 'openapi.json is stale: run this test with DGW_UPDATE_OPENAPI=1');
  });

  // Every response body the server gives is checked against the documented schema.
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema(document, 'openapi');
  const documented = (path: string, method: string, status: number) => {
    const op = (document.paths as Record<string, Record<string, Json>>)[path]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${path} is documented`);
    const responses = op['responses'] as Record<string, Json>;
    assert.ok(responses[String(status)], `${method} ${path}: status ${status} is documented`);
    const pointer = `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
    return ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
  };

  /** HTTP call, checked against the document. */
  async function http(method: string, url: string, docPath: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const r = await t.call(method, url, body);
    if (r.status < 400) {
      const validate = documented(docPath, method, r.status);
      assert.ok(validate(r.json), `${method} ${url}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(r.json)}`);
    }
    return r;
  }

  /** gRPC call with a proto3 JSON request; the answer in proto3 JSON form. */
  async function grpc(service: string, method: string, request: Json): Promise<Json> {
    const types = methodTypes(protos.root, service, method);
    exercised.add(method);
    const answer = await rpc.call(service, method, jsonToMessage(types.request, request));
    return messageToJson(types.response, answer);
  }

  const TS = 'dgw.v1.TimeSeriesService';
  const COUNTER = 'dgw.v1.CounterService';
  const NS = 'dgw.v1.NamespaceService';
  const ns = uniqueNamespace('ops');
  const ns2 = `${ns}_g`;
  const cns = uniqueNamespace('opsc');
  const cns2 = `${cns}_g`;
  const rename = (body: Json, from: string, to: string): Json => JSON.parse(JSON.stringify(body).replaceAll(from, to)) as Json;
  const doc = {
    persistence_configuration: [
      { id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d' } },
      { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { device: 'KEYWORD' } } } },
    ],
  };
  const event = (id: string, minute: number, device: string) => ({
    timeSeriesId: 'series',
    eventTime: `2024-10-03T20:${String(minute).padStart(2, '0')}:00Z`,
    eventId: id,
    eventItems: [{ eventItemKey: 'device', eventItemValue: b64(device) }],
  });
  const interval = { start: '2024-10-03T20:00:00Z', end: '2024-10-03T21:00:00Z' };

  it('answers every operation the same over HTTP and gRPC, as documented', async () => {
    // Namespaces: created on each transport under two names, the answers equal but for the name.
    const putHttp = await http('PUT', `/v1/timeseries/namespaces/${ns}`, '/v1/timeseries/namespaces/{namespace}', doc);
    assert.equal(putHttp.status, 201, JSON.stringify(putHttp.json));
    const putGrpc = await grpc(NS, 'PutNamespace', { kind: 'timeseries', namespace: ns2, document: doc });
    assert.deepEqual(rename(putGrpc, ns2, ns), putHttp.json);
    const cPut = await http('PUT', `/v1/counter/namespaces/${cns}`, '/v1/counter/namespaces/{namespace}', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
    assert.equal(cPut.status, 201);
    const cPutGrpc = await grpc(NS, 'PutNamespace', { kind: 'counter', namespace: cns2, document: { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] } });
    assert.deepEqual(rename(cPutGrpc, cns2, cns), cPut.json);

    const get = await http('GET', `/v1/timeseries/namespaces/${ns}`, '/v1/timeseries/namespaces/{namespace}');
    assert.deepEqual(await grpc(NS, 'GetNamespace', { kind: 'timeseries', namespace: ns }), get.json);
    const list = await http('GET', '/v1/counter/namespaces', '/v1/counter/namespaces');
    assert.deepEqual(await grpc(NS, 'ListNamespaces', { kind: 'counter' }), list.json);

    // TimeSeries: the same writes (idempotent), then the same reads.
    const events = [event('e1', 1, 'ios'), event('e2', 2, 'android'), event('e3', 3, 'ios')];
    const sync = await http('POST', '/v1/timeseries/WriteEventRecordsSync', '/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events });
    assert.equal(sync.status, 200);
    assert.deepEqual(await grpc(TS, 'WriteEventRecordsSync', { namespace: ns, events }), sync.json);
    const more = [event('e4', 4, 'web')];
    const buffered = await http('POST', '/v1/timeseries/WriteEventRecords', '/v1/timeseries/WriteEventRecords', { namespace: ns, events: more });
    assert.equal(buffered.status, 202);
    assert.deepEqual(await grpc(TS, 'WriteEventRecords', { namespace: ns, events: more }), buffered.json);
    await t.server.engine.flushBuffers();

    const read = { namespace: ns, timeSeriesId: 'series', timeInterval: interval, pageSize: 2 };
    const page = await http('POST', '/v1/timeseries/ReadEventRecords', '/v1/timeseries/ReadEventRecords', read);
    assert.equal((page.json.events as unknown[]).length, 2);
    assert.ok(page.json.nextPageToken, 'a next page');
    assert.deepEqual(await grpc(TS, 'ReadEventRecords', read), page.json);
    const next = { ...read, pageToken: page.json.nextPageToken };
    assert.deepEqual(await grpc(TS, 'ReadEventRecords', next), (await http('POST', '/v1/timeseries/ReadEventRecords', '/v1/timeseries/ReadEventRecords', next)).json);

    const search = { namespace: ns, timeInterval: interval, searchQuery: { equals: { eventItemKey: 'device', eventItemValue: b64('ios') } } };
    const found = await http('POST', '/v1/timeseries/SearchEventRecords', '/v1/timeseries/SearchEventRecords', search);
    assert.deepEqual((found.json.events as { eventId: string }[]).map((e) => e.eventId), ['e3', 'e1']);
    assert.deepEqual(await grpc(TS, 'SearchEventRecords', search), found.json);
    const distinct = { namespace: ns, timeInterval: interval, aggregationQuery: { distinct: { eventItemKey: 'device', pageSize: 10 } } };
    const agg = await http('POST', '/v1/timeseries/AggregateEventRecords', '/v1/timeseries/AggregateEventRecords', distinct);
    assert.deepEqual(await grpc(TS, 'AggregateEventRecords', distinct), agg.json);

    // Counters: the same calls on twin counters give the same answers.
    const token = (tok: string) => ({ token: tok, generationTime: new Date(t.clock.nowMicros() / 1000).toISOString() });
    const add = await http('POST', '/v1/counter/AddCount', '/v1/counter/AddCount', { namespace: cns, counterName: 'h', delta: '5', idempotencyToken: token('t1') });
    assert.deepEqual(await grpc(COUNTER, 'AddCount', { namespace: cns, counterName: 'g', delta: '5', idempotencyToken: token('t1') }), add.json);
    const addGet = await http('POST', '/v1/counter/AddAndGetCount', '/v1/counter/AddAndGetCount', { namespace: cns, counterName: 'h', delta: '2', idempotencyToken: token('t2') });
    assert.equal(addGet.json.count, '7');
    assert.deepEqual(await grpc(COUNTER, 'AddAndGetCount', { namespace: cns, counterName: 'g', delta: '2', idempotencyToken: token('t2') }), addGet.json);
    const count = await http('POST', '/v1/counter/GetCount', '/v1/counter/GetCount', { namespace: cns, counterName: 'h' });
    assert.deepEqual(await grpc(COUNTER, 'GetCount', { namespace: cns, counterName: 'h' }), count.json);
    const clear = await http('POST', '/v1/counter/ClearCount', '/v1/counter/ClearCount', { namespace: cns, counterName: 'h', idempotencyToken: token('t3') });
    assert.deepEqual(await grpc(COUNTER, 'ClearCount', { namespace: cns, counterName: 'g', idempotencyToken: token('t3') }), clear.json);

    // Audit, recount, comparison: read-only calls answer the same on both transports.
    const logReq = { namespace: cns, counterName: 'h', pageSize: 2 };
    const log = await http('POST', '/v1/counter/ReadCounterLog', '/v1/counter/ReadCounterLog', logReq);
    const entryText = (e: Json) => `${String(e.kind)}:${String(e.token)}:${String(e.delta)}`;
    assert.equal((log.json.entries as Json[]).length, 2);
    assert.ok(log.json.nextPageToken, 'a next page');
    assert.deepEqual(await grpc(COUNTER, 'ReadCounterLog', logReq), log.json);
    const logNext = { ...logReq, pageToken: log.json.nextPageToken };
    const log2 = await http('POST', '/v1/counter/ReadCounterLog', '/v1/counter/ReadCounterLog', logNext);
    assert.equal(log2.json.nextPageToken, undefined);
    // The three mutations of the same generation time, each once, over the two pages.
    const all = [...(log.json.entries as Json[]), ...(log2.json.entries as Json[])].map(entryText).sort();
    assert.deepEqual(all, ['ADD:t1:5', 'ADD:t2:2', 'CLEAR:t3:undefined']);
    assert.deepEqual(await grpc(COUNTER, 'ReadCounterLog', logNext), log2.json);
    const recount = await http('POST', '/v1/counter/RecountCount', '/v1/counter/RecountCount', { namespace: cns, counterName: 'h' });
    assert.equal(recount.json.repaired, false);
    assert.equal(recount.json.complete, true);
    assert.deepEqual(await grpc(COUNTER, 'RecountCount', { namespace: cns, counterName: 'h' }), recount.json);
    for (let i = 0; i < 3; i++) {
      await t.call('POST', '/v1/counter/AddCount', { namespace: cns, counterName: 'arm_a', delta: '2', idempotencyToken: token(`a${i}`) });
      await t.call('POST', '/v1/counter/AddCount', { namespace: cns, counterName: 'arm_b', delta: '1', idempotencyToken: token(`b${i}`) });
    }
    const compareReq = { namespace: cns, counterNames: ['arm_a', 'arm_b'], assignmentProbabilities: [0.5, 0.5] };
    const compared = await http('POST', '/v1/counter/CompareCounts', '/v1/counter/CompareCounts', compareReq);
    assert.deepEqual(compared.json.counts, ['6', '3']);
    assert.deepEqual(await grpc(COUNTER, 'CompareCounts', compareReq), compared.json);

    // Deletes, each transport deleting the other's namespace.
    const del = await http('DELETE', `/v1/timeseries/namespaces/${ns2}`, '/v1/timeseries/namespaces/{namespace}');
    assert.deepEqual(await grpc(NS, 'DeleteNamespace', { kind: 'counter', namespace: cns2 }), del.json);

    // An error: the same code and message.
    const missing = await t.call('GET', `/v1/timeseries/namespaces/${ns2}`);
    assert.equal(missing.status, 404);
    const err = await grpc(NS, 'GetNamespace', { kind: 'timeseries', namespace: ns2 }).then(
      () => assert.fail('expected NOT_FOUND'),
      (e: unknown) => e as ServiceError,
    );
    const httpError = missing.json.error as Json;
    assert.equal(httpError.code, 'NOT_FOUND');
    assert.equal(err.details, httpError.message);

    assert.deepEqual([...exercised].sort(), OPERATIONS.map((op) => op.name).sort(), 'every operation of the table was exercised');
  });
});
