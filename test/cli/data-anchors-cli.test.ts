import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BCCD, HAS_BCCD } from '../helpers/shared-data.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const yolor = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('yolor data anchors on BCCD reports recall before/after and re-estimates with --force', {
  skip: !HAS_BCCD && 'shared BCCD data not present',
}, () => {
  const r = yolor('data', 'anchors', '--data', BCCD, '--json', '--force', '--seed', '1');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    boxes: number;
    before: { bpr: number; fitness: number };
    after: { bpr: number; fitness: number };
    anchors: number[][][];
    dropped: unknown[];
  };
  assert.equal(out.dropped.length, 2);
  assert.ok(out.boxes > 2000);
  assert.ok(out.after.bpr >= out.before.bpr);
  assert.ok(out.after.fitness >= out.before.fitness);
  assert.equal(out.anchors.length, 3);
  const table = yolor('data', 'anchors', '--data', BCCD);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^before\s+1\.0000\s+[\d.]+\s+[\d.]+$/m);
});

test('yolor data anchors without --data is a usage error', () => {
  const r = yolor('data', 'anchors');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^yolor data: anchors needs --data/);
});
