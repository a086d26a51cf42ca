// Import rules of the codebase, checked by `npm run lint` (dependency-cruiser): no import cycles,
// connectors never reach into the gateway, and the gateway's layers import only downward:
// server/gateway → resolvers/routes → loaders → cache → upstream client. Type-only imports count
// for layers (a type import still couples the modules) but not for cycles (they vanish at runtime).
/** @type {import('dependency-cruiser').IConfiguration} */
const TESTS = '(\\.test\\.ts$|^test/|^bench/|/testing/|^connectors/sdk/testing\\.ts$|^connectors/[^/]+/test-support\\.ts$)';

/** A layer may not import the layers above it. */
const above = (from, targets, why) => ({
  name: `layers-${from.replace(/[^a-z]+/g, '-')}`,
  comment: why,
  severity: 'error',
  from: { path: `^src/${from}`, pathNot: TESTS },
  to: { path: `^src/(${targets.join('|')})` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles make initialisation order fragile and hide a missing layer.',
      severity: 'error',
      from: { pathNot: '^node_modules' },
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'connectors-never-import-src',
      comment: 'A connector gets everything injected (ctx); only test support may use the gateway (the real upstream client).',
      severity: 'error',
      from: { path: '^connectors/', pathNot: TESTS },
      to: { path: '^src/' },
    },
    {
      name: 'examples-are-clients',
      comment: "The example client talks to the gateway over HTTP and WebSocket only, as a user's app would.",
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: '^(src|connectors|test|bench)/' },
    },
    {
      name: 'nothing-imports-the-composition-root',
      comment: 'server.ts and main.ts assemble; nothing in the gateway depends on them.',
      severity: 'error',
      from: { path: '^src/', pathNot: `${TESTS}|^src/main\\.ts$` },
      to: { path: '^src/(server|main)\\.ts$' },
    },
    above('util/', ['(?!util/)'], 'Generic helpers depend on nothing of the gateway.'),
    above('upstream/', ['loaders/', 'cache/', 'resolvers/', 'gateway/', 'events/', 'context\\.ts', 'inbound/'], 'The upstream client is the bottom layer.'),
    above('cache/', ['loaders/', 'resolvers/', 'gateway/', 'events/', 'context\\.ts', 'inbound/'], 'The cache sits below the loaders.'),
    above('loaders/', ['resolvers/', 'gateway/', 'inbound/'], 'Loaders sit below the resolvers.'),
    above('resolvers/', ['gateway/'], 'Resolvers sit below the composition.'),
    above(
      '(accounts|callers)/',
      ['loaders/', 'resolvers/', 'gateway/', 'events/', 'inbound/'],
      'Who is calling and the accounts we hold are services the layers above use.',
    ),
    above('events/', ['resolvers/', 'gateway/'], 'The event pipeline sits below the resolvers and the composition.'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|src/generated/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
