/**
 * Properties of evaluateCoco on random data, plus a fixed data set whose
 * expected numbers come from pycocotools' algorithm (a line-for-line numpy
 * transcription of COCOeval run on exactly this data): crowds, `area` fields
 * that differ from w*h, score and IoU ties, duplicates, wrong classes, empty
 * images and an image with more than 100 detections of one class.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CocoAnnotation, type CocoDet, type CocoGt, evaluateCoco, formatCocoSummary } from '../../src/eval/coco.js';
import { Rng } from '../../src/util/rng.js';

function shuffle<T>(xs: T[], rng: Rng): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function randomGt(rng: Rng, nImages: number, nCats: number, maxPerImage: number): CocoGt {
  const images = Array.from({ length: nImages }, (_, i) => ({ id: 1000 + i * 3 }));
  const categories = Array.from({ length: nCats }, (_, i) => ({ id: i + 1, name: `k${i + 1}` }));
  const annotations: CocoAnnotation[] = [];
  for (const im of images) {
    const n = rng.int(0, maxPerImage);
    for (let g = 0; g < n; g++) {
      const w = 4 + rng.next() * 180;
      const h = 4 + rng.next() * 180;
      annotations.push({
        id: annotations.length + 1,
        image_id: im.id,
        category_id: rng.int(1, nCats),
        bbox: [rng.next() * 400, rng.next() * 400, w, h],
        area: rng.next() < 0.3 ? w * h * (0.4 + 0.6 * rng.next()) : w * h,
        iscrowd: rng.next() < 0.05 ? 1 : 0,
      });
    }
  }
  return { images, annotations, categories };
}

describe('evaluateCoco properties', () => {
  test('perfect detections of random ground truth give AP and AR 1 wherever defined', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const rng = new Rng(seed);
      const gt = randomGt(rng, 20, 4, 8);
      const dt: CocoDet[] = gt.annotations
        .filter((a) => !a.iscrowd)
        .map((a) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: rng.next() }));
      const { stats } = evaluateCoco(gt, dt);
      // AR@1 and AR@10 can be below 1 when an image holds several objects of a class.
      for (const i of [0, 1, 2, 3, 4, 5, 8, 9, 10, 11]) {
        if (stats[i] === -1) continue;
        assert.ok(Math.abs(stats[i]! - 1) < 1e-12, `seed ${seed} stat ${i}: ${stats[i]}`);
      }
      assert.ok(stats[0]! > 0.999, `seed ${seed}: AP defined`);
    }
  });

  test('shuffling detections, annotations and images changes nothing', () => {
    for (let seed = 11; seed <= 16; seed++) {
      const rng = new Rng(seed);
      const gt = randomGt(rng, 25, 3, 6);
      const dt: CocoDet[] = [];
      for (const a of gt.annotations) {
        const [x, y, w, h] = a.bbox as [number, number, number, number];
        for (let k = rng.int(0, 2); k > 0; k--) {
          dt.push({
            image_id: a.image_id,
            category_id: rng.next() < 0.8 ? a.category_id : rng.int(1, 3),
            bbox: [x + w * 0.2 * rng.normal(), y + h * 0.2 * rng.normal(), w * (1 + 0.15 * rng.normal()), h * (1 + 0.15 * rng.normal())],
            score: rng.next(), // distinct scores: ties are the one thing order may decide
          });
        }
      }
      for (const im of gt.images)
        dt.push({ image_id: im.id, category_id: rng.int(1, 3), bbox: [rng.next() * 300, rng.next() * 300, 30, 40], score: rng.next() });
      const base = evaluateCoco(gt, dt);
      const shuffled = evaluateCoco(
        { images: shuffle([...gt.images], rng), annotations: shuffle([...gt.annotations], rng), categories: shuffle([...gt.categories], rng) },
        shuffle(dt, rng),
      );
      assert.deepEqual(shuffled.stats, base.stats, `seed ${seed}`);
      assert.deepEqual(shuffled.precision.data, base.precision.data);
      assert.ok(base.stats[0]! > 0 && base.stats[0]! < 1, 'a non-trivial score');
    }
  });

  test('imgIds and catIds restrict the evaluation', () => {
    const rng = new Rng(5);
    const gt = randomGt(rng, 10, 3, 5);
    const dt = gt.annotations.filter((a) => !a.iscrowd).map((a) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: 0.5 }));
    const only = evaluateCoco(gt, dt, { catIds: [2], imgIds: gt.images.slice(0, 4).map((i) => i.id) });
    assert.deepEqual(only.params.catIds, [2]);
    assert.equal(only.precision.shape[2], 1);
    assert.deepEqual(Object.keys(only.perCategory), ['k2']);
  });
});

/** KEEP IN SYNC with the generator that produced REFERENCE_STATS (see the file comment). */
function refDataset(): { gt: CocoGt; dt: CocoDet[] } {
  const rng = new Rng(2024);
  const categories = [
    { id: 1, name: 'cat' },
    { id: 3, name: 'dog' },
    { id: 7, name: 'bird' },
  ];
  const images = Array.from({ length: 14 }, (_, i) => ({ id: (i + 1) * 7 }));
  const annotations: CocoAnnotation[] = [];
  const dt: CocoDet[] = [];
  const cat = (): number => categories[rng.int(0, 2)]!.id;
  const score = (): number => rng.int(1, 20) / 20;
  for (const im of images) {
    const nGt = rng.int(0, 5);
    for (let g = 0; g < nGt; g++) {
      const x = 2 * rng.int(0, 150),
        y = 2 * rng.int(0, 150),
        w = 2 * rng.int(2, 60),
        h = 2 * rng.int(2, 60);
      const c = cat();
      annotations.push({
        id: annotations.length + 1,
        image_id: im.id,
        category_id: c,
        bbox: [x, y, w, h],
        area: rng.next() < 0.3 ? w * h * 0.5 : w * h,
        iscrowd: rng.next() < 0.1 ? 1 : 0,
      });
      const k = rng.int(0, 2);
      for (let j = 0; j < k; j++) {
        dt.push({
          image_id: im.id,
          category_id: rng.next() < 0.85 ? c : cat(),
          bbox: [x + 2 * rng.int(-4, 4), y + 2 * rng.int(-4, 4), Math.max(2, w + 2 * rng.int(-4, 4)), Math.max(2, h + 2 * rng.int(-4, 4))],
          score: score(),
        });
      }
    }
    const nFp = rng.int(0, 3);
    for (let j = 0; j < nFp; j++)
      dt.push({
        image_id: im.id,
        category_id: cat(),
        bbox: [2 * rng.int(0, 150), 2 * rng.int(0, 150), 2 * rng.int(2, 60), 2 * rng.int(2, 60)],
        score: score(),
      });
  }
  const busy = images[3]!.id;
  annotations.push({ id: annotations.length + 1, image_id: busy, category_id: 1, bbox: [100, 100, 40, 40], area: 1600, iscrowd: 0 });
  for (let j = 0; j < 105; j++)
    dt.push({ image_id: busy, category_id: 1, bbox: [96 + rng.int(0, 8), 96 + rng.int(0, 8), 40, 40], score: rng.int(1, 100) / 100 });
  for (let i = dt.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [dt[i], dt[j]] = [dt[j]!, dt[i]!];
  }
  return { gt: { images, annotations, categories }, dt };
}

const REFERENCE_STATS = [
  0.07735408707362566, 0.13405889614448702, 0.06858653164078016, 0.0341034103410341, 0.0783107370605531, 0.6548184818481847, 0.12444444444444444,
  0.26166666666666666, 0.2764814814814815, 0.075, 0.23287545787545785, 0.7833333333333333,
];

const REFERENCE_LINES = `\
 Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.077
 Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.134
 Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.069
 Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.034
 Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.078
 Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.655
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.124
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.262
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.276
 Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.075
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.233
 Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.783`;

describe('evaluateCoco against pycocotools numbers', () => {
  test("a tricky fixed data set gives pycocotools' stats to the last bit and its printout", () => {
    const { gt, dt } = refDataset();
    assert.equal(gt.annotations.length, 44);
    assert.equal(dt.length, 166);
    const r = evaluateCoco(gt, dt);
    assert.deepEqual(r.stats, REFERENCE_STATS);
    assert.equal(formatCocoSummary(r.stats), REFERENCE_LINES);
    // Two entries of the accumulated arrays: sum of precision[0, :, 0, 0, 2] and recall[0, 1, 0, 2].
    const [T, R, K, A, M] = r.precision.shape as [number, number, number, number, number];
    assert.deepEqual([T, R, K, A, M], [10, 101, 3, 4, 3]);
    let s = 0;
    for (let i = 0; i < R; i++) s += r.precision.data[((0 * R + i) * K + 0) * A * M + 0 * M + 2]!;
    assert.ok(Math.abs(s - 14.960754622688654) < 1e-12, String(s));
    assert.equal(r.recall.data[((0 * K + 1) * A + 0) * M + 2], 0.4);
  });
});
