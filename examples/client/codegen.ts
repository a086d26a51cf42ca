import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations for the example client: graphql-codegen's client preset reads Switchboard's SDL
// (schema/*.graphql, or a running gateway's URL) and the `graphql(...)` documents in this folder,
// and writes ./gql/. test/client-example.test.ts fails when the committed ./gql/ is stale, so run
// `npm run codegen:example` after editing an operation or the SDL.
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  documents: ['examples/client/operations.ts'],
  generates: {
    'examples/client/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        // Only the input and enum types the operations use, not the whole schema's types.
        onlyOperationTypes: true,
        enumsAsTypes: true,
        // Switchboard's custom scalars as they travel in JSON. Money amounts are decimal strings
        // (never floats): keep them strings, or hand them to a decimal library.
        scalars: {
          DateTime: 'string',
          Date: 'string',
          EmailAddress: 'string',
          Currency: 'string',
          JSON: 'unknown',
        },
      },
    },
  },
  // ESM imports with explicit extensions, so the generated files run under Node's own resolver.
  emitLegacyCommonJSImports: false,
};

export default config;
