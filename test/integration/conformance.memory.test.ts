import { ManualClock } from '../../src/core/clock.js';
import { runConformance } from '../../src/storage/conformance.js';
import { createMemoryStores } from '../../src/storage/memory/index.js';

const clock = new ManualClock();
runConformance('memory', async () => createMemoryStores({ clock }), { clock });
