/**
 * The layering of src/ as a checked rule (npm test runs `npm run lint:deps`).
 * Each folder may import only the folders below it in LAYERS (and itself);
 * no import cycles anywhere. Type-only imports are compiled away and not counted.
 */
const LAYERS = [
  ['util', 'io'],
  ['engine'],
  ['nn'],
  ['eval'],
  ['data'],
  ['plot'],
  ['tasks'],
  ['pretext'],
  ['models'],
  ['infer'],
  ['export'],
  ['train'],
  ['ablate'],
  ['cli'],
];

const above = (i) => LAYERS.slice(i + 1).flat();

module.exports = {
  forbidden: [
    ...LAYERS.flatMap((group, i) => group.map((folder) => ({
      name: `layer-${folder}`,
      comment: `${folder}/ may import only the layers below it: ${LAYERS.slice(0, i).flat().join(', ') || 'nothing'}`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(${[...above(i), ...group.filter((g) => g !== folder)].join('|')})/` },
    })).filter((r) => !r.to.path.endsWith('^src/()/'))),
    {
      name: 'no-index-import',
      comment: 'src/index.ts is the public entry: nothing inside imports it',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-test-or-bench-in-src',
      comment: 'the library never imports tests or benchmarks',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: false,
    exclude: { path: '^(dist|dist-demo|node_modules)/' },
  },
};
