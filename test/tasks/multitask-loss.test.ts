/**
 * The losses of the non-detection tasks and the multi-task loss: hand values of
 * the classification BCE, segmentation CE (+ Dice) and identity CE; the embedding
 * cells picked from an assignment and from ground truth; gradients against
 * central finite differences; uncertainty weighting; the weighted sum over a
 * tiny 4-task model; the checks and parsers of task lists, weights and labels.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { finiteDifferenceCheck } from '../../src/engine/check.js';
import { DEFAULT_ANCHORS, type ModelConfig, parseModelConfig, serializeModelConfig, type TaskName } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { newFuseReport } from '../../src/nn/fuse.js';
import { resizeBilinearHalfPixel } from '../../src/nn/resize.js';
import { classifyLoss } from '../../src/tasks/classify/loss.js';
import { type Assignment, buildTargets, gridsFor, type LevelTargets } from '../../src/tasks/detect/assign.js';
import { IdentityClassifier } from '../../src/tasks/embed/head.js';
import { type EmbeddingPicks, embedLoss, gatherEmbeddings, gtEmbeddingCells, positiveEmbeddingCells } from '../../src/tasks/embed/loss.js';
import {
  checkTaskLabels,
  DEFAULT_TASK_WEIGHTS,
  datasetLabelInfo,
  isMultiTask,
  multiTaskLoss,
  parseTaskList,
  parseTaskWeights,
  type TaskBatch,
} from '../../src/tasks/multitask.js';
import { segmentArgmax, segmentLoss } from '../../src/tasks/segment/loss.js';
import { TaskBalance } from '../../src/tasks/task-balance.js';
import { Rng } from '../../src/util/rng.js';
import { scoped } from '../helpers/scope.js';

before(async () => {
  await initBackend('wasm');
});

const close = (a: number, b: number, tol = 1e-5, what = '') => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);

/** A scalar computed in a scope that disposes every tensor it made. */
function value(fn: () => tf.Tensor): number {
  return tf.tidy(() => fn().dataSync()[0]!);
}

/** Runs fn on the cpu backend (the reference, for gradient checks), then returns to wasm. */
async function onCpu(fn: () => void): Promise<void> {
  await tf.setBackend('cpu');
  try {
    fn();
  } finally {
    await tf.setBackend('wasm');
  }
}

const softplus = (x: number) => Math.log1p(Math.exp(x));

// ---------------------------------------------------------------------------------------------
// Classification

test('classifyLoss: the mean binary cross-entropy over images × labels', () => {
  const logits = [0, 2, -1, 3.5, -2, 0.5, 1, -0.25];
  const targets = Float32Array.from([1, 0, 1, 0, 0, 1, 1, 0]);
  let want = 0;
  logits.forEach((x, i) => {
    want += softplus(x) - x * targets[i]!;
  });
  want /= logits.length;
  close(
    value(() => classifyLoss(tf.tensor2d(logits, [2, 4]), targets)),
    want,
  );
  // A confident correct prediction costs ≈ 0; the prior 0.25 on an empty image costs −ln 0.75.
  close(
    value(() => classifyLoss(tf.tensor2d([30, -30, -30, 30], [2, 2]), Float32Array.from([1, 0, 0, 1]))),
    0,
    1e-6,
  );
  close(
    value(() => classifyLoss(tf.fill([1, 3], Math.log(1 / 3)) as tf.Tensor2D, new Float32Array(3))),
    -Math.log(0.75),
  );
});

test('classifyLoss: target count must match the logits', () => {
  const logits = tf.zeros([2, 3]) as tf.Tensor2D;
  assert.throws(() => classifyLoss(logits, new Float32Array(5)), /classify loss: 5 target values for 2 images × 3 labels/);
  logits.dispose();
});

// ---------------------------------------------------------------------------------------------
// Segmentation

/** Softmax CE + Dice of logits [N pixels × K] (one image row-major) against classes, in float64: the documented definition. */
function segmentReference(logits: number[][], classes: number[], dice: number): number {
  const k = logits[0]!.length;
  const p = logits.map((row) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  const ce = -p.reduce((s, row, i) => s + Math.log(row[classes[i]!]!), 0) / p.length;
  if (dice === 0) return ce;
  const argmax = logits.map((row) => row.indexOf(Math.max(...row)));
  let sum = 0;
  let count = 0;
  for (let c = 0; c < k; c++) {
    const present = classes.includes(c);
    if (!present && !argmax.includes(c)) continue; // neither present nor predicted: not counted
    let inter = 0;
    let sp = 0;
    let sy = 0;
    p.forEach((row, i) => {
      const y = classes[i] === c ? 1 : 0;
      inter += row[c]! * y;
      sp += row[c]!;
      sy += y;
    });
    sum += 1 - (2 * inter) / (sp + sy + 1e-6);
    count++;
  }
  return ce + dice * (sum / count);
}

test('segmentLoss: uniform logits cost ln K, whatever their value', () => {
  for (const [k, c] of [
    [2, 0],
    [5, 0],
    [5, 3.7],
    [7, -2],
  ] as const) {
    const semantic = Uint8Array.from({ length: 2 * 4 * 4 }, (_, i) => i % k);
    close(
      value(() => segmentLoss(tf.fill([2, 4, 4, k], c) as tf.Tensor4D, semantic)),
      Math.log(k),
      1e-5,
      `K=${k}`,
    );
  }
});

test('segmentLoss: a perfect confident prediction costs ≈ 0 (with and without Dice)', () => {
  const k = 4;
  const b = 2;
  const hw = 3;
  // Every class present somewhere, and a batch where classes 2 and 3 are absent.
  for (const semantic of [
    Uint8Array.from({ length: b * hw * hw }, (_, i) => (i * 7) % k),
    Uint8Array.from({ length: b * hw * hw }, (_, i) => i % 2),
  ]) {
    const logits = new Float32Array(semantic.length * k);
    semantic.forEach((c, i) => {
      logits[i * k + c] = 40;
    });
    const t = () => tf.tensor4d(logits, [b, hw, hw, k]);
    const ce = value(() => segmentLoss(t(), semantic));
    assert.ok(ce >= 0 && ce < 1e-6, `CE ${ce}`);
    const withDice = value(() => segmentLoss(t(), semantic, { dice: 1 }));
    assert.ok(withDice >= 0 && withDice < 1e-4, `CE + Dice ${withDice} for classes {${[...new Set(semantic)].join(', ')}} of ${k}`);
    assert.deepEqual(segmentArgmax(t()), semantic);
  }
});

test('segmentLoss: Dice term on tiny hand cases', () => {
  // 1×1×2, K = 2, uniform: p = ½ everywhere; each class has inter ½, Σp + Σy = 2 → Dice ½ each.
  const uniform = tf.zeros([1, 1, 2, 2]) as tf.Tensor4D;
  close(
    value(() => segmentLoss(uniform, Uint8Array.from([0, 1]), { dice: 0.4 })),
    Math.LN2 + 0.4 * 0.5,
  );
  // Both pixels class 1: class 1 has inter 1, Σp + Σy = 3 → 1/3; class 0 is absent but the argmax of a tie (class 0)
  // predicts it everywhere → Dice 1. Mean 2/3.
  close(
    value(() => segmentLoss(uniform, Uint8Array.from([1, 1]), { dice: 1 })),
    Math.LN2 + 2 / 3,
  );
  uniform.dispose();
  // Non-uniform, 3 pixels, K = 3, against the float64 reference of the documented definition.
  const rows = [
    [2, 0.5, -1],
    [0.3, 1.2, 0.1],
    [-0.5, 0.2, 0.9],
  ];
  for (const [classes, dice] of [
    [[0, 1, 2], 0.7],
    [[0, 0, 1], 1],
    [[0, 1, 1], 0.25],
    [[0, 1, 2], 0],
  ] as Array<[number[], number]>) {
    const got = value(() => segmentLoss(tf.tensor4d(rows.flat(), [1, 1, 3, 3]), Uint8Array.from(classes), { dice }));
    close(got, segmentReference(rows, classes, dice), 1e-5, `classes ${classes} dice ${dice}`);
  }
  // A class neither present nor predicted is not counted: adding a 4th channel that is never argmax changes nothing
  // in Dice beyond its tiny softmax share.
  const rows4 = rows.map((r) => [...r, -30]);
  const three = value(() => segmentLoss(tf.tensor4d(rows.flat(), [1, 1, 3, 3]), Uint8Array.from([0, 1, 2]), { dice: 1 }));
  const four = value(() => segmentLoss(tf.tensor4d(rows4.flat(), [1, 1, 3, 4]), Uint8Array.from([0, 1, 2]), { dice: 1 }));
  close(four, three, 1e-5);
});

test('segmentLoss: class map size and class range are checked', () => {
  const logits = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
  assert.throws(
    () => segmentLoss(logits, Uint8Array.from([0, 1, 3, 0])),
    /segment loss: pixel class 3 but the head predicts 3 classes \(background \+ 2\)/,
  );
  assert.throws(() => segmentLoss(logits, Uint8Array.from([0, 1, 2])), /segment loss: class map has 3 pixels, logits 1×2×2/);
  logits.dispose();
});

// ---------------------------------------------------------------------------------------------
// Embeddings: which cells

function level(rows: Array<[number, number, number, number, number]>): LevelTargets {
  const n = rows.length;
  return {
    count: n,
    b: Int32Array.from(rows.map((r) => r[0])),
    a: Int32Array.from(rows.map((r) => r[1])),
    gj: Int32Array.from(rows.map((r) => r[2])),
    gi: Int32Array.from(rows.map((r) => r[3])),
    gt: Int32Array.from(rows.map((r) => r[4])),
    tbox: new Float32Array(n * 4),
    anchorWh: new Float32Array(n * 2),
    cls: new Int32Array(n),
  };
}

test('positiveEmbeddingCells: one pick per distinct (cell, object) per level, unknown identities skipped', () => {
  // Rows: [b, anchor, gj, gi, gt].
  const l0 = level([
    [0, 0, 1, 2, 0],
    [0, 1, 1, 2, 0], // same cell and object through another anchor: once
    [0, 0, 1, 1, 0], // a neighbour cell of the same object: counted
    [0, 2, 1, 2, 1], // the same cell, another object: counted
    [1, 0, 3, 0, 2], // identity −1: skipped
    [1, 1, 0, 3, 3],
    [1, 2, 0, 3, 3], // duplicate again
  ]);
  const l1 = level([
    [1, 0, 1, 1, 0],
    [1, 2, 1, 1, 0],
  ]); // the same object on another level counts there once
  const grids: Array<[number, number]> = [
    [4, 4],
    [2, 2],
  ];
  const assignment = { levels: [l0, l1] } as unknown as Assignment;
  const picks = positiveEmbeddingCells(assignment, grids, Int32Array.from([5, 6, -1, 2]));
  assert.deepEqual([...picks.index[0]!], [(0 * 4 + 1) * 4 + 2, (0 * 4 + 1) * 4 + 1, (0 * 4 + 1) * 4 + 2, (1 * 4 + 0) * 4 + 3]);
  assert.deepEqual([...picks.index[1]!], [(1 * 2 + 1) * 2 + 1]);
  assert.deepEqual([...picks.identity], [5, 5, 6, 2, 5]);
  assert.deepEqual([...picks.gt], [0, 0, 1, 3, 0]);
  // Rows without an identity entry count as unknown.
  const short = positiveEmbeddingCells(assignment, grids, Int32Array.from([5]));
  assert.deepEqual([...short.identity], [5, 5, 5]);
});

test('positiveEmbeddingCells on a real assignment: fewer picks than positives, each distinct', () => {
  const strides = [8, 16, 32];
  const grids = gridsFor(64, 64, strides);
  // A 20×20 box matches all three level-0 anchors and 3 cells: 9 positives, 3 distinct cells.
  const targets = Float32Array.from([0, 0, 21, 27, 20, 20, 1, 1, 40, 40, 30, 50]);
  const a = buildTargets(targets, { anchors: DEFAULT_ANCHORS, strides, grids, batchSize: 2, nc: 2 });
  const picks = positiveEmbeddingCells(a, grids, Int32Array.from([0, 1]));
  assert.ok(picks.identity.length < a.total, `${picks.identity.length} picks for ${a.total} positives`);
  a.levels.forEach((lt, li) => {
    const distinct = new Set<string>();
    for (let k = 0; k < lt.count; k++) distinct.add(`${(lt.b[k]! * grids[li]![0] + lt.gj[k]!) * grids[li]![1] + lt.gi[k]!}:${lt.gt[k]}`);
    assert.equal(picks.index[li]!.length, distinct.size, `level ${li}`);
  });
  // The first box on level 0: 3 anchors × 3 cells = 9 positives, 3 picks with its identity.
  const l0 = a.levels[0]!;
  assert.equal(l0.gt.filter((g) => g === 0).length, 9);
  const first = [...picks.gt].filter((g, i) => g === 0 && i < picks.index[0]!.length);
  assert.equal(first.length, 3);
  const [gx, gy] = [Math.floor(21 / 8), Math.floor(27 / 8)];
  const firstIdx = [...picks.index[0]!].filter((_, i) => picks.gt[i] === 0).sort((p, q) => p - q);
  assert.deepEqual(
    firstIdx,
    [(gy - 1) * 8 + gx, gy * 8 + gx, gy * 8 + gx + 1].sort((p, q) => p - q),
  ); // up, own, right
  assert.ok(
    [...picks.identity].every((id, i) => id === picks.gt[i]),
    "identity of each pick is its box's",
  );
});

test('gtEmbeddingCells: the level whose anchors fit the box best, the cell holding its centre', () => {
  const strides = [8, 16, 32];
  const grids = gridsFor(64, 64, strides);
  const targets = Float32Array.from([
    1,
    0,
    64,
    0.5,
    120,
    100, // large → level 2 ([116, 90]); cx on the right edge → last column
    0,
    0,
    13,
    30,
    12,
    14, //     small → level 0 ([10, 13]); cell (3, 1)
    1,
    0,
    40,
    20,
    60,
    50, //     medium → level 1 ([62, 45]); cell (1, 2)
  ]);
  const picks = gtEmbeddingCells(targets, DEFAULT_ANCHORS, strides, grids, Int32Array.from([-1, 3, 4]));
  assert.deepEqual([...picks.index[0]!], [(0 * 8 + 3) * 8 + 1]);
  assert.deepEqual([...picks.index[1]!], [(1 * 4 + 1) * 4 + 2]);
  assert.deepEqual([...picks.index[2]!], [(1 * 2 + 0) * 2 + 1]);
  assert.deepEqual([...picks.gt], [1, 2, 0]);
  assert.deepEqual([...picks.identity], [3, 4, -1]);
});

// ---------------------------------------------------------------------------------------------
// Embeddings: loss

function embedMaps(rng: Rng, b = 2, e = 8): tf.Tensor4D[] {
  return [
    [4, 4],
    [2, 2],
  ].map(([h, w]) => tf.tensor4d(rng.normalArray(b * h! * w! * e), [b, h!, w!, e]));
}

const PICKS: EmbeddingPicks = {
  index: [Int32Array.from([0, 5, 17, 30]), Int32Array.from([3, 6])],
  identity: Int32Array.from([0, 3, 3, 6, 1, 0]),
  gt: Int32Array.from([0, 1, 1, 2, 3, 0]),
};

test('embedLoss: a zero classifier gives ln(nID); gather picks the right rows', () => {
  const rng = new Rng(3);
  const maps = embedMaps(rng);
  const clf = new IdentityClassifier(8, 7, rng);
  assert.ok(Math.abs(clf.scale - Math.SQRT2 * Math.log(6)) < 1e-12);
  clf.weight.assign(tf.zeros([8, 7]));
  close(
    value(() => embedLoss(maps, PICKS, clf)),
    Math.log(7),
  );
  // The bias alone: logits = b for every pick → CE = logsumexp(b) − mean b[id].
  const bias = [0.5, -1, 0, 2, 0.1, 0.3, -0.7];
  clf.bias.assign(tf.tensor1d(bias));
  const lse = Math.log(bias.reduce((s, v) => s + Math.exp(v), 0));
  const want = PICKS.identity.reduce((s, id) => s + lse - bias[id]!, 0) / PICKS.identity.length;
  close(
    value(() => embedLoss(maps, PICKS, clf)),
    want,
  );
  tf.tidy(() => {
    const g = gatherEmbeddings(maps, PICKS);
    assert.deepEqual(g.shape, [6, 8]);
    const m0 = maps[0]!.dataSync();
    const m1 = maps[1]!.dataSync();
    const rows = g.arraySync();
    assert.deepEqual(rows[2], Array.from(m0.slice(17 * 8, 18 * 8)));
    assert.deepEqual(rows[5], Array.from(m1.slice(6 * 8, 7 * 8)));
  });
  // No picks: 0, still connected to the maps.
  const none: EmbeddingPicks = { index: [new Int32Array(0), new Int32Array(0)], identity: new Int32Array(0), gt: new Int32Array(0) };
  close(
    value(() => embedLoss(maps, none, clf)),
    0,
    0,
  );
  const g = tf.tidy(() => tf.grad((m: tf.Tensor) => embedLoss([m as tf.Tensor4D, maps[1]!], none, clf))(maps[0]!));
  assert.deepEqual(g.shape, maps[0]!.shape);
  g.dispose();
  // Identities beyond the classifier: a clear error.
  const bad: EmbeddingPicks = { ...PICKS, identity: Int32Array.from([0, 1, 2, 7, 0, 0]) };
  assert.throws(() => tf.tidy(() => embedLoss(maps, bad, clf)), /embed loss: identity 7 but the classifier knows 7 identities/);
  tf.dispose(maps);
  clf.dispose();
});

// ---------------------------------------------------------------------------------------------
// Gradients against central finite differences (cpu reference backend)

/**
 * ∂f/∂v from tf.variableGrads against central differences on a few sampled entries of each variable;
 * returns ‖numeric − analytic‖ / max(‖numeric‖, ‖analytic‖, 1e-3) over all samples.
 */
function variableFiniteDifference(f: () => tf.Scalar, vars: tf.Variable[], rng: Rng, samples = 8, eps = 1e-2): number {
  const { grads, value: v } = tf.variableGrads(f, vars);
  v.dispose();
  let num2 = 0;
  let ana2 = 0;
  let diff2 = 0;
  for (const variable of vars) {
    const analytic = grads[variable.name]!.dataSync() as Float32Array;
    const base = Float32Array.from(variable.dataSync() as Float32Array);
    const at = (k: number, x: number): number => {
      const vals = Float32Array.from(base);
      vals[k] = x;
      variable.assign(tf.tensor(vals, variable.shape));
      return value(f);
    };
    const picks = new Set<number>();
    while (picks.size < Math.min(samples, base.length)) picks.add(rng.int(0, base.length - 1));
    for (const k of picks) {
      const hi = Math.fround(base[k]! + eps);
      const lo = Math.fround(base[k]! - eps);
      const numeric = (at(k, hi) - at(k, lo)) / (hi - lo);
      const a = analytic[k]!;
      num2 += numeric * numeric;
      ana2 += a * a;
      diff2 += (numeric - a) ** 2;
    }
    variable.assign(tf.tensor(base, variable.shape));
  }
  tf.dispose(Object.values(grads));
  return Math.sqrt(diff2) / Math.max(Math.sqrt(num2), Math.sqrt(ana2), 1e-3);
}

const GRAD_TOL = 2e-2;

test('gradients: classifyLoss and segmentLoss (with and without Dice) match finite differences', async () => {
  await onCpu(() => {
    const rng = new Rng(21);
    const targets = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const e1 = finiteDifferenceCheck(
      { name: 'classify', detail: '', shapes: [[3, 4]], fn: (x) => classifyLoss(x as tf.Tensor2D, targets), samples: 8 },
      rng,
    );
    assert.ok(e1 < GRAD_TOL, `classifyLoss gradient error ${e1}`);
    const k = 4;
    // Every class present, so the set of classes Dice averages over is fixed under the finite steps.
    const semantic = Uint8Array.from({ length: 2 * 5 * 5 }, (_, i) => (i * 5 + (i >> 3)) % k);
    for (const dice of [0, 0.5]) {
      const e2 = finiteDifferenceCheck(
        {
          name: 'segment',
          detail: '',
          shapes: [[2, 5, 5, k]],
          samples: 12,
          fn: (x) => segmentLoss(x as tf.Tensor4D, semantic, { dice }),
        },
        rng,
      );
      assert.ok(e2 < GRAD_TOL, `segmentLoss (dice ${dice}) gradient error ${e2}`);
    }
    // Through bilinear upsampling without half-pixel centres (tfjs's gradient is right for this mode).
    const up = Uint8Array.from({ length: 2 * 6 * 6 }, (_, i) => (i * 7 + (i >> 2)) % k);
    const e3 = finiteDifferenceCheck(
      {
        name: 'segment-up',
        detail: '',
        shapes: [[2, 3, 3, k]],
        samples: 10,
        fn: (x) => segmentLoss(tf.image.resizeBilinear(x as tf.Tensor4D, [6, 6], false, false), up, { dice: 0.5 }),
      },
      rng,
    );
    assert.ok(e3 < GRAD_TOL, `segmentLoss through resizeBilinear gradient error ${e3}`);
  });
});

test('the Dice term differentiates on wasm too (argmax mask carries no gradient)', () => {
  const semantic = Uint8Array.from({ length: 2 * 4 * 4 }, (_, i) => i % 3);
  const logits = tf.tensor4d(new Rng(4).normalArray(2 * 4 * 4 * 5), [2, 4, 4, 5]);
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => segmentLoss(x as tf.Tensor4D, semantic, { dice: 1 }))(logits));
  assert.deepEqual(g.shape, logits.shape);
  assert.ok(tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0]) === 1);
  tf.dispose([g, logits]);
});

test("the segment head's upsampling (half-pixel centres) equals resizeBilinear and backpropagates the true gradient", async () => {
  await onCpu(() => {
    const semantic = Uint8Array.from({ length: 2 * 6 * 6 }, (_, i) => (i * 7 + (i >> 2)) % 4);
    const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const ours = resizeBilinearHalfPixel(x, [6, 6]);
    const ref = tf.image.resizeBilinear(x, [6, 6], false, true);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0]!) < 1e-5, 'forward values equal tf.image.resizeBilinear');
    // Non-integer factors too (7 → 16, 5 → 3).
    const y = tf.randomNormal([1, 7, 5, 2], 0, 1, 'float32', 6) as tf.Tensor4D;
    const d = tf.tidy(
      () => tf.max(tf.abs(tf.sub(resizeBilinearHalfPixel(y, [16, 3]), tf.image.resizeBilinear(y, [16, 3], false, true)))).dataSync()[0]!,
    );
    assert.ok(d < 1e-5, `non-integer factors: ${d}`);
    tf.dispose([x, ours, ref, y]);
    const err = finiteDifferenceCheck(
      {
        name: 'segment-head-up',
        detail: '',
        shapes: [[2, 3, 3, 4]],
        samples: 10,
        fn: (v) => segmentLoss(resizeBilinearHalfPixel(v as tf.Tensor4D, [6, 6]), semantic),
      },
      new Rng(23),
    );
    assert.ok(err < GRAD_TOL, `gradient error ${err} through the half-pixel bilinear upsampling`);
  });
});

test('gradients: embedLoss with respect to the embedding maps and the classifier weights', async () => {
  await onCpu(() => {
    const rng = new Rng(22);
    const maps = embedMaps(rng).map((m) => tf.variable(m));
    const clf = new IdentityClassifier(8, 7, rng);
    clf.bias.assign(tf.tensor1d(rng.normalArray(7, 0.3)));
    const f = () => embedLoss(maps as tf.Tensor4D[], PICKS, clf);
    const err = variableFiniteDifference(f, [...maps, clf.weight, clf.bias], rng, 10);
    assert.ok(err < GRAD_TOL, `embedLoss gradient error ${err}`);
    // Only picked cells receive a gradient.
    const { grads, value: v } = tf.variableGrads(f, [maps[0]!]);
    const g0 = grads[maps[0]!.name]!.reshape([32, 8]).arraySync() as number[][];
    g0.forEach((row, r) => {
      const picked = PICKS.index[0]!.includes(r);
      assert.equal(
        row.some((x) => x !== 0),
        picked,
        `row ${r}`,
      );
    });
    tf.dispose([v, ...Object.values(grads)]);
    tf.dispose(maps);
    clf.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// Uncertainty weighting

function logVar(m: { parameters(): Array<{ name: string; variable: tf.Variable }> }, t: TaskName): tf.Variable {
  const p = m.parameters().find((q) => q.name.endsWith(`log_var_${t}`));
  assert.ok(p, `log_var_${t}`);
  return p.variable;
}

test('TaskBalance: ½·exp(−s)·L + ½·s, its gradients, weights and fold', () => {
  const tb = new TaskBalance(['detect', 'segment']);
  assert.deepEqual(tb.weights(), { detect: 0.5, segment: 0.5 });
  const s = logVar(tb, 'segment');
  assert.equal(s.trainable, true);
  for (const [sv, L] of [
    [0, 2],
    [0.7, 3],
    [-1.2, 0.4],
  ] as const) {
    s.assign(tf.scalar(sv));
    close(
      value(() => tb.weigh('segment', tf.scalar(L))),
      0.5 * Math.exp(-sv) * L + 0.5 * sv,
    );
    const { grads, value: v } = tf.variableGrads(() => tb.weigh('segment', tf.scalar(L)), [s]);
    close(grads[s.name]!.dataSync()[0]!, 0.5 * (1 - Math.exp(-sv) * L), 1e-5, `∂/∂s at s=${sv}, L=${L}`);
    tf.dispose([v, ...Object.values(grads)]);
    const gL = tf.tidy(
      () =>
        tf
          .grad((l: tf.Tensor) => tb.weigh('segment', l as tf.Scalar))(tf.scalar(L))
          .dataSync()[0]!,
    );
    close(gL, 0.5 * Math.exp(-sv));
    close(tb.weights().segment!, 0.5 * Math.exp(-sv));
  }
  // The optimum of ½e^{−s}L + ½s is s = ln L.
  s.assign(tf.scalar(Math.log(3)));
  const { grads, value: v } = tf.variableGrads(() => tb.weigh('segment', tf.scalar(3)), [s]);
  close(grads[s.name]!.dataSync()[0]!, 0, 1e-6);
  tf.dispose([v, ...Object.values(grads)]);
  assert.throws(() => tb.weigh('embed', tf.scalar(1)), /TaskBalance: no weight for task 'embed' \(tasks: detect, segment\)/);
  const report = newFuseReport();
  tb.fuseInPlace(report);
  assert.equal(report.folded.length, 1);
  assert.match(report.folded[0]!, /dropped \(loss weighting, used in training only\)/);
  tb.dispose();
});

// ---------------------------------------------------------------------------------------------
// The multi-task loss on a tiny model

const IMGSZ = 64;

function tinyConfig(overrides: Record<string, unknown> = {}): ModelConfig {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  return parseModelConfig(
    {
      ...raw,
      name: 'tiny-mt',
      nc: 3,
      width_multiple: 0.125,
      depth_multiple: 0.33,
      imgsz: IMGSZ,
      tasks: ['detect', 'classify', 'segment', 'embed'],
      num_labels: 5,
      num_identities: 7,
      embed_dim: 8,
      task_implicit: 'add',
      ...overrides,
    },
    'test',
  );
}

function tinyBatch(): { x: tf.Tensor4D; batch: TaskBatch } {
  const B = 2;
  const targets = Float32Array.from([0, 0, 20, 20, 16, 24, 0, 2, 44, 40, 30, 20, 1, 1, 32, 32, 40, 40, 1, 0, 10, 52, 12, 12]);
  const labels = Float32Array.from([1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
  const semantic = new Uint8Array(B * IMGSZ * IMGSZ);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < IMGSZ; y++) {
      for (let x = 0; x < IMGSZ; x++) semantic[(b * IMGSZ + y) * IMGSZ + x] = x < 16 ? 0 : 1 + ((x + y + b) % 3);
    }
  }
  const identity = Int32Array.from([0, 4, -1, 6]);
  const x = tf.tensor4d(new Rng(8).normalArray(B * IMGSZ * IMGSZ * 3), [B, IMGSZ, IMGSZ, 3]);
  return { x, batch: { shape: [B, IMGSZ, IMGSZ, 3], targets, labels, semantic, identity } };
}

test('multiTaskLoss: every task reported, total = B·Σ w_T·L_T with the default weights', () => {
  const model = new Detector(tinyConfig(), 6);
  const { x, batch } = tinyBatch();
  const items = scoped(() => multiTaskLoss(model, model.forwardTasks(x), batch).items);
  for (const k of ['box', 'obj', 'cls', 'classify', 'segment', 'embed', 'total'] as const) {
    assert.ok(Number.isFinite(items[k]) && items[k]! > 0, `${k} = ${items[k]}`);
  }
  const w = DEFAULT_TASK_WEIGHTS;
  const want =
    2 * (w.detect * (items.box + items.obj + items.cls) + w.classify * items.classify! + w.segment * items.segment! + w.embed * items.embed!);
  close(items.total, want, 1e-5, 'total');
  // Custom weights (a zero weight removes the task from the total but not from the report), and Dice.
  const custom = scoped(() => multiTaskLoss(model, model.forwardTasks(x), batch, { weights: { segment: 0, embed: 2 }, dice: 0.5 }).items);
  close(custom.total, 2 * (custom.box + custom.obj + custom.cls + custom.classify! + 2 * custom.embed!), 1e-5, 'custom total');
  assert.ok(custom.segment! > items.segment!, 'Dice adds to the segment loss');
  // The embed task's identity classifier sees 7 identities at the start: the loss is near ln 7.
  assert.ok(Math.abs(items.embed! - Math.log(7)) < 1.5, `embed ${items.embed}`);
  x.dispose();
  model.dispose();
});

test('multiTaskLoss: uncertainty weighting uses the learned log-variances', () => {
  const model = new Detector(tinyConfig({ task_weighting: 'uncertainty' }), 6);
  assert.ok(model.taskBalance);
  const s: Partial<Record<TaskName, number>> = { detect: 0.3, classify: -0.2, segment: 0.5, embed: 1 };
  for (const t of model.tasks) logVar(model, t).assign(tf.scalar(s[t]!));
  const { x, batch } = tinyBatch();
  model.eval(); // the same outputs in both passes below
  let items = null as unknown as ReturnType<typeof multiTaskLoss>['items'];
  const vars = model.tasks.map((t) => logVar(model, t));
  const { grads, value: v } = tf.variableGrads(() => {
    const l = multiTaskLoss(model, model.forwardTasks(x), batch);
    items = l.items;
    return l.total;
  }, vars);
  const L: Partial<Record<TaskName, number>> = {
    detect: items.box! + items.obj! + items.cls!,
    classify: items.classify!,
    segment: items.segment!,
    embed: items.embed!,
  };
  const want = 2 * model.tasks.reduce((sum, t) => sum + 0.5 * Math.exp(-s[t]!) * L[t]! + 0.5 * s[t]!, 0);
  close(items.total, want, 1e-5, 'uncertainty total');
  close(v.dataSync()[0]!, want, 1e-5, 'returned scalar');
  // ∂total/∂s_T = B·½(1 − e^{−s_T}·L_T).
  model.tasks.forEach((t, i) => {
    close(grads[vars[i]!.name]!.dataSync()[0]!, 2 * 0.5 * (1 - Math.exp(-s[t]!) * L[t]!), 1e-4, `∂/∂s_${t}`);
  });
  tf.dispose([v, ...Object.values(grads)]);
  x.dispose();
  model.dispose();
});

test("multiTaskLoss: a batch without a task's labels is a clear error naming the task", () => {
  const model = new Detector(tinyConfig(), 6);
  const { x, batch } = tinyBatch();
  scoped(() => {
    const out = model.forwardTasks(x);
    assert.throws(() => multiTaskLoss(model, out, { ...batch, labels: undefined }), /the classify task needs image-level labels in every batch/);
    assert.throws(() => multiTaskLoss(model, out, { ...batch, semantic: undefined }), /the segment task needs class maps/);
    assert.throws(() => multiTaskLoss(model, out, { ...batch, identity: undefined }), /the embed task needs identity ids/);
    // Embeddings are taken at detection cells: a model config with embed but without detect is refused.
    assert.throws(() => tinyConfig({ tasks: ['embed'] }), /lists embed without detect/);
    // Detection alone: total is B·(box + obj + cls), no other items.
    const det = multiTaskLoss(model, { detect: out.detect! }, { shape: batch.shape, targets: batch.targets }).items;
    assert.equal(det.classify, undefined);
    close(det.total, 2 * (det.box + det.obj + det.cls));
  });
  x.dispose();
  model.dispose();
});

// ---------------------------------------------------------------------------------------------
// Task lists, weights and dataset labels

test('checkTaskLabels: segment needs masks, embed needs identities; errors name the task and the source', () => {
  const bare = { attributes: [], masks: false, numIdentities: 0 };
  assert.doesNotThrow(() => checkTaskLabels(['detect', 'classify'], bare, 'data/voc.yaml'));
  assert.throws(
    () => checkTaskLabels(['detect', 'segment'], bare, 'data/voc.yaml'),
    /^Error: data\/voc\.yaml: the segment task needs per-instance masks, and this dataset has none/,
  );
  assert.throws(
    () => checkTaskLabels(['detect', 'embed'], { ...bare, masks: true }, 'coco'),
    /^Error: coco: the embed task needs per-object identity ids, and this dataset has none/,
  );
  assert.throws(() => checkTaskLabels(['embed'], { ...bare, numIdentities: 1 }, 'x'), /x: the embed task needs .* has only one identity/);
  assert.doesNotThrow(() =>
    checkTaskLabels(['detect', 'classify', 'segment', 'embed'], { attributes: ['red'], masks: true, numIdentities: 2 }, 'shapes'),
  );
});

test('datasetLabelInfo: masks from the records, identities and attributes from the dataset', () => {
  assert.deepEqual(datasetLabelInfo({ splits: { train: [], val: [{ rle: [] }] }, attributes: ['red'], numIdentities: 3 }), {
    attributes: ['red'],
    masks: true,
    numIdentities: 3,
  });
  assert.deepEqual(datasetLabelInfo({ splits: { train: [{ boxes: [] }] } }), { attributes: [], masks: false, numIdentities: 0 });
  assert.deepEqual(datasetLabelInfo({ splits: {} }), { attributes: [], masks: false, numIdentities: 0 });
});

test('parseTaskList: canonical order; unknown and empty lists are errors', () => {
  assert.deepEqual(parseTaskList('segment, detect'), ['detect', 'segment']);
  assert.deepEqual(parseTaskList('embed,classify,,detect,segment'), ['detect', 'classify', 'segment', 'embed']);
  assert.deepEqual(parseTaskList(['classify']), ['classify']);
  assert.throws(() => parseTaskList('detect,track'), /--tasks: unknown task 'track' \(known: detect, classify, segment, embed, count\)/);
  assert.throws(() => parseTaskList(' , '), /--tasks: give at least one of/);
  assert.throws(() => parseTaskList([]), /--tasks: give at least one of/);
  assert.equal(isMultiTask(['detect']), false);
  assert.equal(isMultiTask(['classify']), true);
  assert.equal(isMultiTask(['detect', 'embed']), true);
});

test('parseTaskWeights: task=weight pairs; malformed entries are errors', () => {
  assert.deepEqual(parseTaskWeights(undefined), {});
  assert.deepEqual(parseTaskWeights(''), {});
  assert.deepEqual(parseTaskWeights('segment=0.5, embed=0.1'), { segment: 0.5, embed: 0.1 });
  assert.deepEqual(parseTaskWeights('detect=0,detect=2'), { detect: 2 });
  for (const bad of ['segment', 'track=1', 'segment=-1', 'segment=abc', 'segment=', '=1', 'segment=1=2', 'segment=Infinity']) {
    assert.throws(() => parseTaskWeights(bad), /--task-weights: '.*' is not task=weight/, bad);
  }
});
