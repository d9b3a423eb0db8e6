/**
 * gRPC fuzz test (issue 14): 10,000+ hostile calls over every method of
 * TimeSeriesService, CounterService and NamespaceService, sent as raw bytes (no client
 * serializer) from a seeded PRNG (reproducible: DGW_FUZZ_SEED), against a real
 * in-process server holding known state. Each call is one of: random bytes, a valid
 * message truncated inside a field, a known field with the wrong wire type, invalid UTF-8
 * in a string field (at any depth), huge fields (long strings, too many events, deep
 * nesting, a message over the size limit), values the server must refuse (unknown
 * namespaces, out-of-range timestamps, bad page sizes and tokens), or bad metadata
 * (priorities, binary and long values). The counter audit rpcs are included:
 * ReadCounterLog (bad page sizes, forged tokens), CompareCounts (bad probabilities, too
 * many arms, bad alpha or concentration), and RecountCount always with `repair` set on the
 * counter whose rollup is wrong on purpose (fuzz-state.ts), so it counts as mutating: any
 * OK is a failure, and the snapshot shows a repair that got through.
 * Asserted: no INTERNAL, UNKNOWN, UNAVAILABLE or
 * DATA_LOSS (no crash, no deserializer failure leaking out); no mutating call succeeds
 * (every one is built to be refused); afterwards the state reads back exactly as before.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { fuzzSnapshot, FUZZ_DAY, FUZZ_WRONG_COUNTER, seedFuzzState, seededDraws } from '../support/fuzz-state.js';
import { b64, startTestServer, type TestServer } from '../support/http-server.js';
import { grpcRawClient, patchBytes, protobuf } from '../support/grpc-raw.js';

const SEED = Number(process.env.DGW_FUZZ_SEED ?? 20261202);
const CALLS = Number(process.env.DGW_FUZZ_CALLS ?? 10_000);
const CONCURRENCY = 16;
const TS = 'gfuzz_ts';
const CTR = 'gfuzz_ctr';
const DAY = FUZZ_DAY;
const NS = { ts: TS, ctr: CTR };
const TSS = 'dgw.v1.TimeSeriesService';
const CS = 'dgw.v1.CounterService';
const NSS = 'dgw.v1.NamespaceService';

type Json = Record<string, unknown>;

const METHODS: readonly (readonly [string, string, boolean])[] = [
  [TSS, 'WriteEventRecordsSync', true],
  [TSS, 'WriteEventRecords', true],
  [TSS, 'ReadEventRecords', false],
  [TSS, 'SearchEventRecords', false],
  [TSS, 'AggregateEventRecords', false],
  [CS, 'AddCount', true],
  [CS, 'AddAndGetCount', true],
  [CS, 'GetCount', false],
  [CS, 'ClearCount', true],
  [CS, 'ReadCounterLog', false],
  // Every RecountCount sent asks for a repair of c3 and must be refused.
  [CS, 'RecountCount', true],
  [CS, 'CompareCounts', false],
  [NSS, 'PutNamespace', true],
  [NSS, 'GetNamespace', false],
  [NSS, 'ListNamespaces', false],
  [NSS, 'DeleteNamespace', true],
];

/** Codes that mean the server failed rather than refused. */
const FAILURES = new Set([status.INTERNAL, status.UNKNOWN, status.UNAVAILABLE, status.DATA_LOSS, status.UNIMPLEMENTED]);

const ts = (iso: string, nanos = 0) => ({ seconds: String(Math.floor(Date.parse(iso) / 1000)), nanos });

describe('fuzz: hostile gRPC calls over every method', () => {
  let t: TestServer;
  let raw: ReturnType<typeof grpcRawClient>;

  const snapshot = () => fuzzSnapshot(t, NS);

  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    raw = grpcRawClient(t.server.grpcPort!);
    await seedFuzzState(t, NS);
  });
  after(async () => {
    raw?.close();
    await t?.stop();
  });

  it(`${CALLS} hostile gRPC calls: no INTERNAL/UNKNOWN, no crash, no state change`, { timeout: 600_000 }, async (tc) => {
    const before = await snapshot();
    const { random, pick, int } = seededDraws(SEED);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

    const event = (id = `gz${int(1e9)}`): Json => ({
      timeSeriesId: 's0',
      eventTime: ts('2024-10-03T11:00:00Z'),
      eventId: id,
      eventItems: [{ eventItemKey: 'k', eventItemValue: Buffer.from('v') }],
    });
    const interval = { start: ts(DAY.start), end: ts(DAY.end) };
    /** A valid request of each method; `mark` (two ASCII letters) sits in one of its string fields. */
    const valid = (method: string, mark: string): { message: Json; markable: boolean } => {
      const where = int(3);
      switch (method) {
        case 'WriteEventRecordsSync':
        case 'WriteEventRecords': {
          const e = event();
          if (where === 0) e.eventId = `g${mark}`;
          else if (where === 1) (e.eventItems as Json[])[0]!.eventItemKey = `k${mark}`;
          else e.timeSeriesId = `s${mark}`;
          return { message: { namespace: TS, events: [event(), e] }, markable: true };
        }
        case 'ReadEventRecords':
          return { message: { namespace: TS, timeSeriesId: where === 0 ? `s${mark}` : 's0', timeInterval: interval, eventFilters: where === 1 ? [{ matchEventItemKey: `k${mark}`, matchEventItemValue: Buffer.from('v1') }] : [] }, markable: where < 2 };
        case 'SearchEventRecords':
          return { message: { namespace: TS, timeInterval: interval, searchQuery: { equals: { eventItemKey: `k${mark}`, eventItemValue: Buffer.from('v1') } } }, markable: true };
        case 'AggregateEventRecords':
          return { message: { namespace: TS, timeInterval: interval, aggregationQuery: where === 0 ? { distinct: { eventItemKey: `k${mark}` } } : { count: {} } }, markable: where === 0 };
        case 'AddCount':
        case 'AddAndGetCount':
          return {
            message: { namespace: CTR, counterName: where === 0 ? `c${mark}` : 'c0', delta: String(1 + int(5)), idempotencyToken: { token: where === 1 ? `t${mark}` : `t${int(1e9)}`, generationTime: ts('2024-10-03T21:24:59Z') } },
            markable: where < 2,
          };
        case 'GetCount':
        case 'ClearCount':
          return { message: { namespace: CTR, counterName: `c${mark}` }, markable: true };
        case 'ReadCounterLog':
          return { message: { namespace: CTR, counterName: where === 0 ? `c${mark}` : 'c0', pageSize: 1 + int(100), ...(where === 1 ? { pageToken: `t${mark}` } : {}) }, markable: where < 2 };
        case 'RecountCount':
          // The mark sits in the namespace or the counter: valid, this would repair c3.
          return { message: where === 0 ? { namespace: `${CTR}${mark}`, counterName: FUZZ_WRONG_COUNTER, repair: true } : { namespace: CTR, counterName: `${FUZZ_WRONG_COUNTER}${mark}`, repair: true }, markable: true };
        case 'CompareCounts':
          return { message: { namespace: CTR, counterNames: ['c0', where === 0 ? `c${mark}` : 'c1'], assignmentProbabilities: [0.5, 0.5] }, markable: where === 0 };
        case 'PutNamespace':
          return {
            message: { kind: 'timeseries', namespace: `gfuzz_new${int(1000)}`, document: { fields: { [`persistence_configuration${mark}`]: { listValue: { values: [] } } } } },
            markable: true,
          };
        case 'GetNamespace':
          return { message: { kind: 'timeseries', namespace: `gfuzz_${mark}` }, markable: true };
        case 'ListNamespaces':
          return { message: { kind: where === 0 ? `ti${mark}` : 'timeseries' }, markable: where === 0 };
        default:
          return { message: { kind: 'timeseries', namespace: `gfuzz_${mark}` }, markable: true };
      }
    };
    /** A request of `method` whose values the server must refuse (encoding intact). */
    const refusedValues = (method: string): Json => {
      const far = ts('1999-01-01T00:00:00Z');
      const badTime = pick([{ seconds: '99999999999999', nanos: 0 }, { seconds: '0', nanos: 2_000_000_000 }, { seconds: '-70000000000', nanos: 0 }, { seconds: '1', nanos: -5 }]);
      switch (method) {
        case 'WriteEventRecordsSync':
        case 'WriteEventRecords':
          return pick([
            { namespace: 'gfuzz_no_such', events: [event()] },
            { namespace: TS, events: [{ ...event(), eventTime: far }] },
            { namespace: TS, events: [{ ...event(), eventTime: badTime }] },
            { namespace: TS, events: [{ ...event(), eventId: '' }] },
            { namespace: TS, events: [{ ...event(), eventItems: [{ eventItemKey: '', eventItemValue: Buffer.from('x') }] }] },
            { namespace: TS, events: [{ ...event(), timeSeriesId: 'a\u0000b' }] },
            { namespace: '', events: [event()] },
            { namespace: TS, events: [] },
          ]);
        case 'ReadEventRecords':
          return pick([
            { namespace: TS, timeSeriesId: 's0', timeInterval: { start: interval.end, end: interval.start } },
            { namespace: TS, timeSeriesId: 's0', timeInterval: interval, pageSize: pick([0, -1, 1e9]) },
            { namespace: TS, timeSeriesId: 's0', timeInterval: interval, pageToken: pick(['!!', 'abc', Buffer.from('{"q":1}').toString('base64url')]) },
            { namespace: TS, timeSeriesId: 's0', timeInterval: { start: badTime, end: interval.end } },
            { namespace: TS, timeSeriesId: 's0', timeInterval: interval, timeout: { seconds: '-5', nanos: 0 } },
            { namespace: 'gfuzz_no_such', timeSeriesId: 's0', timeInterval: interval },
          ]);
        case 'AddCount':
        case 'AddAndGetCount':
          return pick([
            { namespace: 'gfuzz_no_such', counterName: 'c0', delta: '1' },
            { namespace: CTR, counterName: '', delta: '1' },
            { namespace: CTR, counterName: 'c0', delta: '1', idempotencyToken: { token: '', generationTime: ts('2024-10-03T21:24:59Z') } },
            { namespace: CTR, counterName: 'c0', delta: '1', idempotencyToken: { token: 't', generationTime: badTime } },
            { namespace: CTR, counterName: 'c0', delta: '1', idempotencyToken: { token: 't', generationTime: far } },
            { namespace: CTR, counterName: 'a\u0000', delta: '1' },
          ]);
        case 'ClearCount':
          return pick([{ namespace: 'gfuzz_no_such', counterName: 'c0' }, { namespace: CTR, counterName: '' }, { namespace: '', counterName: 'c0' }]);
        case 'ReadCounterLog':
          return pick([
            { namespace: CTR, counterName: 'c0', pageSize: pick([0, -1, -2147483648, 1001, 2147483647]) },
            { namespace: CTR, counterName: 'c0', pageToken: pick(['!!', 'abc', 'x'.repeat(5000), Buffer.from('{"q":1}').toString('base64url'), `${int(1e9).toString(36)}.${Buffer.from('{"t":1}').toString('base64url')}`]) },
            { namespace: CTR, counterName: 'c0', timeInterval: { start: interval.end, end: interval.start } },
            { namespace: CTR, counterName: 'c0', timeInterval: { start: badTime, end: interval.end } },
            { namespace: CTR, counterName: pick(['', 'a\u0000', 'x'.repeat(257)]) },
            { namespace: pick(['gfuzz_no_such', '', TS]), counterName: 'c0' },
          ]);
        case 'RecountCount':
          return pick([
            { namespace: 'gfuzz_no_such', counterName: FUZZ_WRONG_COUNTER, repair: true },
            { namespace: TS, counterName: FUZZ_WRONG_COUNTER, repair: true },
            { namespace: '', counterName: FUZZ_WRONG_COUNTER, repair: true },
            { namespace: CTR, counterName: '', repair: true },
            { namespace: CTR, counterName: `${FUZZ_WRONG_COUNTER}\u0000`, repair: true },
            { namespace: CTR, counterName: 'x'.repeat(257), repair: true },
          ]);
        case 'CompareCounts': {
          const arms = pick([0, 1, 17, 100]);
          return pick([
            { namespace: CTR, counterNames: Array.from({ length: arms }, (_, i) => `c${i}`), assignmentProbabilities: Array.from({ length: arms }, () => 1 / Math.max(1, arms)) },
            { namespace: CTR, counterNames: ['c0', 'c0'], assignmentProbabilities: [0.5, 0.5] },
            { namespace: CTR, counterNames: ['c0', ''], assignmentProbabilities: [0.5, 0.5] },
            { namespace: CTR, counterNames: ['c0', 'c1'], assignmentProbabilities: pick([[0.5], [0.5, 0.6], [1, 0], [-0.5, 1.5], [NaN, 0.5], [Infinity, 0.5], [1e-320, 1], [0.25, 0.25, 0.5]]) },
            { namespace: CTR, counterNames: ['c0', 'c1'], assignmentProbabilities: [0.5, 0.5], alpha: pick([0, 1, 1.5, -0.1, NaN, Infinity]) },
            { namespace: CTR, counterNames: ['c0', 'c1'], assignmentProbabilities: [0.5, 0.5], concentration: pick([0, -1, NaN, Infinity, -Infinity]) },
            { namespace: CTR, counterNames: ['c0', 'c1'], assignmentProbabilities: [0.5, 0.5], timeInterval: { start: interval.end, end: interval.start } },
            { namespace: pick(['gfuzz_no_such', '', TS]), counterNames: ['c0', 'c1'], assignmentProbabilities: [0.5, 0.5] },
          ]);
        }
        case 'PutNamespace':
          return pick([
            { kind: 'timeseries', namespace: 'bad name!', document: { fields: {} } },
            { kind: 'nope', namespace: 'gfuzz_x', document: { fields: {} } },
            { kind: 'timeseries', namespace: 'gfuzz_x', document: { fields: { persistence_configuration: { numberValue: 5 } } } },
            { kind: 'counter', namespace: 'gfuzz_x', document: { fields: { persistence_configuration: { listValue: { values: [{ structValue: { fields: { id: { stringValue: 'COUNTER_ROLLUP' }, config: { structValue: { fields: { counter_type: { stringValue: 'NOPE' } } } } } } }] } } } } },
          ]);
        case 'DeleteNamespace':
          return pick([{ kind: 'timeseries', namespace: 'gfuzz_no_such' }, { kind: 'nope', namespace: TS }, { kind: 'counter', namespace: '' }]);
        default:
          return { namespace: pick(['gfuzz_no_such', '', 'x'.repeat(200)]), kind: pick(['nope', '']) };
      }
    };

    /** Cut points strictly inside a top-level field (a cut at a field's end would leave a valid, shorter message). */
    const cutInside = (buf: Buffer): Buffer | undefined => {
      const ends = new Set<number>([0]);
      const r = protobuf.Reader.create(buf);
      while (r.pos < buf.length) {
        r.skipType(r.uint32() & 7);
        ends.add(r.pos);
      }
      const inside = Array.from({ length: buf.length }, (_, i) => i).filter((i) => !ends.has(i));
      return inside.length === 0 ? undefined : buf.subarray(0, pick(inside));
    };
    /** A tag of a known field with a wrong wire type, followed by a plausible payload. */
    const wrongWire = (service: string, method: string, buf: Buffer): Buffer => {
      const type = raw.root.lookupService(service).methods[method]!.resolvedRequestType!;
      const field = pick(type.fieldsArray);
      const lengthDelimited = ['string', 'bytes'].includes(field.type) || field.resolvedType instanceof protobuf.Type;
      const w = protobuf.Writer.create();
      if (lengthDelimited) w.uint32((field.id << 3) | pick([0, 1, 5])).fixed64(int(1e9));
      else w.uint32((field.id << 3) | pick([1, 5])).fixed64(int(1e9));
      return Buffer.concat(random() < 0.5 ? [buf, Buffer.from(w.finish())] : [Buffer.from(w.finish()), buf]);
    };
    const badUtf8 = () => pick([[0xff, 0xfe], [0xc3, 0x28], [0xed, 0xa0], [0xc0, 0xaf], [0x80, 0x80], [0xf8, 0x88]]);
    /** A search request whose query nests `depth` boolean queries, encoded by hand (protobufjs's fromObject stops at 32). */
    const nestedSearch = (method: string, depth: number): Buffer => {
      const searchQuery = raw.root.lookupType('dgw.v1.SearchQuery');
      let q = Buffer.from(searchQuery.encode(searchQuery.fromObject({ equals: { eventItemKey: 'k', eventItemValue: Buffer.from('v') } })).finish());
      for (let i = 0; i < depth; i++) {
        const boolean = Buffer.from(protobuf.Writer.create().uint32((1 << 3) | 2).bytes(q).uint32(2 << 3).uint32(1 + int(3)).finish());
        q = Buffer.from(protobuf.Writer.create().uint32((3 << 3) | 2).bytes(boolean).finish());
      }
      const head = raw.encode(TSS, method, { namespace: TS, timeInterval: interval });
      return Buffer.concat([head, Buffer.from(protobuf.Writer.create().uint32((3 << 3) | 2).bytes(q).finish())]);
    };

    interface Call {
      service: string;
      method: string;
      mutating: boolean;
      bytes: Buffer;
      headers: Record<string, string | Buffer>;
      kind: string;
    }
    const generate = (n: number): Call => {
      const [service, method, mutating] = METHODS[n % METHODS.length]!;
      const headers: Record<string, string | Buffer> = {};
      const enc = (m: Json) => raw.encode(service, method, m);
      const make = (kind: string, bytes: Buffer): Call => ({ service, method, mutating, bytes, headers, kind });
      const form = int(100);
      if (form < 15) return make('random bytes', bytes(int(300)));
      if (form < 30) {
        const cut = cutInside(enc(valid(method, 'ab').message));
        if (cut) return make('truncated', cut);
      }
      if (form < 42) return make('wrong wire type', wrongWire(service, method, enc(valid(method, 'ab').message)));
      if (form < 57) {
        const v = valid(method, 'QZ');
        if (v.markable) return make('invalid UTF-8', patchBytes(enc(v.message), 'QZ', badUtf8()));
      }
      if (form < 65) {
        const huge = 'x'.repeat(pick([300, 5000, 300_000]));
        switch (int(4)) {
          case 0:
            return make('huge string', enc({ ...valid(method, 'ab').message, namespace: huge }));
          case 1:
            if (method.startsWith('Write')) return make('too many events', enc({ namespace: TS, events: Array.from({ length: 1001 + int(500) }, () => event()) }));
            if (method === 'SearchEventRecords' || method === 'AggregateEventRecords') return make('deep query', nestedSearch(method, pick([9, 50, 100, 2000])));
            return make('huge string', enc({ ...valid(method, 'ab').message, namespace: huge }));
          case 2:
            if (method.startsWith('Write')) return make('huge id', enc({ namespace: TS, events: [{ ...event(), eventId: huge }] }));
            return make('huge string', enc({ ...valid(method, 'ab').message, namespace: huge }));
          default:
            // Over the message size limit (8 MiB): refused by grpc-js before decoding. Rare: it is 9 MiB each.
            if (n % 50 === 0) return make('over the size limit', Buffer.concat([enc({ namespace: TS }), Buffer.from(protobuf.Writer.create().uint32((99 << 3) | 2).bytes(Buffer.alloc(9 * 2 ** 20)).finish())]));
            return make('huge string', enc({ ...valid(method, 'ab').message, namespace: huge }));
        }
      }
      if (form < 85) return make('refused values', enc(refusedValues(method)));
      // Bad metadata: a priority that is no integer from 1 to 100 refuses any call; other
      // metadata is only sent with refused values (it must not make a refusal succeed or fail).
      // (A blank value is not sent: HTTP/2 trims it to nothing, so the call has no priority.)
      if (random() < 0.6) {
        headers['x-dgw-priority'] = pick(['0', '101', 'abc', '-1', '1e2', '', '9'.repeat(300), '50.5']);
        return make('bad priority', enc(valid(method, 'ab').message));
      }
      headers[pick(['authorization', 'x-request-id', 'x-dgw-junk'])] = pick(['Bearer ', 'Basic Zm9v', 'x'.repeat(4000), 'Bearer \u0000'.slice(0, 7), '%%%']);
      headers['x-dgw-junk-bin'] = bytes(int(200));
      return make('odd metadata', enc(refusedValues(method)));
    };

    const codes = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < CALLS) {
        const n = next++;
        const call = generate(n);
        const r = await raw.call(call.service, call.method, call.bytes, call.headers);
        const key = `${call.kind}: ${status[r.code]}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        if (FAILURES.has(r.code) || (call.mutating && r.code === status.OK)) {
          if (failures.length < 20) failures.push(`#${n} ${call.method} (${call.kind}): ${status[r.code]} ${r.details} [${call.bytes.subarray(0, 64).toString('hex')}]`);
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    tc.diagnostic(`${CALLS} calls in ${seconds.toFixed(1)} s (seed ${SEED}); outcomes: ${JSON.stringify(Object.fromEntries([...codes].sort()))}`);

    assert.deepEqual(failures, [], 'no INTERNAL/UNKNOWN/UNAVAILABLE, and no mutating call succeeded');
    assert.deepEqual(await snapshot(), before, 'state unchanged');
    // The server still serves gRPC normally.
    const ok = await raw.call(CS, 'GetCount', raw.encode(CS, 'GetCount', { namespace: CTR, counterName: 'c1' }));
    assert.equal(ok.code, status.OK, ok.details);
    assert.equal(raw.decode(CS, 'GetCount', ok.response ?? Buffer.alloc(0)).count, '11');
  });
});
