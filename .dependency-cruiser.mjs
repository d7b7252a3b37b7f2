// The layering of src/, checked by `npm run lint` (dependency-cruiser). Every arrow points down:
//   domain  <- ports <- pipeline, storage, sources, adapters <- services <- sdk / index / integrations
// errors/ sits beside domain/ at the bottom. A rule here is a promise to readers: a port can be
// read without reading the services, and the domain without reading anything but the errors.
/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycle anywhere in src/, type-only imports included: a cycle hides which module owns a type.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'errors-import-only-errors',
      comment: 'errors/ is the bottom layer: it imports nothing else of ours.',
      severity: 'error',
      from: { path: '^src/errors/' },
      to: { path: '^src/', pathNot: '^src/errors/' },
    },
    {
      name: 'domain-imports-only-domain-and-errors',
      comment: 'domain/ is pure: types, validation and rules, no I/O and nothing above it.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/(domain|errors)/' },
    },
    {
      name: 'ports-import-only-domain-and-errors',
      comment: 'ports/ are the interfaces hosts implement: they name domain types, never an implementation.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: '^src/', pathNot: '^src/(ports|domain|errors)/' },
    },
    {
      name: 'adapters-never-import-services',
      comment: 'pipeline, storage, sources, ssh, streams, logging and adapters sit below the services.',
      severity: 'error',
      from: { path: '^src/(pipeline|storage|sources|ssh|streams|adapters|logging)/' },
      to: { path: '^src/(services|sdk\\.ts|index\\.ts|integrations|testing)' },
    },
    {
      name: 'production-never-imports-testing',
      comment: "testing/ is the /testing subpath for hosts' unit tests; production code never needs it.",
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/testing/' },
      to: { path: '^src/testing/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
