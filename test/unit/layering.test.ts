/**
 * The layering rule (eslint.layers.js) is live: the project's own ESLint config rejects an
 * import that runs upward (storage → core, core → an adapter, kernel → anything, core → an
 * I/O library, a value import of the storage contracts from core) and accepts the real tree's
 * imports. Type-aware rules are switched off here so one file lints in well under a second.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULE = '@typescript-eslint/no-restricted-imports';

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { projectService: false } },
      rules: {
        '@typescript-eslint/no-floating-promises': 'off',
        '@typescript-eslint/no-misused-promises': 'off',
      },
    },
  ],
});

async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${file}` });
  assert.ok(result, 'ESLint returned a result');
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('layering rule', () => {
  const violations: [string, string, string][] = [
    ['storage imports core', 'src/storage/memory/event-store.ts', "import { foldEvents } from '../../core/counter/counter-events.js';\nexport const x = foldEvents;\n"],
    ['core imports an adapter', 'src/core/counter/service.ts', "import { createMemoryStores } from '../../storage/memory/stores.js';\nexport const x = createMemoryStores;\n"],
    ['core imports the catalog implementation', 'src/core/timeseries/service.ts', "import type { StoreCatalog } from '../../storage/catalog.js';\nexport type X = StoreCatalog;\n"],
    ['core value-imports the contracts', 'src/core/timeseries/service.ts', "import * as contracts from '../../storage/contracts.js';\nexport const x = contracts;\n"],
    ['core imports the server', 'src/core/control/namespace-manager.ts', "import { buildHttpApp } from '../../server/http/app.js';\nexport const x = buildHttpApp;\n"],
    ['core imports an I/O library', 'src/core/timeseries/slices.ts', "import pg from 'pg';\nexport const x = pg;\n"],
    ['kernel imports core', 'src/kernel/errors.ts', "import type { CounterConfig } from '../core/control/types.js';\nexport type X = CounterConfig;\n"],
    ['domain imports storage', 'src/domain/events.ts', "import type { EventStore } from '../storage/contracts.js';\nexport type X = EventStore;\n"],
    ['server imports the cli', 'src/server/runtime.ts', "import { main } from '../cli/main.js';\nexport const x = main;\n"],
  ];
  for (const [what, file, code] of violations) {
    it(`fails the lint when ${what}`, async () => {
      const errors = await layeringErrors(file, code);
      assert.equal(errors.length, 1, `expected one layering error for ${file}, got ${JSON.stringify(errors)}`);
    });
  }

  it('accepts type-only imports of the contracts from core', async () => {
    const code = "import type { EventStore } from '../../storage/contracts.js';\nimport type { EventRecord } from '../../domain/events.js';\nexport type X = [EventStore, EventRecord];\n";
    assert.deepEqual(await layeringErrors('src/core/timeseries/slices.ts', code), []);
  });

  it('accepts the imports of the real tree', async () => {
    for (const file of ['src/core/counter/service.ts', 'src/core/timeseries/service.ts', 'src/storage/sqlite/stores.ts', 'src/server/runtime.ts', 'src/kernel/errors.ts']) {
      assert.deepEqual(await layeringErrors(file, readFileSync(`${ROOT}/${file}`, 'utf8')), [], file);
    }
  });
});
