import { ManualClock } from '../../src/kernel/clock.js';
import { runConformance } from '../../src/storage/conformance.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';

const clock = new ManualClock();
runConformance('memory', async () => createMemoryStores({ clock }), { clock });
