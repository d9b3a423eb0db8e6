// The layering rule (docs/architecture.md): each floor imports only the floors below it.
//   kernel  (errors, clock, time, hash)     imports nothing of dgw
//   domain  (EventRecord, SearchExpr, ...)  imports kernel
//   storage (contracts, adapters)           imports kernel, domain
//   core    (the abstractions)              imports kernel, domain and, as types only,
//                                           storage/contracts.ts; no I/O library
//   server  (HTTP, gRPC, store assembly)    imports everything but cli and bench
// test/unit/layering.test.ts proves the rule fails on a deliberate violation.

const msg = (floor, allowed) => `${floor} may import only ${allowed} (docs/architecture.md, "Floors")`;
const upward = (folders, floor, allowed) => ({
  regex: `(^|/)(${folders.join('|')})/`,
  message: msg(floor, allowed),
});

/** Flat-config blocks enforcing the floors; spread into eslint.config.js. */
export const layering = [
  {
    files: ['src/kernel/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [upward(['domain', 'storage', 'core', 'server', 'cli', 'bench'], 'kernel', 'kernel')] }],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [upward(['storage', 'core', 'server', 'cli', 'bench'], 'domain', 'kernel')] }],
    },
  },
  {
    files: ['src/storage/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [upward(['core', 'server', 'cli', 'bench'], 'storage', 'kernel and domain')] }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['pg', 'ioredis', 'better-sqlite3', 'fastify', '@grpc/grpc-js', 'undici', 'node:fs', 'node:net', 'node:http'].map((name) => ({
            name,
            message: 'core is free of I/O libraries: stores and transports reach it through contracts',
          })),
          patterns: [
            upward(['server', 'cli', 'bench'], 'core', 'kernel, domain and storage/contracts.ts'),
            { regex: '(^|/)storage/(?!contracts\\.js$)', message: msg('core', 'kernel, domain and storage/contracts.ts (types)') },
            { regex: '(^|/)storage/contracts\\.js$', allowTypeImports: true, message: 'core imports storage/contracts.ts as types only' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [upward(['cli', 'bench'], 'server', 'kernel, domain, storage and core')] }],
    },
  },
];
