/** The storage conformance suite on a real Redis (cache parts only; its own key prefix, deleted after). */
import { after, describe } from 'node:test';
import { runConformance } from '../../src/storage/conformance.js';
import { createRedisStores } from '../../src/storage/redis/stores.js';
import { backendTest, deleteRedisPrefix, uniqueName } from '../support/backends.js';

const gate = await backendTest('redis');

describe('redis conformance', { skip: gate.skip }, () => {
  const keyPrefix = `${uniqueName('dgwconf')}:`;
  after(async () => {
    await deleteRedisPrefix(keyPrefix, gate.url);
  });
  runConformance('redis', () => createRedisStores({ url: gate.url, keyPrefix }));
});
