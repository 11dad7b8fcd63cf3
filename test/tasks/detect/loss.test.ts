/** IoU variants and the detection loss: values, gradients, training signal. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/engine/backend.js';
import { finiteDifferenceCheck, type GradientCase } from '../../../src/engine/check.js';
import { type Assignment, type AssignRule, buildTargets, gridsFor } from '../../../src/tasks/detect/assign.js';
import { type BboxIouOptions, bboxIou, ciouAlpha, type IouKind, stopGradient } from '../../../src/tasks/detect/bbox-iou.js';
import {
  bceWithLogits,
  classTargets,
  DEFAULT_DETECTION_HYP,
  type DetectionHyp,
  detectionLoss,
  scaleDetectionHyp,
  smoothBce,
} from '../../../src/tasks/detect/loss.js';
import { Rng } from '../../../src/util/rng.js';
import { scoped } from '../../helpers/scope.js';

const TOL = 1e-2;

before(async () => {
  await initBackend('wasm');
});

function iouOf(b1: number[], b2: number[], opts: BboxIouOptions): number {
  return tf.tidy(() => bboxIou(tf.tensor2d(b1, [1, 4]), tf.tensor2d(b2, [1, 4]), opts).dataSync()[0]!);
}

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const KINDS: IouKind[] = ['iou', 'giou', 'diou', 'ciou'];

// ---------------------------------------------------------------------------------------------
// bboxIou

test('bboxIou: identical boxes give 1 for every kind and format', () => {
  for (const kind of KINDS) {
    close(iouOf([3, 4, 2, 5], [3, 4, 2, 5], { kind }), 1);
    close(iouOf([1, 1, 3, 6], [1, 1, 3, 6], { kind, format: 'xyxy' }), 1);
  }
});

test('bboxIou: hand values for overlapping, nested and disjoint boxes', () => {
  // Overlap: [0,0,2,2] and [1,1,3,3]: inter 1, union 7, enclosing 3×3, centres √2 apart, diagonal² 18.
  const a = [0, 0, 2, 2];
  const b = [1, 1, 3, 3];
  close(iouOf(a, b, { kind: 'iou', format: 'xyxy' }), 1 / 7);
  close(iouOf(a, b, { kind: 'giou', format: 'xyxy' }), 1 / 7 - 2 / 9);
  close(iouOf(a, b, { kind: 'diou', format: 'xyxy' }), 1 / 7 - 2 / 18);
  close(iouOf(a, b, { kind: 'ciou', format: 'xyxy' }), 1 / 7 - 2 / 18); // equal aspect: v = 0
  // The same boxes as xywh.
  close(iouOf([1, 1, 2, 2], [2, 2, 2, 2], { kind: 'giou' }), 1 / 7 - 2 / 9);
  // Disjoint: [0,0,1,1] and [2,0,3,1]: IoU 0, union 2, enclosing 3 → GIoU −1/3; ρ² = 4, c² = 10 → DIoU −0.4.
  close(iouOf([0, 0, 1, 1], [2, 0, 3, 1], { kind: 'iou', format: 'xyxy' }), 0);
  close(iouOf([0, 0, 1, 1], [2, 0, 3, 1], { kind: 'giou', format: 'xyxy' }), -1 / 3);
  close(iouOf([0, 0, 1, 1], [2, 0, 3, 1], { kind: 'diou', format: 'xyxy' }), -0.4);
  close(iouOf([0, 0, 1, 1], [2, 0, 3, 1], { kind: 'ciou', format: 'xyxy' }), -0.4);
  // Nested, different aspect: 2×1 and 1×1 with one centre: IoU ½, ρ = 0, v = 4/π²(atan 1 − atan 2)².
  const v = (4 / Math.PI ** 2) * (Math.atan(1) - Math.atan(2)) ** 2;
  const alpha = v / (v - 0.5 + 1);
  close(iouOf([0, 0, 2, 1], [0, 0, 1, 1], { kind: 'diou' }), 0.5);
  close(iouOf([0, 0, 2, 1], [0, 0, 1, 1], { kind: 'ciou' }), 0.5 - alpha * v);
  close(
    tf.tidy(() => ciouAlpha(tf.tensor2d([0, 0, 2, 1], [1, 4]), tf.tensor2d([0, 0, 1, 1], [1, 4])).dataSync()[0]!),
    alpha,
  );
});

test('bboxIou: elementwise over [N, 4] and rejects bad shapes and options', () => {
  const out = tf.tidy(() =>
    Array.from(
      bboxIou(
        tf.tensor2d([
          [0, 0, 1, 1],
          [0, 0, 2, 2],
        ]),
        tf.tensor2d([
          [0, 0, 1, 1],
          [1, 1, 3, 3],
        ]),
        { format: 'xyxy' },
      ).dataSync(),
    ),
  );
  close(out[0]!, 1);
  close(out[1]!, 1 / 7);
  assert.throws(() => bboxIou(tf.zeros([2, 3]), tf.zeros([2, 3])), /4 values/);
  assert.throws(() => bboxIou(tf.zeros([2, 4]), tf.zeros([2, 4]), { kind: 'eiou' as IouKind }), /unknown kind/);
});

test('stopGradient passes values and blocks gradients', () => {
  const [g] = tf.grads((x: tf.Tensor) => tf.sum(tf.add(tf.square(x), stopGradient(tf.mul(x, 5)))))([tf.tensor1d([1, 2])]);
  assert.deepEqual(Array.from(g!.dataSync()), [2, 4]);
  close(
    tf.tidy(() => stopGradient(tf.tensor1d([3])).dataSync()[0]!),
    3,
  );
});

/** N random xywh boxes (positive sizes) and a second set overlapping them. */
function boxPairs(rng: Rng, n: number): [Float32Array, Float32Array] {
  const p = new Float32Array(4 * n);
  const q = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const w = 1 + 3 * rng.next();
    const h = 1 + 3 * rng.next();
    q.set([4 * rng.next(), 4 * rng.next(), w, h], 4 * i);
    p.set([q[4 * i]! + 0.6 * rng.normal(), q[4 * i + 1]! + 0.6 * rng.normal(), w * (0.6 + 0.8 * rng.next()), h * (0.6 + 0.8 * rng.next())], 4 * i);
  }
  return [p, q];
}

for (const kind of ['iou', 'giou', 'diou'] as const) {
  test(`bboxIou ${kind}: gradient w.r.t. the predicted boxes matches finite differences`, (ctx) => {
    const rng = new Rng(11);
    const [p, q] = boxPairs(rng, 12);
    const qt = tf.tensor2d(q, [12, 4]);
    const gc: GradientCase = {
      name: kind,
      detail: '12 boxes',
      shapes: [[12, 4]],
      eps: 1e-3,
      samples: 48,
      init: () => p.slice(),
      fn: (x) => bboxIou(x, qt, { kind }),
    };
    const err = finiteDifferenceCheck(gc, rng);
    assert.ok(err < TOL, `${kind} relative error ${err}`);
    // Also in both boxes at once, as xyxy.
    const gc2: GradientCase = {
      name: kind,
      detail: 'both, xyxy',
      shapes: [
        [12, 4],
        [12, 4],
      ],
      eps: 1e-3,
      samples: 48,
      init: (_r, i) => {
        const b = i === 0 ? p : q;
        const o = new Float32Array(b.length);
        for (let k = 0; k < 12; k++) {
          const [cx, cy, w, h] = b.subarray(4 * k, 4 * k + 4);
          o.set([cx! - w! / 2, cy! - h! / 2, cx! + w! / 2, cy! + h! / 2], 4 * k);
        }
        return o;
      },
      fn: (x, y) => bboxIou(x, y!, { kind, format: 'xyxy' }),
    };
    const err2 = finiteDifferenceCheck(gc2, rng);
    assert.ok(err2 < TOL, `${kind} (both boxes) relative error ${err2}`);
    ctx.diagnostic(`relative error: predicted ${err.toExponential(2)}, both xyxy ${err2.toExponential(2)}`);
    qt.dispose();
  });
}

test('bboxIou ciou: gradient with α held constant (as YOLOv5) matches finite differences', (ctx) => {
  const rng = new Rng(12);
  const [p, q] = boxPairs(rng, 12);
  const qt = tf.tensor2d(q, [12, 4]);
  const pt = tf.tensor2d(p, [12, 4]);
  // α at the sampled boxes, frozen: the function whose finite differences the default gradient must match.
  const alpha = ciouAlpha(pt, qt);
  const gc: GradientCase = {
    name: 'ciou',
    detail: '12 boxes, fixed α',
    shapes: [[12, 4]],
    eps: 1e-3,
    samples: 48,
    init: () => p.slice(),
    fn: (x) => bboxIou(x, qt, { kind: 'ciou', alpha }),
  };
  const err = finiteDifferenceCheck(gc, rng);
  assert.ok(err < TOL, `ciou relative error ${err}`);
  // The default (α computed, detached) has the same gradient at those boxes …
  const r = tf.tensor1d(rng.normalArray(12));
  const gradOf = (opts: BboxIouOptions) => {
    const [g] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(bboxIou(x, qt, opts), r)))([pt]);
    const v = g!.dataSync().slice();
    g!.dispose();
    return v;
  };
  const detached = gradOf({ kind: 'ciou' });
  const frozen = gradOf({ kind: 'ciou', alpha });
  for (let i = 0; i < detached.length; i++) close(detached[i]!, frozen[i]!, 1e-5);
  // … and it differs from the full derivative (α not detached), so α really is a constant.
  const full = finiteDifferenceCheck({ ...gc, fn: (x) => bboxIou(x, qt, { kind: 'ciou' }) }, new Rng(12));
  assert.ok(full > 10 * err, `detached α: ${full} vs ${err}`);
  ctx.diagnostic(`relative error ${err.toExponential(2)} (against full derivative incl. dα: ${full.toExponential(2)})`);
  tf.dispose([qt, pt, alpha, r]);
});

// ---------------------------------------------------------------------------------------------
// detection loss

const STRIDES = [8, 16];
const ANCHORS: Array<Array<[number, number]>> = [
  [
    [8, 8],
    [24, 24],
  ],
  [
    [32, 32],
    [64, 64],
  ],
];
const IMG = 64;
const NC = 3;
const NO = 5 + NC;
const NA = 2;

function assign(table: number[][], rule: AssignRule, img = IMG, B = 2): Assignment {
  return buildTargets(Float32Array.from(table.flat()), {
    anchors: ANCHORS,
    strides: STRIDES,
    grids: gridsFor(img, img, STRIDES),
    rule,
    batchSize: B,
    nc: NC,
  });
}

const logit = (p: number) => Math.log(p / (1 - p));

/** Flat index of positive k of level l in the map reshaped to [B·ny·nx·na, no]. */
function flatIndex(t: Assignment, l: number, k: number): number {
  const lt = t.levels[l]!;
  const [ny, nx] = t.grids[l]!;
  return ((lt.b[k]! * ny + lt.gj[k]!) * nx + lt.gi[k]!) * NA + lt.a[k]!;
}

/** Raw maps whose decode equals every positive's target box, with objectness/class logits ±L. */
function perfectMaps(t: Assignment, B: number, L = 12): Float32Array[] {
  return t.grids.map(([ny, nx], l) => {
    const m = new Float32Array(B * ny * nx * NA * NO);
    for (let i = 0; i < m.length / NO; i++) m[i * NO + 4] = -L;
    const lt = t.levels[l]!;
    const seen = new Set<number>();
    for (let k = 0; k < lt.count; k++) {
      const f = flatIndex(t, l, k);
      assert.ok(!seen.has(f), 'the hand targets must not share an anchor of a cell');
      seen.add(f);
      const [x, y, w, h] = lt.tbox.subarray(4 * k, 4 * k + 4);
      const [aw, ah] = lt.anchorWh.subarray(2 * k, 2 * k + 2);
      const o = f * NO;
      if (t.rule === 'v5') {
        m.set([logit((x! + 0.5) / 2), logit((y! + 0.5) / 2), logit(Math.sqrt(w! / aw!) / 2), logit(Math.sqrt(h! / ah!) / 2)], o);
      } else {
        m.set([logit(x!), logit(y!), Math.log(w! / aw!), Math.log(h! / ah!)], o);
      }
      m[o + 4] = L;
      for (let c = 0; c < NC; c++) m[o + 5 + c] = c === lt.cls[k] ? L : -L;
    }
    return m;
  });
}

const TABLE = [
  [0, 1, 21, 27, 10, 12],
  [1, 2, 44, 13, 40, 30],
  [1, 0, 53, 50, 14, 9],
];

function lossOf(maps: Float32Array[], t: Assignment, hyp: Partial<DetectionHyp> = {}, B = 2) {
  return scoped(() => {
    const ms = maps.map((m, l) => tf.tensor4d(m, [B, t.grids[l]![0], t.grids[l]![1], NA * NO]));
    const r = detectionLoss(ms, t, ANCHORS, STRIDES, NC, hyp);
    return r.items;
  });
}

for (const rule of ['v5', 'v3'] as const) {
  test(`detectionLoss (${rule}): perfect predictions give ≈ 0 box loss and small obj/cls loss; a shift raises the box loss`, () => {
    const t = assign(TABLE, rule);
    assert.ok(t.total >= 3);
    const maps = perfectMaps(t, 2);
    for (const boxLoss of ['ciou', 'giou', 'diou', 'iou', 'mse'] as const) {
      const items = lossOf(maps, t, { boxLoss });
      assert.ok(items.box < 1e-5, `${rule} ${boxLoss}: box ${items.box}`);
      assert.ok(items.obj < 1e-3, `${rule} ${boxLoss}: obj ${items.obj}`);
      assert.ok(items.cls < 1e-4, `${rule} ${boxLoss}: cls ${items.cls}`);
      close(items.total, 2 * (items.box + items.obj + items.cls), 1e-6);
      assert.equal(items.positives, t.total);
      close(items.meanIou, 1, 1e-4);
    }
    const base = lossOf(maps, t);
    // Shift one positive's x by changing its tx logit.
    const shifted = maps.map((m) => m.slice());
    const o = flatIndex(t, 0, 0) * NO;
    shifted[0]![o] = shifted[0]![o]! + 1;
    for (const boxLoss of ['ciou', 'giou', 'diou', 'iou', 'mse'] as const) {
      const perfect = lossOf(maps, t, { boxLoss, box: 1 });
      const items = lossOf(shifted, t, { boxLoss, box: 1 });
      assert.ok(items.box > 1e-3 && items.box > 100 * perfect.box, `${rule} ${boxLoss}: shifted box ${items.box}`);
    }
    // The objectness target follows the now smaller IoU, so obj grows too.
    assert.ok(lossOf(shifted, t).obj > base.obj);
  });
}

test('detectionLoss: components carry their gains; total is batch size × their sum', () => {
  const t = assign(TABLE, 'v5');
  const rng = new Rng(3);
  const maps = t.grids.map(([ny, nx]) => rng.normalArray(2 * ny * nx * NA * NO));
  const unit = lossOf(maps, t, { box: 1, obj: 1, cls: 1 });
  const def = lossOf(maps, t);
  close(def.box, unit.box * DEFAULT_DETECTION_HYP.box, 1e-6);
  close(def.obj, unit.obj * DEFAULT_DETECTION_HYP.obj, 1e-6);
  close(def.cls, unit.cls * DEFAULT_DETECTION_HYP.cls, 1e-6);
  close(def.total, 2 * (def.box + def.obj + def.cls), 1e-5);
  // Objectness: balance-weighted per-level means.
  close(unit.obj, 4 * unit.levels[0]!.obj + 1 * unit.levels[1]!.obj, 1e-5);
  // nc = 1 has no class loss.
  const one = buildTargets(Float32Array.from([0, 0, 21, 27, 10, 12]), { anchors: ANCHORS, strides: STRIDES, grids: gridsFor(IMG, IMG, STRIDES) });
  const r = scoped(
    () =>
      detectionLoss(
        one.grids.map(([ny, nx]) => tf.randomNormal([1, ny, nx, NA * 6], 0, 1, 'float32', 1) as tf.Tensor4D),
        one,
        ANCHORS,
        STRIDES,
        1,
      ).items,
  );
  assert.equal(r.cls, 0);
  assert.ok(r.box > 0 && r.obj > 0);
  // No targets at all: only objectness.
  const none = assign([], 'v5');
  const e = lossOf(maps, none);
  assert.equal(e.box, 0);
  assert.equal(e.cls, 0);
  assert.ok(e.obj > 0);
  assert.ok(Number.isNaN(e.meanIou));
});

test('detectionLoss: mismatched maps, anchors or hyp are refused', () => {
  const t = assign(TABLE, 'v5');
  const ok = t.grids.map(([ny, nx]) => tf.zeros([2, ny, nx, NA * NO]) as tf.Tensor4D);
  assert.throws(() => detectionLoss(ok, t, ANCHORS, STRIDES, 4), /channels/);
  assert.throws(() => detectionLoss([ok[0]!], t, ANCHORS, STRIDES, NC), /maps/);
  assert.throws(
    () =>
      detectionLoss(
        ok,
        t,
        [
          [
            [8, 8],
            [25, 24],
          ],
          ANCHORS[1]!,
        ],
        STRIDES,
        NC,
      ),
    /anchors differ/,
  );
  const small = [tf.zeros([2, 4, 4, NA * NO]) as tf.Tensor4D, ok[1]!];
  assert.throws(() => detectionLoss(small, t, ANCHORS, STRIDES, NC), /built for 8x8/);
  const b1 = ok.map((m) => tf.slice(m, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
  assert.throws(() => detectionLoss(b1, t, ANCHORS, STRIDES, NC), /image index 1 outside the batch of 1/);
  assert.throws(() => detectionLoss(ok, t, ANCHORS, STRIDES, NC, { boxLoss: 'l1' as never }), /unknown box loss/);
  tf.dispose([...ok, ...small, ...b1]);
});

test('objectness targets: IoU-aware at positives (gr), 0 elsewhere, per-level balance', () => {
  // One box; zero maps decode (v5) to xy = 0.5 and wh = anchor in every cell.
  const t = buildTargets(Float32Array.from([0, 2, 21, 27, 10, 12]), { anchors: ANCHORS, strides: STRIDES, grids: gridsFor(IMG, IMG, STRIDES) });
  const objTargets = (gr: number) =>
    scoped(() => {
      const ms = t.grids.map(([ny, nx]) => tf.zeros([1, ny, nx, NA * NO]) as tf.Tensor4D);
      const grads = tf.grads(
        (...xs: tf.Tensor[]) => detectionLoss(xs as tf.Tensor4D[], t, ANCHORS, STRIDES, NC, { gr, box: 0, cls: 0, obj: 1 }).total,
      )(ms);
      // d total / d obj logit = B · balance · (σ(0) − tobj) / M  ⇒  tobj = 0.5 − g · M / balance.
      return grads.map((g, l) => {
        const M = g.size / NO;
        const v = g.dataSync();
        const out = new Float32Array(M);
        for (let i = 0; i < M; i++) out[i] = 0.5 - (v[i * NO + 4]! * M) / [4, 1][l]!;
        return out;
      });
    });
  for (const gr of [1, 0.5, 0]) {
    const tobj = objTargets(gr);
    t.levels.forEach((lt, l) => {
      const expected = new Float32Array(tobj[l]!.length);
      for (let k = 0; k < lt.count; k++) {
        const [x, y, w, h] = lt.tbox.subarray(4 * k, 4 * k + 4);
        const [aw, ah] = lt.anchorWh.subarray(2 * k, 2 * k + 2);
        const ciou = iouOf([0.5, 0.5, aw!, ah!], [x!, y!, w!, h!], { kind: 'ciou' });
        expected[flatIndex(t, l, k)] = 1 - gr + gr * Math.max(ciou, 0);
      }
      for (let i = 0; i < expected.length; i++) close(tobj[l]![i]!, expected[i]!, 1e-4);
    });
  }
});

test('label smoothing: class targets cp = 1 − ε/2 at the class, cn = ε/2 elsewhere', () => {
  assert.deepEqual(smoothBce(0), { cp: 1, cn: 0 });
  const s = smoothBce(0.2);
  close(s.cp, 0.9, 1e-12);
  close(s.cn, 0.1, 1e-12);
  assert.deepEqual(
    Array.from(classTargets(Int32Array.from([2, 0]), 3, 0.2)).map((v) => Math.round(v * 100) / 100),
    [0.1, 0.1, 0.9, 0.9, 0.1, 0.1],
  );
  // Through the loss: with zero class logits, d total / d logit = B · (0.5 − target) / (n · nc) · gain.
  const t = assign(TABLE, 'v5');
  for (const eps of [0, 0.2]) {
    const { cp, cn } = smoothBce(eps);
    const grads = scoped(() => {
      const ms = t.grids.map(([ny, nx]) => tf.zeros([2, ny, nx, NA * NO]) as tf.Tensor4D);
      return tf
        .grads((...xs: tf.Tensor[]) => detectionLoss(xs as tf.Tensor4D[], t, ANCHORS, STRIDES, NC, { labelSmoothing: eps, cls: 1 }).total)(ms)
        .map((g) => g.dataSync().slice());
    });
    t.levels.forEach((lt, l) => {
      const n = lt.count;
      for (let k = 0; k < n; k++) {
        const o = flatIndex(t, l, k) * NO;
        for (let c = 0; c < NC; c++) {
          const target = 0.5 - (grads[l]![o + 5 + c]! * n * NC) / 2;
          close(target, c === lt.cls[k] ? cp : cn, 1e-5);
        }
      }
    });
  }
});

test('bceWithLogits is stable for large logits and matches the definition', () => {
  const v = tf.tidy(() => Array.from(bceWithLogits(tf.tensor1d([0, 2, -3, 100, -100]), tf.tensor1d([0.5, 1, 0, 0, 0])).dataSync()));
  const ref = (x: number, z: number) => -(z * Math.log(1 / (1 + Math.exp(-x))) + (1 - z) * Math.log(1 - 1 / (1 + Math.exp(-x))));
  close(v[0]!, ref(0, 0.5));
  close(v[1]!, ref(2, 1));
  close(v[2]!, ref(-3, 0));
  close(v[3]!, 100, 1e-4);
  close(v[4]!, 0, 1e-6);
});

test('scaleDetectionHyp scales cls by nc/80, obj by (imgsz/640)², all by 3/nl', () => {
  const s = scaleDetectionHyp(DEFAULT_DETECTION_HYP, { nc: 20, imgsz: 320, nl: 3 });
  close(s.box, 0.05, 1e-12);
  close(s.cls, (0.5 * 20) / 80, 1e-12);
  close(s.obj, 0.25, 1e-12);
  assert.equal(s.boxLoss, 'ciou');
  const four = scaleDetectionHyp({ box: 1, obj: 1, cls: 1 }, { nl: 4 });
  assert.deepEqual(four, { box: 0.75, obj: 0.75, cls: 0.75 });
});

for (const [rule, boxLoss] of [
  ['v5', 'giou'],
  ['v5', 'diou'],
  ['v5', 'mse'],
  ['v3', 'iou'],
] as const) {
  test(`detectionLoss gradient (${rule}, ${boxLoss}, fixed targets) matches finite differences`, (ctx) => {
    // 32×32 input: grids 4×4 and 2×2; gr = 0 keeps the objectness targets fixed (IoU-aware
    // targets are detached on purpose, which finite differences would see).
    const table = [
      [0, 1, 13, 10, 10, 12],
      [0, 2, 20, 22, 28, 20],
    ];
    const t = assign(table, rule, 32, 1);
    assert.ok(t.total > 0);
    const shapes = t.grids.map(([ny, nx]) => [1, ny, nx, NA * NO]);
    const gc: GradientCase = {
      name: 'detectionLoss',
      detail: `${rule} ${boxLoss}`,
      shapes,
      eps: 1e-2,
      samples: Math.max(...shapes.map((s) => s.reduce((a, b) => a * b, 1))),
      init: (rng, _i, size) => rng.normalArray(size, 0.7),
      fn: (...ms) => detectionLoss(ms as tf.Tensor4D[], t, ANCHORS, STRIDES, NC, { boxLoss, gr: 0, box: 1, cls: 1 }).total,
    };
    const err = finiteDifferenceCheck(gc, new Rng(5));
    assert.ok(err < TOL, `relative error ${err}`);
    ctx.diagnostic(`relative error ${err.toExponential(2)}`);
  });
}

test('a few Adam steps on free raw maps drive the loss down', (ctx) => {
  const t = assign(TABLE, 'v5');
  const rng = new Rng(9);
  const vars = t.grids.map(([ny, nx]) => tf.variable(tf.tensor4d(rng.normalArray(2 * ny * nx * NA * NO, 0.5), [2, ny, nx, NA * NO])));
  const opt = tf.train.adam(0.05);
  const history: Array<{ total: number; box: number }> = [];
  for (let step = 0; step < 40; step++) {
    opt.minimize(() => {
      const r = detectionLoss(vars as tf.Tensor4D[], t, ANCHORS, STRIDES, NC);
      history.push({ total: r.items.total, box: r.items.box });
      return r.total;
    });
  }
  const first = history[0]!;
  const last = history[history.length - 1]!;
  assert.ok(last.total < 0.5 * first.total, `total ${first.total} → ${last.total}`);
  assert.ok(last.box < first.box, `box ${first.box} → ${last.box}`);
  ctx.diagnostic(`total ${first.total.toFixed(4)} → ${last.total.toFixed(4)}, box ${first.box.toFixed(4)} → ${last.box.toFixed(4)}`);
  opt.dispose();
  tf.dispose(vars);
});
