/** The storage conformance suite on a real PostgreSQL (its own random schema, dropped after). */
import { after, describe } from 'node:test';
import { runConformance } from '../../src/storage/conformance.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { BUCKETED_LAYOUT } from '../../src/storage/postgres/schema.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';

const gate = await backendTest('postgres');

describe('postgres conformance', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_conf');
  after(async () => {
    await dropPostgresSchema(schema, gate.url);
  });
  runConformance('postgres', () => createPostgresStores({ url: gate.url, schema, maxConnections: 8 }));
  runConformance('postgres (bucketed slice tables, as before schema 5)', () =>
    createPostgresStores({ url: gate.url, schema, maxConnections: 8, sliceLayout: BUCKETED_LAYOUT }),
  );
});
