import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests (and an example for client developers):
// operations in test/operations/*.graphql, checked against schema.graphql.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/operations/*.graphql'],
  generates: {
    'test/generated/operations.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', Decimal: 'string' },
        useTypeImports: true,
        enumsAsTypes: true,
      },
    },
  },
  silent: true,
};

export default config;
