/**
 * Box utilities, head-map decoding (vectorised vs the per-cell reference),
 * NMS and post-processing (letterbox geometry: test/data/letterbox.test.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/engine/backend.js';
import { boxArea, boxIou, clipBoxes, iouMatrix, whIou, whIouMatrix, xywhToXyxy, xyxyToXywh } from '../../../src/tasks/detect/box-utils.js';
import { type DecodeRule, decodeCell, decodedRowCount, decodePredictions } from '../../../src/tasks/detect/decode.js';
import { argsortDesc, nonMaxSuppression, postprocess, postprocessBatch } from '../../../src/tasks/detect/nms.js';
import { Rng } from '../../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const close = (a: number, b: number, tol: number, msg?: string): void => assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} expected ${b}, got ${a}`);

describe('box utils', () => {
  test('xyxy ↔ xywh, area, IoU', () => {
    const xyxy = [0, 0, 10, 20, 5, 5, 15, 9];
    const xywh = xyxyToXywh(xyxy);
    assert.deepEqual([...xywh], [5, 10, 10, 20, 10, 7, 10, 4]);
    assert.deepEqual([...xywhToXyxy(xywh)], xyxy);
    assert.equal(boxArea(xyxy), 200);
    assert.equal(boxArea(xyxy, 4), 40);
    assert.equal(boxArea([5, 5, 1, 1]), 0);
    close(boxIou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150, 1e-12);
    assert.equal(boxIou([0, 0, 10, 10], [10, 0, 20, 10]), 0);
    assert.equal(boxIou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
    assert.equal(boxIou([0, 0, 0, 0], [0, 0, 0, 0]), 0);
  });

  test('iouMatrix agrees with boxIou', () => {
    const rng = new Rng(3);
    const rand = (n: number): Float32Array => {
      const b = new Float32Array(4 * n);
      for (let i = 0; i < n; i++) {
        const x = rng.next() * 50,
          y = rng.next() * 50;
        b.set([x, y, x + 1 + rng.next() * 30, y + 1 + rng.next() * 30], 4 * i);
      }
      return b;
    };
    const a = rand(7),
      b = rand(5);
    const m = iouMatrix(a, b);
    assert.equal(m.length, 35);
    for (let i = 0; i < 7; i++) for (let j = 0; j < 5; j++) close(m[i * 5 + j]!, boxIou(a, b, 4 * i, 4 * j), 1e-6);
  });

  test('wh-IoU aligns boxes at a corner', () => {
    assert.equal(whIou(10, 10, 10, 10), 1);
    close(whIou(10, 20, 20, 10), 100 / 300, 1e-12);
    close(whIou(10, 10, 20, 20), 0.25, 1e-12);
    const m = whIouMatrix([10, 10, 20, 20], [10, 10]);
    assert.deepEqual([...m], [1, 0.25]);
    assert.deepEqual([...clipBoxes([-5, 3, 120, 50], 100, 40)], [0, 3, 100, 40]);
  });
});

describe('decodePredictions', () => {
  const anchors = [
    [
      [10, 13],
      [16, 30],
      [33, 23],
    ],
    [
      [30, 61],
      [62, 45],
      [59, 119],
    ],
  ];
  const strides = [8, 16];
  const na = 3,
    nc = 4,
    no = 5 + nc,
    B = 2;
  const sizes: Array<[number, number]> = [
    [8, 6],
    [4, 3],
  ]; // (H, W): 64×48 input

  for (const rule of ['v3', 'scaled'] as DecodeRule[]) {
    test(`matches decodeCell on random maps (${rule})`, () => {
      const rng = new Rng(rule === 'v3' ? 1 : 2);
      const raws = sizes.map(([h, w]) => rng.normalArray(B * h * w * na * no, 1.5));
      const maps = sizes.map(([h, w], l) => tf.tensor4d(raws[l]!, [B, h, w, na * no]));
      const out = decodePredictions(maps, anchors, strides, { rule });
      const total = decodedRowCount(sizes, anchors);
      assert.deepEqual(out.shape, [B, total, no]);
      assert.equal(total, (8 * 6 + 4 * 3) * na);
      const got = out.dataSync();
      let offset = 0;
      sizes.forEach(([h, w], l) => {
        const raw = raws[l]!;
        for (let b = 0; b < B; b++) {
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              for (let a = 0; a < na; a++) {
                const src = (((b * h + y) * w + x) * na + a) * no;
                const ref = decodeCell(raw.subarray(src, src + no), x, y, anchors[l]![a]!, strides[l]!, rule);
                const row = offset + (y * w + x) * na + a;
                const dst = (b * total + row) * no;
                for (let c = 0; c < no; c++) {
                  const v = got[dst + c]!;
                  close(v, ref[c]!, 1e-4 * Math.max(1, Math.abs(ref[c]!)), `b${b} l${l} y${y} x${x} a${a} c${c}`);
                }
              }
            }
          }
        }
        offset += h * w * na;
      });
      maps.forEach((m) => {
        m.dispose();
      });
      out.dispose();
    });
  }

  test('zero logits decode to cell centres and anchor sizes', () => {
    const m = tf.zeros([1, 2, 2, 3 * 6]) as tf.Tensor4D;
    const v3 = decodePredictions([m], [anchors[0]!], [8], { rule: 'v3' }).arraySync()[0]!;
    const sc = decodePredictions([m], [anchors[0]!], [8], { rule: 'scaled' }).arraySync()[0]!;
    // Cell (y=1, x=0), anchor 2 → row (1·2 + 0)·3 + 2 = 8.
    assert.deepEqual(v3[8], [4, 12, 33, 23, 0.5, 0.5]);
    assert.deepEqual(sc[8], [4, 12, 33, 23, 0.5, 0.5]);
    m.dispose();
  });

  test('does not leak tensors and rejects inconsistent inputs', () => {
    const m = tf.randomNormal([1, 4, 4, 3 * 7]) as tf.Tensor4D;
    const n0 = tf.memory().numTensors;
    const out = decodePredictions([m], [anchors[0]!], [8], { rule: 'scaled' });
    assert.equal(tf.memory().numTensors, n0 + 1);
    out.dispose();
    assert.throws(
      () =>
        decodePredictions(
          [m],
          [
            [
              [1, 1],
              [2, 2],
            ],
          ],
          [8],
          { rule: 'v3' },
        ),
      /channels/,
    );
    assert.throws(() => decodePredictions([m], anchors, strides, { rule: 'v3' }), /maps/);
    assert.throws(() => decodePredictions([m], [anchors[0]!], [8], { rule: 'v7' as DecodeRule }), /unknown decode rule/);
    m.dispose();
  });
});

describe('nonMaxSuppression', () => {
  test('suppresses overlaps above the threshold, keeps at or below', () => {
    const boxes = [0, 0, 10, 10, 1, 0, 11, 10, 50, 50, 60, 60];
    const scores = [0.8, 0.9, 0.7];
    // IoU(0, 1) = 90/110 ≈ 0.818.
    assert.deepEqual([...nonMaxSuppression(boxes, scores, 0.5)], [1, 2]);
    assert.deepEqual([...nonMaxSuppression(boxes, scores, 0.85)], [1, 0, 2]);
    // IoU exactly 0.5 is not above 0.5.
    assert.deepEqual([...nonMaxSuppression([0, 0, 10, 10, 0, 0, 10, 5], [0.9, 0.8], 0.5)], [0, 1]);
    assert.deepEqual([...nonMaxSuppression([0, 0, 10, 10, 0, 0, 10, 5], [0.9, 0.8], 0.49)], [0]);
    assert.deepEqual([...nonMaxSuppression(boxes, scores, 0.5, 1)], [1]);
    assert.deepEqual([...nonMaxSuppression([], [], 0.5)], []);
  });

  test('matches a naive greedy NMS on many boxes (chunked sorting path)', () => {
    const rng = new Rng(21);
    const n = 12000;
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = rng.next() * 1000,
        y = rng.next() * 1000;
      boxes.set([x, y, x + 5 + rng.next() * 60, y + 5 + rng.next() * 60], 4 * i);
      scores[i] = Math.round(rng.next() * 1000) / 1000; // many ties
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    const kept: number[] = [];
    for (const i of order) if (kept.every((j) => boxIou(boxes, boxes, 4 * i, 4 * j) <= 0.4)) kept.push(i);
    assert.deepEqual([...nonMaxSuppression(boxes, scores, 0.4)], kept);
    assert.deepEqual([...nonMaxSuppression(boxes, scores, 0.4, 100)], kept.slice(0, 100));
    assert.deepEqual([...argsortDesc(scores)], order);
  });

  test('argsortDesc orders by score then index, for packed and general scores', () => {
    assert.deepEqual([...argsortDesc(Float32Array.from([0.2, 0.9, 0.2, 1, 0]))], [3, 1, 0, 2, 4]);
    assert.deepEqual([...argsortDesc(Float32Array.from([-1, 3, Number.NaN, 3, 0.5]))], [1, 3, 4, 0, 2]);
  });
});

/** A decoded row [cx, cy, w, h, obj, cls…]. */
const row = (xyxy: number[], obj: number, cls: number[]): number[] => {
  const [x1, y1, x2, y2] = xyxy as [number, number, number, number];
  return [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, obj, ...cls];
};

describe('postprocess', () => {
  test('class-aware NMS keeps overlapping boxes of different classes unless agnostic', () => {
    const rows = [...row([0, 0, 10, 10], 0.9, [0.9, 0.1]), ...row([1, 0, 11, 10], 0.9, [0.1, 0.8])];
    const d = Float32Array.from(rows);
    const aware = postprocess(d, 2, { multiLabel: false });
    assert.deepEqual(
      aware.map((x) => x.cls),
      [0, 1],
    );
    const agn = postprocess(d, 2, { multiLabel: false, agnostic: true });
    assert.equal(agn.length, 1);
    assert.equal(agn[0]!.cls, 0);
    close(agn[0]!.score, 0.81, 1e-6);
    assert.deepEqual(agn[0]!.box, [0, 0, 10, 10]);
    // Same class overlapping: suppressed.
    const same = Float32Array.from([...row([0, 0, 10, 10], 0.9, [0.9]), ...row([1, 0, 11, 10], 0.9, [0.8])]);
    assert.equal(postprocess(same, 1).length, 1);
    assert.equal(postprocess(same, 1, { iouThres: 0.9 }).length, 2);
  });

  test('multi-label gives one detection per class above conf', () => {
    const d = Float32Array.from(row([0, 0, 10, 10], 0.9, [0.8, 0.7, 0.1]));
    const multi = postprocess(d, 3);
    assert.deepEqual(
      multi.map((x) => x.cls),
      [0, 1],
    );
    close(multi[0]!.score, 0.72, 1e-6);
    close(multi[1]!.score, 0.63, 1e-6);
    const single = postprocess(d, 3, { multiLabel: false });
    assert.deepEqual(
      single.map((x) => x.cls),
      [0],
    );
    assert.deepEqual(
      postprocess(d, 3, { classes: [1] }).map((x) => x.cls),
      [1],
    );
  });

  test('confidence filter on obj and obj·cls', () => {
    const d = Float32Array.from([...row([0, 0, 10, 10], 0.2, [1]), ...row([20, 0, 30, 10], 0.9, [0.25]), ...row([40, 0, 50, 10], 0.5, [0.6])]);
    const dets = postprocess(d, 1, { confThres: 0.25 });
    assert.equal(dets.length, 1);
    assert.deepEqual(dets[0]!.box, [40, 0, 50, 10]);
  });

  test('maxDet caps the detections, sorted by score', () => {
    const rng = new Rng(5);
    const rows: number[] = [];
    for (let i = 0; i < 50; i++) rows.push(...row([i * 20, 0, i * 20 + 10, 10], 0.3 + 0.7 * rng.next(), [1, 0.5 * rng.next()]));
    const d = Float32Array.from(rows);
    const all = postprocess(d, 2, { maxDet: 1000 });
    assert.ok(all.length >= 50);
    const top = postprocess(d, 2, { maxDet: 10 });
    assert.equal(top.length, 10);
    assert.deepEqual(top, all.slice(0, 10));
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.score >= all[i]!.score);
  });

  test('matches a naive reference on many candidates, with maxNms', () => {
    const rng = new Rng(33);
    const nc = 6,
      no = 11,
      n = 4000;
    const d = new Float32Array(n * no);
    for (let r = 0; r < n; r++) {
      d.set([rng.next() * 500, rng.next() * 500, 10 + rng.next() * 80, 10 + rng.next() * 80], r * no);
      for (let c = 4; c < no; c++) d[r * no + c] = rng.next();
    }
    const reference = (maxNms: number, agnostic: boolean, maxDet: number): Array<[number, number, number]> => {
      const cands: Array<{ r: number; c: number; s: number; k: number }> = [];
      for (let r = 0; r < n; r++) {
        const obj = d[r * no + 4]!;
        if (!(obj > 0.25)) continue;
        for (let c = 0; c < nc; c++) {
          const s = obj * d[r * no + 5 + c]!;
          if (s > 0.25) cands.push({ r, c, s: Math.fround(s), k: cands.length });
        }
      }
      cands.sort((a, b) => b.s - a.s || a.k - b.k);
      const keptBoxes: Array<{ box: number[]; c: number; s: number }> = [];
      for (const cand of cands.slice(0, maxNms)) {
        const [cx, cy, w, h] = d.subarray(cand.r * no, cand.r * no + 4) as unknown as [number, number, number, number];
        const box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
        if (keptBoxes.every((k) => (!agnostic && k.c !== cand.c) || boxIou(k.box, box) <= 0.45)) keptBoxes.push({ box, c: cand.c, s: cand.s });
        if (keptBoxes.length >= maxDet) break;
      }
      return keptBoxes.map((k) => [k.c, k.s, k.box[0]!]);
    };
    for (const [maxNms, agnostic, maxDet] of [
      [30000, false, 100000],
      [3000, false, 100000],
      [30000, true, 50],
      [5000, false, 300],
    ] as const) {
      const got = postprocess(d, nc, { maxNms, agnostic, maxDet }).map((x) => [x.cls, x.score, x.box[0]]);
      assert.deepEqual(got, reference(maxNms, agnostic, maxDet), `maxNms=${maxNms} agnostic=${agnostic} maxDet=${maxDet}`);
    }
  });

  test('batched: one list per image', () => {
    const a = row([0, 0, 10, 10], 0.9, [0.9]);
    const b = row([0, 0, 10, 10], 0.1, [0.9]);
    const out = postprocessBatch(Float32Array.from([...a, ...b, ...b]), 1, 1);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.length, 1);
    const two = postprocessBatch(Float32Array.from([...a, ...b, ...b, ...b]), 2, 1);
    assert.deepEqual(
      two.map((x) => x.length),
      [1, 0],
    );
  });

  test('25200 rows × 80 classes of random scores: max_det caps the output at 300, sorted by score, no same-class overlap above the IoU threshold', () => {
    const nc = 80,
      no = 85,
      n = 25200;
    const rng = new Rng(9);
    const d = new Float32Array(n * no);
    for (let r = 0; r < n; r++) {
      const cx = rng.next() * 640,
        cy = rng.next() * 640;
      d[r * no] = cx;
      d[r * no + 1] = cy;
      d[r * no + 2] = 5 + rng.next() * 200;
      d[r * no + 3] = 5 + rng.next() * 200;
      for (let c = 4; c < no; c++) d[r * no + c] = 1 / (1 + Math.exp(-rng.normal()));
    }
    // (Its speed is measured by `npm run bench:eval`, not asserted here.)
    const dets = postprocess(d, nc);
    assert.equal(dets.length, 300);
    for (let i = 1; i < dets.length; i++) assert.ok(dets[i - 1]!.score >= dets[i]!.score, 'sorted by score');
    const iou = (a: number[], b: number[]): number => {
      const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
      const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
      const inter = w * h;
      return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
    };
    for (let i = 0; i < dets.length; i++) {
      for (let j = i + 1; j < dets.length; j++) {
        if (dets[i]!.cls === dets[j]!.cls) assert.ok(iou(dets[i]!.box, dets[j]!.box) <= 0.45 + 1e-6, `detections ${i} and ${j} overlap`);
      }
    }
  });
});
