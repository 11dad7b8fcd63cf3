/**
 * Labelled image sets for the linear probe (src/data/classification.ts): the
 * class-per-folder layouts, object crops of a detection dataset, Fashion-MNIST
 * (skipped without its IDX files), item limits, and errors that name the file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type ClassificationSplit,
  classificationBatch,
  cropBox,
  isFashionMnistSpec,
  limitIndices,
  loadClassificationData,
  resizeCenterCrop,
} from '../../src/data/classification.js';
import { fashionAvailable } from '../../src/data/datasets/fashion-source.js';
import { writeImage } from '../../src/data/image-io.js';
import type { RgbImage } from '../../src/data/types.js';
import { tmp } from '../helpers/tmp.js';

function solid(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { data, width: w, height: h };
}

const COLORS: Record<string, [number, number, number]> = { red: [220, 20, 20], green: [20, 200, 20], blue: [20, 20, 230] };

/** `root/<class>/img<i>.png` for every class: n solid images of the class colour (sizes vary). */
async function classFolder(root: string, n: number, classes = Object.keys(COLORS)): Promise<void> {
  for (const c of classes) {
    mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < n; i++) await writeImage(join(root, c, `img${i}.png`), solid(20 + i, 16 + 2 * i, COLORS[c]!));
  }
}

async function allImages(split: ClassificationSplit): Promise<RgbImage[]> {
  return Promise.all(Array.from({ length: split.count }, (_, i) => split.image(i)));
}

test('class folders with train/ and val/: sorted class names, labels, images at the asked size', async () => {
  const root = tmp('cls-two');
  await classFolder(join(root, 'train'), 3);
  await classFolder(join(root, 'val'), 2, ['blue', 'red']);
  const d = await loadClassificationData(root, { size: 24 });
  assert.equal(d.kind, 'folder');
  assert.deepEqual(d.names, ['blue', 'green', 'red']);
  assert.equal(d.train.count, 9);
  assert.equal(d.test.count, 4);
  assert.deepEqual(
    Array.from({ length: d.test.count }, (_, i) => d.test.label(i)),
    [0, 0, 2, 2],
  );
  for (const [split, images] of [
    [d.train, await allImages(d.train)],
    [d.test, await allImages(d.test)],
  ] as const) {
    images.forEach((im, i) => {
      assert.equal(im.width, 24);
      assert.equal(im.height, 24);
      const colour = COLORS[d.names[split.label(i)]!]!;
      assert.deepEqual(Array.from(im.data.subarray(0, 3)), colour, split.describe(i));
    });
  }
  assert.match(d.test.describe(0), /val\/blue\/img0\.png$/);
  const batch = await classificationBatch(d.train, [0, 4]);
  assert.equal(batch.length, 2 * 24 * 24 * 3);
  assert.ok(batch.every((v) => v >= 0 && v <= 1));
});

test('one-level class folders split 80/20: every fifth file of a class (sorted by name) is test', async () => {
  const root = tmp('cls-one');
  await classFolder(root, 10, ['green', 'red']);
  const d = await loadClassificationData(root, { size: 16 });
  assert.equal(d.train.count, 16);
  assert.equal(d.test.count, 4);
  const testFiles = Array.from({ length: d.test.count }, (_, i) => d.test.describe(i).split('/').slice(-2).join('/'));
  // Sorted by name: img0 … img3, img4 (→ test), img5 … img8, img9 (→ test).
  assert.deepEqual(testFiles, ['green/img4.png', 'green/img9.png', 'red/img4.png', 'red/img9.png']);
  assert.match(d.splitNote, /every fifth/);
});

test('limits keep the first N of a seeded shuffle, in order, the same for the same seed', async () => {
  assert.deepEqual(Array.from(limitIndices(5, undefined, 0)), [0, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(limitIndices(5, 9, 0)), [0, 1, 2, 3, 4]);
  const a = Array.from(limitIndices(100, 10, 1));
  assert.equal(a.length, 10);
  assert.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
  );
  assert.deepEqual(Array.from(limitIndices(100, 10, 1)), a);
  assert.notDeepEqual(Array.from(limitIndices(100, 10, 2)), a);
  const root = tmp('cls-limit');
  await classFolder(root, 10);
  const d = await loadClassificationData(root, { size: 8, limitTrain: 5, limitTest: 2, seed: 3 });
  assert.equal(d.train.count, 5);
  assert.equal(d.test.count, 2);
  assert.deepEqual(d.full, { train: 24, test: 6 });
});

test('bad folders: errors name the empty class folder, the unreadable image, the missing layout', async () => {
  const empty = tmp('cls-empty');
  await classFolder(empty, 5, ['red']);
  mkdirSync(join(empty, 'zebra'));
  await assert.rejects(
    loadClassificationData(empty, { size: 8 }),
    (e: Error) => e.message.includes(join(empty, 'zebra')) && /empty class folder/.test(e.message),
  );

  const none = tmp('cls-none');
  await assert.rejects(loadClassificationData(none, { size: 8 }), /no class folders/);
  await assert.rejects(loadClassificationData(join(none, 'missing'), { size: 8 }), /no such folder/);

  const noVal = tmp('cls-noval');
  await classFolder(join(noVal, 'train'), 2);
  await assert.rejects(loadClassificationData(noVal, { size: 8 }), /no val\/ or test\//);

  const extraClass = tmp('cls-extra');
  await classFolder(join(extraClass, 'train'), 2, ['red']);
  await classFolder(join(extraClass, 'val'), 2, ['red', 'green']);
  await assert.rejects(loadClassificationData(extraClass, { size: 8 }), /class 'green' has no folder/);

  const broken = tmp('cls-broken');
  await classFolder(broken, 5, ['red', 'green']);
  const bad = join(broken, 'red', 'img2.png');
  writeFileSync(bad, 'not a png');
  const d = await loadClassificationData(broken, { size: 8 });
  const i = Array.from({ length: d.train.count }, (_, k) => k).find((k) => d.train.describe(k) === bad)!;
  await assert.rejects(d.train.image(i), (e: Error) => e.message.startsWith(bad));
  await assert.rejects(classificationBatch(d.train, [0, i]), (e: Error) => e.message.startsWith(bad));
});

test('resizeCenterCrop keeps the middle; cropBox pads outside the image with grey', () => {
  const im = solid(40, 20, [0, 0, 0]);
  for (let y = 0; y < 20; y++) for (let x = 10; x < 30; x++) im.data.set([255, 255, 255], (y * 40 + x) * 3);
  const c = resizeCenterCrop(im, 10);
  assert.equal(c.width, 10);
  assert.ok(
    c.data.every((v) => v === 255),
    'the centred square is the white middle',
  );
  const corner = cropBox(solid(10, 10, [200, 0, 0]), [0, 0, 4, 4], 0.5, 8);
  assert.equal(corner.width, 8);
  assert.deepEqual(Array.from(corner.data.subarray(0, 3)), [114, 114, 114]);
  const mid = ((4 * 8 + 4) * 3) as number;
  assert.deepEqual(Array.from(corner.data.subarray(mid, mid + 3)), [200, 0, 0]);
});

/** A VOC dataset of PNG images with one coloured square per class on grey. */
async function vocWithSquares(root: string): Promise<void> {
  for (const d of ['Annotations', 'JPEGImages', join('ImageSets', 'Main')]) mkdirSync(join(root, d), { recursive: true });
  const splits: Record<string, string[]> = { train: [], val: [] };
  const classes = Object.keys(COLORS);
  for (let k = 0; k < 6; k++) {
    const stem = `im${k}`;
    const img = solid(64, 48, [128, 128, 128]);
    const objects: string[] = [];
    for (const [j, c] of [classes[k % 3]!, classes[(k + 1) % 3]!].entries()) {
      const [x0, y0, s] = [4 + j * 30, 6 + j * 10, 16];
      for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) img.data.set(COLORS[c]!, (y * 64 + x) * 3);
      objects.push(
        `<object><name>${c}</name><difficult>0</difficult><bndbox><xmin>${x0}</xmin><ymin>${y0}</ymin><xmax>${x0 + s}</xmax><ymax>${y0 + s}</ymax></bndbox></object>`,
      );
    }
    await writeImage(join(root, 'JPEGImages', `${stem}.png`), img);
    writeFileSync(
      join(root, 'Annotations', `${stem}.xml`),
      `<annotation><filename>${stem}.png</filename><size><width>64</width><height>48</height><depth>3</depth></size>${objects.join('')}</annotation>`,
    );
    splits[k < 4 ? 'train' : 'val']!.push(stem);
  }
  for (const [s, list] of Object.entries(splits)) writeFileSync(join(root, 'ImageSets', 'Main', `${s}.txt`), `${list.join('\n')}\n`);
}

test('object crops of a detection dataset: one item per box, labelled by its class, the box in the middle', async () => {
  const root = tmp('cls-crops');
  await vocWithSquares(root);
  const d = await loadClassificationData(root, { size: 32, crops: true });
  assert.equal(d.kind, 'crops');
  assert.deepEqual(d.names, ['blue', 'green', 'red']);
  assert.equal(d.train.count, 8);
  assert.equal(d.test.count, 4);
  for (const split of [d.train, d.test]) {
    const images = await allImages(split);
    images.forEach((im, i) => {
      assert.equal(im.width, 32);
      const centre = (16 * 32 + 16) * 3;
      assert.deepEqual(Array.from(im.data.subarray(centre, centre + 3)), COLORS[d.names[split.label(i)]!], split.describe(i));
      // A 10 % margin: the corner is context (grey background or the image border), not the square.
      assert.notDeepEqual(Array.from(im.data.subarray(0, 3)), COLORS[d.names[split.label(i)]!], split.describe(i));
    });
  }
  assert.match(d.train.describe(0), /im0\.png box 0 \(/);
  await assert.rejects(loadClassificationData(join(root, 'nope'), { size: 32, crops: true }), /not found/);
});

test('Fashion-MNIST: 10 classes, 60 000 / 10 000 items, grey made RGB at the asked size', async (t) => {
  if (!fashionAvailable()) {
    t.skip('the Fashion-MNIST IDX files are not installed (apt-get install dataset-fashion-mnist)');
    return;
  }
  assert.ok(isFashionMnistSpec('fashion-mnist'));
  const d = await loadClassificationData('fashion-mnist', { size: 32, limitTrain: 50, limitTest: 20 });
  assert.equal(d.kind, 'fashion-mnist');
  assert.equal(d.names.length, 10);
  assert.deepEqual(d.full, { train: 60000, test: 10000 });
  assert.equal(d.train.count, 50);
  const im = await d.train.image(0);
  assert.equal(im.width, 32);
  for (let p = 0; p < 32 * 32; p++) {
    assert.equal(im.data[p * 3], im.data[p * 3 + 1]);
    assert.equal(im.data[p * 3], im.data[p * 3 + 2]);
  }
  assert.ok(d.train.label(0) >= 0 && d.train.label(0) < 10);
  assert.match(d.train.describe(0), /train-images/);
});
