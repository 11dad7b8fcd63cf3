import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  apPerClass,
  computeAp,
  confusionMatrix,
  detectionMetrics,
  type ImageBoxes,
  imagesFromCoco,
  matchDetections,
} from '../../src/eval/detection-metrics.js';
import { writeConfusionMatrixPng } from '../../src/plot/confusion-matrix.js';
import { writePrCurvePng } from '../../src/plot/pr-curve.js';
import { Rng } from '../../src/util/rng.js';

const xyxy = (x: number, y: number, s = 40): number[] => [x, y, x + s, y + s];

function image(gt: Array<[number[], number]>, dt: Array<[number[], number, number]>): ImageBoxes {
  return {
    gtBoxes: gt.flatMap((g) => g[0]),
    gtClasses: gt.map((g) => g[1]),
    dtBoxes: dt.flatMap((d) => d[0]),
    dtScores: dt.map((d) => d[1]),
    dtClasses: dt.map((d) => d[2]),
  };
}

describe('TP flags, AP and best-F1 precision/recall', () => {
  test('greedy matching by score: duplicates and wrong classes are false positives', () => {
    const im = image(
      [
        [xyxy(0, 0), 0],
        [xyxy(100, 0), 1],
      ],
      [
        [xyxy(0, 0), 0.9, 0],
        [xyxy(2, 2), 0.8, 0],
        [xyxy(100, 0), 0.7, 0],
        [xyxy(100, 0), 0.6, 1],
      ],
    );
    const m = matchDetections([im], 2);
    assert.deepEqual(Array.from(m.tp), [1, 0, 0, 1]);
    assert.deepEqual(Array.from(m.targetCls), [0, 1]);
  });

  test("a perfect detector reaches Ultralytics' 0.995 AP50 (101-point trapezoid)", () => {
    const im = image(
      [
        [xyxy(0, 0), 0],
        [xyxy(100, 0), 1],
      ],
      [
        [xyxy(0, 0), 0.9, 0],
        [xyxy(100, 0), 0.8, 1],
      ],
    );
    const r = detectionMetrics([im], 3);
    assert.ok(Math.abs(r.mAP50 - 0.995) < 1e-12, String(r.mAP50));
    assert.equal(r.classes[2]!.ap50, -1, 'no ground truth');
    assert.ok(Math.abs(r.precision - 1) < 1e-9 && Math.abs(r.recall - 1) < 1e-9);
    // F1 is 1 on the whole plateau below the lowest score; the first grid point of it is chosen.
    assert.ok(r.conf >= 0 && r.conf <= 0.8, `best confidence ${r.conf} keeps both detections`);
  });

  test('computeAp on a hand example', () => {
    // recall 0.5 at precision 1, then recall 1 at precision 0.5: mrec [0, .5, 1, 1], envelope [1, 1, .5, 0].
    // np.interp is linear between the points: 1 on [0, .5], 1 - (x - .5) on [.5, 1), and 0 at x = 1 exactly
    // (the last point). Trapezoids on the 101-point grid: .5 + (1 + .51) / 2 * .49 + (.51 + 0) / 2 * .01 = .8725
    const { ap } = computeAp([0.5, 1], [1, 0.5]);
    assert.ok(Math.abs(ap - 0.8725) < 1e-9, String(ap));
  });

  test('precision and recall are read at the confidence that maximises mean F1', () => {
    // One class, 4 objects: 3 found with high scores, then 3 false positives with low scores.
    const gt: Array<[number[], number]> = [0, 1, 2, 3].map((i) => [xyxy(i * 100, 0), 0]);
    const dt: Array<[number[], number, number]> = [
      [xyxy(0, 0), 0.9, 0],
      [xyxy(100, 0), 0.85, 0],
      [xyxy(200, 0), 0.8, 0],
      [xyxy(0, 300), 0.2, 0],
      [xyxy(100, 300), 0.15, 0],
      [xyxy(200, 300), 0.1, 0],
    ];
    const r = apPerClass(matchDetections([image(gt, dt)], 1), 1);
    // Between the last true positive (0.8) and the first false positive (0.2) recall is 3/4 and
    // precision falls linearly (np.interp between the scores) from 1 to 3/4; below 0.2 precision
    // drops to 1/2 (F1 0.6). The chosen threshold lies between the two groups.
    assert.ok(r.conf > 0.2 && r.conf < 0.8, `conf ${r.conf}`);
    assert.equal(r.recall, 0.75);
    assert.ok(r.precision > 0.75 && r.precision <= 1, `precision ${r.precision}`);
    assert.ok(r.f1 > 0.8, `f1 ${r.f1}`);
  });
});

describe('confusion matrix', () => {
  test('correct, confused, missed and background detections land in their cells', () => {
    const im = image(
      [
        [xyxy(0, 0), 0],
        [xyxy(100, 0), 1],
        [xyxy(200, 0), 0],
      ],
      [
        [xyxy(0, 0), 0.9, 0], // correct
        [xyxy(100, 0), 0.8, 0], // true 1 predicted as 0
        [xyxy(400, 400), 0.7, 1], // nothing there: background
        [xyxy(200, 0), 0.1, 0], // below conf 0.25: ignored, so the object counts as missed
      ],
    );
    const empty = image([], [[xyxy(0, 0), 0.5, 1]]); // a detection on an image without objects
    const cm = confusionMatrix([im, empty], 2);
    const at = (pred: number, truth: number): number => cm.matrix[pred * cm.size + truth]!;
    assert.equal(cm.size, 3);
    assert.equal(at(0, 0), 1);
    assert.equal(at(0, 1), 1);
    assert.equal(at(2, 0), 1, 'missed object: background row');
    assert.equal(at(1, 2), 2, 'unmatched detections: background column');
    assert.equal(
      cm.matrix.reduce((s, v) => s + v, 0),
      5,
    );
  });

  test('IoU below 0.45 is no match', () => {
    const cm = confusionMatrix([image([[[0, 0, 100, 100], 0]], [[[0, 0, 100, 44], 0.9, 0]])], 1);
    assert.deepEqual(Array.from(cm.matrix), [0, 1, 1, 0]);
  });
});

describe('PNG plots', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eval-plots-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

  function randomImages(nc: number): ImageBoxes[] {
    const rng = new Rng(7);
    const images: ImageBoxes[] = [];
    for (let i = 0; i < 40; i++) {
      const gt: Array<[number[], number]> = [];
      const dt: Array<[number[], number, number]> = [];
      for (let g = rng.int(1, 4); g > 0; g--) {
        const x = rng.next() * 400;
        const y = rng.next() * 400;
        const c = rng.int(0, nc - 1);
        gt.push([xyxy(x, y, 50), c]);
        if (rng.next() < 0.8) dt.push([xyxy(x + 5 * rng.normal(), y + 5 * rng.normal(), 50), rng.next(), rng.next() < 0.85 ? c : rng.int(0, nc - 1)]);
      }
      dt.push([xyxy(rng.next() * 400, rng.next() * 400, 30), rng.next() * 0.5, rng.int(0, nc - 1)]);
      images.push(image(gt, dt));
    }
    return images;
  }

  test('PR curve and confusion matrix PNGs are written atomically with a PNG signature', async () => {
    const names = ['person', 'bicycle', 'car', 'dog'];
    const m = detectionMetrics(randomImages(4), 4);
    assert.ok(m.mAP50 > 0.2 && m.mAP50 < 1, String(m.mAP50));
    const pr = join(dir, 'sub', 'PR_curve.png');
    const cm = join(dir, 'confusion_matrix.png');
    await writePrCurvePng(pr, m.prCurves, names);
    await writeConfusionMatrixPng(cm, m.confusion, names, { normalize: true });
    await writeConfusionMatrixPng(join(dir, 'confusion_matrix_counts.png'), m.confusion, names, { normalize: false });
    for (const f of [pr, cm]) {
      const buf = await readFile(f);
      assert.ok(buf.length > 1000, `${f} has content`);
      assert.deepEqual(buf.subarray(0, 8), PNG_SIGNATURE);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['confusion_matrix.png', 'confusion_matrix_counts.png', 'sub'], 'no temp files left behind');
  });

  test('many classes and the COCO adapter', async () => {
    const gt = {
      images: [{ id: 1 }],
      categories: Array.from({ length: 30 }, (_, i) => ({ id: i + 1, name: `c${i + 1}` })),
      annotations: [
        { image_id: 1, category_id: 3, bbox: [10, 10, 20, 20] },
        { image_id: 1, category_id: 4, bbox: [0, 0, 500, 500], iscrowd: 1 },
      ],
    };
    const { images, classNames } = imagesFromCoco(gt, [{ image_id: 1, category_id: 3, bbox: [10, 10, 20, 20], score: 0.9 }]);
    assert.deepEqual(Array.from(images[0]!.gtBoxes), [10, 10, 30, 30], 'xywh -> xyxy, crowd dropped');
    const m = detectionMetrics(images, classNames.length);
    assert.equal(m.classes[2]!.nGt, 1);
    const f = join(dir, 'many.png');
    await writePrCurvePng(f, m.prCurves, classNames);
    await writeConfusionMatrixPng(join(dir, 'many_cm.png'), m.confusion, classNames);
    assert.deepEqual((await readFile(f)).subarray(0, 8), PNG_SIGNATURE);
  });
});
