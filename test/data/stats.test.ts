import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { computeDatasetStats, countHistogram } from '../../src/data/stats.js';
import type { DetectionDataset, ImageRecord } from '../../src/data/types.js';
import { niceTicks, plotDatasetStats } from '../../src/plot/data-stats.js';

function im(id: number, width: number, height: number, boxes: [number, number, number, number, number][]): ImageRecord {
  return {
    id,
    file: `/d/${id}.jpg`,
    width,
    height,
    annotations: boxes.map(([cls, ...box]) => ({ cls, box: box as [number, number, number, number] })),
  };
}

/** 4 images: class a ×22, b ×2 (under 10% of a), c ×0; one image without labels; one difficult, one crowd. */
function handMade(): DetectionDataset {
  const many: [number, number, number, number, number][] = Array.from({ length: 20 }, (_, i) => [0, i, 0, i + 10, 10]);
  const images = [
    im(0, 100, 100, [
      [0, 0, 0, 50, 50],
      [1, 0, 0, 10, 10],
    ]), // relative sizes 0.5 and 0.1
    im(1, 200, 100, [
      [0, 0, 0, 200, 100],
      [1, 10, 10, 50, 30],
    ]), // 1.0 and sqrt(800/20000) = 0.2
    im(2, 100, 100, many), // 20 × 0.1
    im(3, 100, 100, []),
  ];
  images[0]!.annotations[0]!.difficult = true;
  images[1]!.annotations[0]!.iscrowd = true;
  return {
    name: 'hand',
    source: '/d',
    format: 'voc',
    names: ['a', 'b', 'c'],
    splits: { all: images },
    bad: [
      { file: '/d/x.xml', problem: 'object 0 (a): box [1, 1, 1, 5] has non-positive width or height', action: 'dropped' },
      { file: '/d/y.xml', problem: 'box clipped', action: 'clipped' },
    ],
  };
}

test('stats of a hand-made dataset', () => {
  const ds = handMade();
  const s = computeDatasetStats(ds, ds.splits.all!, 'all');
  assert.equal(s.images, 4);
  assert.deepEqual(s.instances, { a: 22, b: 2, c: 0 });
  assert.deepEqual(s.imagesPerClass, { a: 3, b: 2, c: 0 });
  assert.equal(s.totalInstances, 24);
  assert.equal(s.difficult, 1);
  assert.equal(s.crowd, 1);
  assert.equal(s.boxesPerImage.mean, 6);
  assert.equal(s.boxesPerImage.max, 20);
  assert.deepEqual(s.boxesPerImage.histogram, { binWidth: 1, counts: [1, 0, 2, ...new Array(17).fill(0), 1] });
  assert.equal(s.imagesWithoutLabels, 1);
  assert.deepEqual(s.imagesWithoutLabelsExamples, ['/d/3.jpg']);
  // sqrt(area) / sqrt(image area): 0.5, 0.1, 1.0, 0.2, 20 × 0.1 → bins of 0.05
  const expected = new Array(20).fill(0);
  expected[2] = 21;
  expected[4] = 1;
  expected[10] = 1;
  expected[19] = 1;
  assert.deepEqual(s.boxSize.counts, expected);
  assert.equal(s.boxSize.median, 0.1);
  assert.deepEqual(s.sizeRanges, { small: 22, medium: 1, large: 1 }); // 100, 800, 20 × 100 px² | 2500 | 20000
  assert.equal(
    s.boxWh.counts.reduce((a, b) => a + b, 0),
    24,
  );
  assert.equal(s.boxWh.counts[31 * 32 + 31], 1); // the whole-image box
  assert.deepEqual(s.imageSizes, { distinct: 2, min: [100, 100], max: [200, 100], common: [100, 100] });
  assert.deepEqual(
    s.imbalance.map((w) => [w.class, w.count, w.largest]),
    [
      ['b', 2, 'a'],
      ['c', 0, 'a'],
    ],
  );
  assert.deepEqual(s.warnings, [
    "class 'b' has 2 instances, 9.1% of 'a' (22): under-represented",
    "class 'c' has no instances",
    '1 of 4 images have no labels (background images)',
    '2 bad input entries (1 dropped, 1 clipped)',
  ]);
  assert.equal(s.bad.length, 2);
  assert.deepEqual(s.badByAction, { dropped: 1, clipped: 1 });
  assert.doesNotThrow(() => JSON.stringify(s));
});

test('stats of an empty split do not throw', () => {
  const ds: DetectionDataset = { name: 'e', source: '/e', format: 'coco', names: ['a'], splits: { all: [] }, bad: [] };
  const s = computeDatasetStats(ds, [], 'all');
  assert.equal(s.images, 0);
  assert.equal(s.boxesPerImage.mean, 0);
  assert.deepEqual(s.warnings, ["split 'all' has no images"]);
});

test('count histograms widen their bins beyond 50 values; nice ticks', () => {
  assert.deepEqual(countHistogram([0, 1, 1, 3]), { binWidth: 1, counts: [1, 2, 0, 1] });
  const h = countHistogram([0, 99, 100, 250]);
  assert.equal(h.binWidth, 6);
  assert.equal(
    h.counts.reduce((a, b) => a + b, 0),
    4,
  );
  assert.deepEqual(niceTicks(4153), [0, 1000, 2000, 3000, 4000, 5000]);
  assert.deepEqual(niceTicks(7), [0, 2, 4, 6, 8]);
});

test('the stats plot is a readable 1600×1200 PNG', async () => {
  const ds = handMade();
  const path = join(mkdtempSync(join(tmpdir(), 'yolor-plot-')), 'sub', 'stats.png');
  await plotDatasetStats(computeDatasetStats(ds, ds.splits.all!, 'all'), path);
  assert.deepEqual([...readFileSync(path).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const meta = await sharp(path).metadata();
  assert.deepEqual([meta.width, meta.height], [1600, 1200]);
  const empty: DetectionDataset = { name: 'e', source: '/e', format: 'coco', names: [], splits: { all: [] }, bad: [] };
  await plotDatasetStats(computeDatasetStats(empty, [], 'all'), path);
  rmSync(join(path, '..', '..'), { recursive: true, force: true });
});
