/**
 * Hand-computed COCOeval cases. Precision at a point where tp detections and
 * fp false positives have been seen is tp / (tp + fp + eps) in pycocotools, so
 * a "perfect" precision is 1 / (1 + 2^-52), not exactly 1: AP values are
 * compared to within 1e-12; recalls are exact.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CocoAnnotation,
  type CocoDet,
  type CocoGt,
  evaluateCoco,
  formatCocoSummary,
  formatFixed,
  linspace,
  pairwiseSum,
} from '../../src/eval/coco.js';

type Box = [number, number, number, number];
const S = {
  AP: 0,
  AP50: 1,
  AP75: 2,
  APs: 3,
  APm: 4,
  APl: 5,
  AR1: 6,
  AR10: 7,
  AR100: 8,
  ARs: 9,
  ARm: 10,
  ARl: 11,
} as const;

function gtOf(images: number[], anns: Array<{ img: number; cat?: number; box: Box; area?: number; crowd?: boolean }>, cats = [1, 2]): CocoGt {
  return {
    images: images.map((id) => ({ id })),
    categories: cats.map((id) => ({ id, name: `c${id}` })),
    annotations: anns.map(
      (a, i): CocoAnnotation => ({
        id: i + 1,
        image_id: a.img,
        category_id: a.cat ?? 1,
        bbox: a.box,
        area: a.area ?? a.box[2] * a.box[3],
        iscrowd: a.crowd ? 1 : 0,
      }),
    ),
  };
}

function det(img: number, box: Box, score: number, cat = 1): CocoDet {
  return { image_id: img, category_id: cat, bbox: box, score };
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected}, got ${actual}`);
}

function expectStats(stats: number[], expected: Partial<Record<keyof typeof S, number>>): void {
  for (const [k, v] of Object.entries(expected)) close(stats[S[k as keyof typeof S]]!, v, k);
}

const MEDIUM: Box = [10, 10, 50, 50]; // area 2500: 32^2 < a < 96^2

describe('evaluateCoco: hand-computed cases', () => {
  test('one perfect box: 1 where the range holds it, -1 for the empty area ranges', () => {
    const r = evaluateCoco(gtOf([1], [{ img: 1, box: MEDIUM }]), [det(1, MEDIUM, 0.9)]);
    expectStats(r.stats, { AP: 1, AP50: 1, AP75: 1, APm: 1, AR1: 1, AR10: 1, AR100: 1, ARm: 1 });
    for (const k of ['APs', 'APl', 'ARs', 'ARl'] as const) assert.equal(r.stats[S[k]], -1, k);
    // Exact pycocotools value: the mean of 1010 copies of 1 / (1 + eps).
    assert.equal(
      r.precision.data.find((v) => v > 0),
      1 / (1 + 2 ** -52),
    );
    assert.equal(r.stats[S.AR100], 1);
    // Category 2 has no ground truth: -1 throughout, and it does not lower the means.
    assert.equal(r.perCategory.c2!.ap, -1);
    close(r.perCategory.c1!.ap, 1, 'c1 ap');
    assert.equal(r.perCategory.c1!.nGt, 1);
    assert.equal(r.perCategory.c1!.nDt, 1);
  });

  test('a box at IoU exactly 0.6 is a match at thresholds .50, .55, .60 only', () => {
    const gt = gtOf([1], [{ img: 1, box: [0, 0, 100, 100] }]);
    const r = evaluateCoco(gt, [det(1, [0, 0, 100, 60], 0.9)]); // IoU 6000 / 10000
    assert.equal(r.stats[S.AR100], 0.3, 'recall 1 at 3 of 10 thresholds');
    expectStats(r.stats, { AP: 0.3, AP50: 1, AP75: 0, APl: 0.3, ARl: 0.3, APm: -1 });
    // Just below 0.6: only .50 and .55.
    const r2 = evaluateCoco(gt, [det(1, [0, 0, 100, 59.9], 0.9)]);
    assert.equal(r2.stats[S.AR100], 0.2);
    expectStats(r2.stats, { AP: 0.2, AP50: 1 });
  });

  test('a duplicate detection is a false positive: precision 2/3 beyond recall 0.5', () => {
    const A: Box = [0, 0, 50, 50];
    const B: Box = [100, 100, 50, 50];
    const gt = gtOf(
      [1],
      [
        { img: 1, box: A },
        { img: 1, box: B },
      ],
    );
    // Sequence TP, FP (duplicate of A), TP: precision 1, 1/2, 2/3 -> envelope 1, 2/3, 2/3;
    // recall thresholds 0..0.50 (51 of them) read 1, 0.51..1 (50) read 2/3.
    const r = evaluateCoco(gt, [det(1, A, 0.9), det(1, A, 0.8), det(1, B, 0.7)]);
    expectStats(r.stats, { AP: 253 / 303, AP50: 253 / 303, AR100: 1 });
    // Ranked below both true positives the duplicate costs nothing.
    const r2 = evaluateCoco(gt, [det(1, A, 0.9), det(1, B, 0.8), det(1, A, 0.7)]);
    expectStats(r2.stats, { AP: 1 });
  });

  test('the right box with the wrong class scores 0; the class without ground truth is -1', () => {
    const r = evaluateCoco(gtOf([1], [{ img: 1, box: MEDIUM, cat: 1 }]), [det(1, MEDIUM, 0.9, 2)]);
    expectStats(r.stats, { AP: 0, AP50: 0, AR100: 0 });
    assert.equal(r.perCategory.c2!.ap, -1);
    assert.equal(r.perCategory.c1!.ap, 0);
  });

  test('detections inside a crowd region are ignored, not false positives', () => {
    const crowd: Box = [0, 0, 200, 200];
    const obj: Box = [300, 300, 50, 50];
    const gt = gtOf(
      [1],
      [
        { img: 1, box: crowd, crowd: true },
        { img: 1, box: obj },
      ],
    );
    const inCrowd1 = det(1, [10, 10, 40, 40], 0.95); // IoU with the crowd = intersection / own area = 1
    const inCrowd2 = det(1, [60, 60, 40, 40], 0.93); // a crowd may absorb several detections
    const r = evaluateCoco(gt, [inCrowd1, inCrowd2, det(1, obj, 0.9)]);
    expectStats(r.stats, { AP: 1, AP50: 1, AR100: 1 });
    // The same boxes without the crowd flag are two false positives ranked first.
    const plain = gtOf([1], [{ img: 1, box: obj }]);
    const r2 = evaluateCoco(plain, [inCrowd1, inCrowd2, det(1, obj, 0.9)]);
    expectStats(r2.stats, { AP50: 1 / 3 });
  });

  test('detections on an image without ground truth are false positives', () => {
    const gt = gtOf([1, 2], [{ img: 1, box: MEDIUM }]);
    // FP (image 2) ranked above the TP: precision 0 then 1/2 -> envelope 1/2 everywhere.
    const r = evaluateCoco(gt, [det(2, MEDIUM, 0.9), det(1, MEDIUM, 0.8)]);
    expectStats(r.stats, { AP: 0.5, AP50: 0.5, AR100: 1 });
    const r2 = evaluateCoco(gt, [det(2, MEDIUM, 0.7), det(1, MEDIUM, 0.8)]);
    expectStats(r2.stats, { AP: 1 });
  });

  test('all detections missing the objects give 0', () => {
    const gt = gtOf(
      [1],
      [
        { img: 1, box: MEDIUM },
        { img: 1, box: [200, 200, 20, 20] },
      ],
    );
    const r = evaluateCoco(gt, [det(1, [400, 10, 30, 30], 0.9), det(1, [10, 400, 30, 30], 0.5)]);
    expectStats(r.stats, { AP: 0, AP50: 0, AP75: 0, APs: 0, APm: 0, AR1: 0, AR100: 0, ARs: 0, ARm: 0 });
  });

  test('images without detections lower recall; no detections at all give 0', () => {
    const gt = gtOf(
      [1, 2],
      [
        { img: 1, box: MEDIUM },
        { img: 2, box: MEDIUM },
      ],
    );
    const r = evaluateCoco(gt, [det(1, MEDIUM, 0.9)]);
    // recall 0.5: thresholds 0..0.50 (51 of 101) read precision 1, the rest 0.
    expectStats(r.stats, { AP: 51 / 101, AP50: 51 / 101, AR100: 0.5 });
    const none = evaluateCoco(gt, []);
    expectStats(none.stats, { AP: 0, AR100: 0, APm: 0 });
    assert.equal(none.stats[S.APs], -1);
  });

  test('maxDets: AR@1 sees only the top-scored detection; beyond 100 per image are cut', () => {
    const gt = gtOf([1], [{ img: 1, box: MEDIUM }]);
    const fp = det(1, [300, 300, 50, 50], 0.9);
    const r = evaluateCoco(gt, [fp, det(1, MEDIUM, 0.8)]);
    expectStats(r.stats, { AR1: 0, AR10: 1, AR100: 1, AP: 0.5 });
    // 100 false positives scored above the true positive: it is the 101st and dropped.
    const many = Array.from({ length: 100 }, (_, i) => det(1, [300 + i, 300, 50, 50], 0.5 + i / 1000));
    const cut = evaluateCoco(gt, [...many, det(1, MEDIUM, 0.1)]);
    expectStats(cut.stats, { AP: 0, AR100: 0 });
    // A larger cap keeps it.
    const kept = evaluateCoco(gt, [...many, det(1, MEDIUM, 0.1)], { maxDets: [1, 10, 101] });
    close(kept.recall.data[0 * 8 + 0 * 4 + 0 * 3 + 2]!, 1, 'recall at maxDets 101');
  });

  test('area ranges: gt by its area field, unmatched detections outside the range ignored', () => {
    const small: Box = [0, 0, 20, 20];
    const medium: Box = [100, 0, 50, 50];
    const large: Box = [0, 200, 200, 200];
    const gt = gtOf(
      [1],
      [
        { img: 1, box: small },
        { img: 1, box: medium },
        { img: 1, box: large },
      ],
    );
    const r = evaluateCoco(gt, [det(1, small, 0.9), det(1, medium, 0.8), det(1, large, 0.7)]);
    expectStats(r.stats, { AP: 1, APs: 1, APm: 1, APl: 1, ARs: 1, ARm: 1, ARl: 1 });

    // A large false positive ranked first counts in 'all' but is ignored for 'small'.
    const g2 = gtOf([1], [{ img: 1, box: small }]);
    const r2 = evaluateCoco(g2, [det(1, [300, 300, 150, 150], 0.9), det(1, small, 0.8)]);
    expectStats(r2.stats, { AP: 0.5, APs: 1, APm: -1, APl: -1 });

    // The annotation's `area` decides the range, not w*h: a 50x50 box with area 500 is small.
    const g3 = gtOf([1], [{ img: 1, box: medium, area: 500 }]);
    const r3 = evaluateCoco(g3, [det(1, medium, 0.9)]);
    expectStats(r3.stats, { APs: 1, APm: -1, APl: -1, AP: 1 });
  });

  test('ties in IoU go to the later ground truth, as in pycocotools', () => {
    // Two identical ground truths; the single detection matches the second one, the first is missed either way.
    const gt = gtOf(
      [1],
      [
        { img: 1, box: MEDIUM },
        { img: 1, box: MEDIUM },
      ],
    );
    const r = evaluateCoco(gt, [det(1, MEDIUM, 0.9)]);
    expectStats(r.stats, { AR100: 0.5 });
  });
});

describe('COCO number formatting', () => {
  test("linspace reproduces numpy's IoU and recall thresholds", () => {
    assert.deepEqual(Array.from(linspace(0.5, 0.95, 10)), [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
    const rec = linspace(0, 1, 101);
    assert.equal(rec.length, 101);
    assert.equal(rec[50], 0.5);
    assert.equal(rec[100], 1);
    assert.equal(rec[7], 0.07);
  });

  test("pairwiseSum is numpy's summation order", () => {
    // numpy: np.sum(np.array([1e16] + [1.0] * 15 + [-1e16])) == 14.0; naive left-to-right gives 0.
    const a = [1e16, ...Array<number>(15).fill(1), -1e16];
    assert.equal(pairwiseSum(a), 14);
    assert.equal(
      a.reduce((s, x) => s + x, 0),
      0,
    );
  });

  test('formatFixed rounds exact ties half to even like Python', () => {
    assert.equal(formatFixed(0.5625, 3), '0.562');
    assert.equal(formatFixed(0.0625, 3), '0.062');
    assert.equal(formatFixed(0.1875, 3), '0.188');
    assert.equal(formatFixed(-1, 3), '-1.000');
    assert.equal(formatFixed(0.12345, 3), '0.123');
    assert.equal(formatFixed(0.9999999999999998, 3), '1.000');
    assert.equal(formatFixed(0.125, 2), '0.12');
  });

  test("formatCocoSummary prints pycocotools' twelve lines", () => {
    const stats = [0.5625, 0.7, 0.6, -1, 0.4, 0.55, 0.3, 0.45, 0.5, -1, 0.2, 0.7];
    const lines = formatCocoSummary(stats).split('\n');
    assert.equal(lines.length, 12);
    assert.equal(lines[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.562');
    assert.equal(lines[1], ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.700');
    assert.equal(lines[2], ' Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.600');
    assert.equal(lines[3], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000');
    assert.equal(lines[4], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.400');
    assert.equal(lines[6], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.300');
    assert.equal(lines[7], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.450');
    assert.equal(lines[11], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.700');
  });
});
