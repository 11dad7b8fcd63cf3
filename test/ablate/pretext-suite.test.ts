import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRIC_COLUMNS, SUITES } from '../../src/ablate/suites.js';
import { PRETEXT_NAMES } from '../../src/pretext/registry.js';

test('the pretext suite has scratch, every registered pretext task, a combination and the contrastive baseline', () => {
  const suite = SUITES.find((s) => s.name === 'pretext')!;
  assert.ok(suite, 'a pretext suite');
  const single = suite.variants.filter((v) => v.runs[0]!.pretrain?.tasks.length === 1).map((v) => v.runs[0]!.pretrain!.tasks[0]!);
  assert.deepEqual([...single].sort(), [...PRETEXT_NAMES].sort(), 'one variant per registered pretext task');
  assert.ok(suite.variants.some((v) => v.id === 'scratch' && !v.runs[0]!.pretrain));
  assert.ok(
    suite.variants.some((v) => (v.runs[0]!.pretrain?.tasks.length ?? 0) > 1),
    'a multi-task combination',
  );
  assert.equal(suite.variants[suite.variants.length - 1]!.id, 'contrastive');
  for (const v of suite.variants) for (const t of v.runs[0]!.pretrain?.tasks ?? []) assert.ok(PRETEXT_NAMES.includes(t), t);
  for (const m of suite.metricOrder) assert.ok(METRIC_COLUMNS[m], m);
});
