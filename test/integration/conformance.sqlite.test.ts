import { ManualClock } from '../../src/kernel/clock.js';
import { runConformance } from '../../src/storage/conformance.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';
import { BUCKETED_LAYOUT } from '../../src/storage/sqlite/schema.js';
import { tempDir } from '../support/temp-dir.js';

const clock = new ManualClock();
runConformance('sqlite', async () => createSqliteStores({ dataDir: tempDir(), clock }), { clock });
runConformance('sqlite (writer thread)', async () => createSqliteStores({ dataDir: tempDir(), clock, writerThread: true }), { clock });
runConformance('sqlite (reader threads)', async () => createSqliteStores({ dataDir: tempDir(), clock, readerThreads: 2 }), { clock });
runConformance('sqlite (bucketed slice tables, as before schema 7)', async () => createSqliteStores({ dataDir: tempDir(), clock, sliceLayout: BUCKETED_LAYOUT }), { clock });
