/** Target assignment: hand cases for the 'v5' and 'v3' rules, and bad boxes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AssignSpec, buildTargets, gridsFor, type LevelTargets, TARGET_ROW, whIou } from '../../../src/tasks/detect/assign.js';

// 64×64 input, three levels with two square anchors each (input pixels).
const STRIDES = [8, 16, 32];
const ANCHORS: Array<Array<[number, number]>> = [
  [
    [8, 8],
    [32, 32],
  ],
  [
    [16, 16],
    [64, 64],
  ],
  [
    [32, 32],
    [128, 128],
  ],
];
const spec = (extra: Partial<AssignSpec> = {}): AssignSpec => ({
  anchors: ANCHORS,
  strides: STRIDES,
  grids: gridsFor(64, 64, STRIDES),
  ...extra,
});
const rows = (...r: number[][]) => Float32Array.from(r.flat());

interface Pos {
  b: number;
  a: number;
  gj: number;
  gi: number;
  x: number;
  y: number;
  w: number;
  h: number;
  aw: number;
  ah: number;
  cls: number;
  gt: number;
}

function positives(l: LevelTargets): Pos[] {
  const out: Pos[] = [];
  for (let k = 0; k < l.count; k++) {
    out.push({
      b: l.b[k]!,
      a: l.a[k]!,
      gj: l.gj[k]!,
      gi: l.gi[k]!,
      x: l.tbox[4 * k]!,
      y: l.tbox[4 * k + 1]!,
      w: l.tbox[4 * k + 2]!,
      h: l.tbox[4 * k + 3]!,
      aw: l.anchorWh[2 * k]!,
      ah: l.anchorWh[2 * k + 1]!,
      cls: l.cls[k]!,
      gt: l.gt[k]!,
    });
  }
  return out;
}

/** The level's positives as "gj,gi:x,y" strings, sorted. */
function cells(l: LevelTargets): string[] {
  return positives(l)
    .map((p) => `${p.gj},${p.gi}:${p.x},${p.y}`)
    .sort();
}

test('gridsFor divides the input by each stride', () => {
  assert.deepEqual(gridsFor(64, 96, STRIDES), [
    [8, 12],
    [4, 6],
    [2, 3],
  ]);
  assert.throws(() => gridsFor(60, 64, STRIDES), /multiple of stride/);
});

test('v5: a box at the centre of a cell gets its own cell only; neighbours follow the 0.5 rule on coarser levels', () => {
  // centre (28, 20) px: level 0 (stride 8) gx = 3.5, gy = 2.5 — exactly mid-cell, no neighbour.
  const t = buildTargets(rows([1, 3, 28, 20, 8, 8]), spec({ batchSize: 2, nc: 4 }));
  assert.equal(t.rule, 'v5');
  assert.equal(t.numBoxes, 1);
  assert.equal(t.unmatched, 0);
  // 8×8 box: level 0 anchor 0 (ratio 1), anchor 1 (ratio 4, not < 4) rejected; level 1 anchor 0 (ratio 2);
  // level 2 anchor 0 has ratio 4: rejected.
  assert.deepEqual(t.counts, [1, 3, 0]);
  assert.equal(t.total, 4);
  const [p] = positives(t.levels[0]!);
  assert.deepEqual(p, { b: 1, a: 0, gj: 2, gi: 3, x: 0.5, y: 0.5, w: 1, h: 1, aw: 1, ah: 1, cls: 3, gt: 0 });
  // Level 1 (stride 16): gx = 1.75 (frac > 0.5: right neighbour), gy = 1.25 (frac < 0.5 and gy > 1: upper neighbour).
  assert.deepEqual(cells(t.levels[1]!), ['0,1:0.75,1.25', '1,1:0.75,0.25', '1,2:-0.25,0.25'].sort());
  for (const q of positives(t.levels[1]!)) {
    assert.equal(q.a, 0);
    assert.equal(q.w, 0.5);
    assert.equal(q.aw, 1);
  }
});

test('v5: a centre on a cell corner gets its cell plus the left and upper neighbours', () => {
  const t = buildTargets(rows([0, 0, 40, 40, 8, 8]), spec());
  // Level 0: gx = gy = 5 exactly: own cell (5, 5) at offset 0, left (5, 4) at x = 1, up (4, 5) at y = 1.
  assert.deepEqual(cells(t.levels[0]!), ['4,5:0,1', '5,4:1,0', '5,5:0,0']);
  // Level 1: gx = gy = 2.5: own cell only.
  assert.deepEqual(cells(t.levels[1]!), ['2,2:0.5,0.5']);
  for (const q of [...positives(t.levels[0]!), ...positives(t.levels[1]!)]) {
    assert.ok(q.x > -0.5 && q.x < 1.5 && q.y > -0.5 && q.y < 1.5);
  }
});

test('v5: near the image edges only neighbours inside the grid are used', () => {
  const level0 = (cx: number, cy: number) => cells(buildTargets(rows([0, 0, cx, cy, 8, 8]), spec()).levels[0]!);
  // gx = 0.5, gy = 0.25: frac(gy) < 0.5 but gy ≤ 1: no upper neighbour.
  assert.deepEqual(level0(4, 2), ['0,0:0.5,0.25']);
  // gx = 0.875: right neighbour (inside); gy = 0.875: lower neighbour.
  assert.deepEqual(level0(7, 7), ['0,0:0.875,0.875', '0,1:-0.125,0.875', '1,0:0.875,-0.125'].sort());
  // gx = 1.125: left neighbour (cell 0) at x = 1.125.
  assert.deepEqual(level0(9, 4), ['0,0:1.125,0.5', '0,1:0.125,0.5']);
  // gx = 7.875, gy = 7.75 in an 8×8 grid: no right or lower neighbour outside the grid.
  assert.deepEqual(level0(63, 62), ['7,7:0.875,0.75']);
  // A centre exactly on the right/bottom edge belongs to the last cell (offset 1) and gets no duplicate.
  assert.deepEqual(level0(64, 64), ['7,7:1,1']);
  // Everything stays inside the grid.
  const t = buildTargets(rows([0, 0, 1, 63, 8, 8], [0, 0, 63, 1, 8, 8], [0, 0, 33, 31, 8, 8]), spec());
  t.levels.forEach((l, i) => {
    const [ny, nx] = t.grids[i]!;
    for (const q of positives(l)) assert.ok(q.gi >= 0 && q.gi < nx && q.gj >= 0 && q.gj < ny, JSON.stringify(q));
  });
});

test('v5: the anchor ratio filter max(r, 1/r) < anchorT', () => {
  const anchorsOf = (w: number, h: number, anchorT?: number) => {
    const t = buildTargets(rows([0, 0, 28, 20, w, h]), spec({ anchorT }));
    return t.levels.map((l) => [...new Set(positives(l).map((q) => q.a))].sort());
  };
  // 8×31: vs [8, 8] ratio 3.875 (kept); vs [32, 32] ratio 4 on w (rejected); level 1 [16, 16]: 2 and 1.94.
  assert.deepEqual(anchorsOf(8, 31), [[0], [0], []]);
  // 8×33: ratio 4.125 against [8, 8]; the 32×32 anchor still sees w ratio 4: nothing on level 0.
  assert.deepEqual(anchorsOf(8, 33), [[], [0], []]);
  // 16×64: level 0 [32,32] (2, 2), level 1 [16,16] (1, 4: rejected) and [64,64] (4: rejected), level 2 [32,32] (2, 2).
  assert.deepEqual(anchorsOf(16, 64), [[1], [], [0]]);
  // A larger anchorT admits more.
  assert.deepEqual(anchorsOf(16, 64, 4.5), [[1], [0, 1], [0]]);
  // A box that matches nothing is counted, not silently lost.
  const far = buildTargets(rows([0, 0, 32, 32, 2, 60]), spec());
  assert.equal(far.total, 0);
  assert.equal(far.unmatched, 1);
});

test('v3: each box goes to the single best anchor by wh-IoU across levels, own cell only', () => {
  assert.ok(Math.abs(whIou(60, 60, 64, 64) - 3600 / 4096) < 1e-12);
  const t = buildTargets(
    rows(
      [0, 1, 40, 40, 60, 60], // best: level 1 anchor 1 (64×64); cell (2, 2) of the 4×4 grid
      [1, 2, 40, 40, 30, 30], // ties between level 0 anchor 1 and level 2 anchor 0 (32×32): the first wins
      [0, 0, 9, 7, 6, 10], // level 0 anchor 0; gx = 1.125 would have a left neighbour under v5
      [0, 0, 20, 20, 100, 140], // level 2 anchor 1 (128×128)
    ),
    spec({ rule: 'v3' }),
  );
  assert.equal(t.rule, 'v3');
  assert.deepEqual(t.counts, [2, 1, 1]);
  const l0 = positives(t.levels[0]!);
  const l1 = positives(t.levels[1]!);
  const l2 = positives(t.levels[2]!);
  assert.deepEqual(l1, [{ b: 0, a: 1, gj: 2, gi: 2, x: 0.5, y: 0.5, w: 3.75, h: 3.75, aw: 4, ah: 4, cls: 1, gt: 0 }]);
  assert.deepEqual(
    l0.map((q) => [q.gt, q.a, q.gj, q.gi, q.x, q.y]),
    [
      [1, 1, 5, 5, 0, 0],
      [2, 0, 0, 1, 0.125, 0.875],
    ],
  );
  assert.deepEqual(
    l2.map((q) => [q.gt, q.a, q.gj, q.gi, q.aw, q.ah]),
    [[3, 1, 0, 0, 4, 4]],
  );
});

test('an empty table gives empty levels', () => {
  for (const rule of ['v5', 'v3'] as const) {
    const t = buildTargets(new Float32Array(0), spec({ rule }));
    assert.deepEqual(t.counts, [0, 0, 0]);
    assert.equal(t.levels[0]!.tbox.length, 0);
  }
});

test('bad boxes raise an error naming the row', () => {
  const ok = [0, 0, 10, 10, 5, 5];
  assert.throws(() => buildTargets(rows(ok, [0, 1, 20, 20, 0, 5]), spec()), /targets row 1 .*w = 0, h = 5.*must be > 0/);
  assert.throws(() => buildTargets(rows(ok, ok, [1, 0, 20, 20, 4, -2]), spec({ rule: 'v3' })), /targets row 2 .*h = -2/);
  assert.throws(() => buildTargets(rows([0, 0, 20, 20, Number.NaN, 3]), spec()), /targets row 0 .*non-finite/);
  assert.throws(() => buildTargets(rows(ok, [2, 0, 20, 20, 4, 4]), spec({ batchSize: 2 })), /targets row 1 .*image index 2/);
  assert.throws(() => buildTargets(rows([0, 1.5, 20, 20, 4, 4]), spec()), /targets row 0 .*class 1.5/);
  assert.throws(() => buildTargets(rows([0, 4, 20, 20, 4, 4]), spec({ nc: 4 })), /targets row 0 .*class 4/);
  assert.throws(() => buildTargets(rows([0, 0, 70, 20, 4, 4]), spec()), /targets row 0 .*outside the 64x64 input/);
  assert.throws(() => buildTargets(new Float32Array(TARGET_ROW + 1), spec()), /multiple of 6/);
  assert.throws(() => buildTargets(rows(ok), { ...spec(), anchors: ANCHORS.slice(0, 2) }), /anchor levels/);
});
