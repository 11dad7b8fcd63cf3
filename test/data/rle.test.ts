import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { readCoco } from '../../src/data/formats/coco/read.js';
import { cocoMask, type SegmentedAnnotation } from '../../src/data/formats/coco/segmentation.js';
import {
  decodeRle,
  encodeOwnerRle,
  encodeRle,
  maskRuns,
  maskToRle,
  rleDecodeString,
  rleEncodeString,
  rleToMask,
  runsToMask,
} from '../../src/data/rle.js';
import { Rng } from '../../src/util/rng.js';
import { tmp } from '../helpers/tmp.js';

/** A random row-major mask of blobs (runs of several pixels, some touching the borders). */
function randomMask(rng: Rng, height: number, width: number): Uint8Array {
  const mask = new Uint8Array(height * width);
  for (let k = rng.int(0, 4); k > 0; k--) {
    const x0 = rng.int(0, width - 1),
      y0 = rng.int(0, height - 1);
    const x1 = rng.int(x0, width - 1),
      y1 = rng.int(y0, height - 1);
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) mask[y * width + x] = rng.next() < 0.9 ? 1 : 0;
  }
  return mask;
}

test('RLE scan orders: row-major runs go along the rows, column-major (COCO) down the columns', () => {
  // 2 rows × 3 columns:  1 1 0
  //                      0 1 1
  const mask = Uint8Array.from([1, 1, 0, 0, 1, 1]);
  assert.deepEqual(maskRuns(mask, 2, 3, 'row-major'), [0, 2, 2, 2]);
  assert.deepEqual(maskRuns(mask, 2, 3, 'column-major'), [0, 1, 1, 2, 1, 1]); // columns: (1,0) (1,1) (0,1)
  assert.deepEqual(runsToMask([0, 2, 2, 2], 2, 3, 'row-major'), mask);
  assert.deepEqual(runsToMask([0, 1, 1, 2, 1, 1], 2, 3, 'column-major'), mask);
  assert.deepEqual(maskToRle(mask, 2, 3), { size: [2, 3], counts: [0, 1, 1, 2, 1, 1] });
  assert.deepEqual(rleToMask({ size: [2, 3], counts: rleEncodeString([0, 1, 1, 2, 1, 1]) }), mask);
  // the generated datasets' row-major counts always close with a run of zeros (an odd count)
  assert.deepEqual(encodeRle(mask), [0, 2, 2, 2, 0]);
  assert.deepEqual(decodeRle([0, 2, 2, 2, 0], 3, 2), mask);
  // runs that end early: COCO's reader fills the rest with 0s, the generated datasets' must cover the mask
  assert.deepEqual(runsToMask([1, 2], 2, 3, 'column-major'), Uint8Array.from([0, 1, 0, 1, 0, 0]));
  assert.throws(() => decodeRle([1, 2], 3, 2), /runs cover 3 pixels, the mask has 3x2 = 6/);
  assert.throws(() => runsToMask([1, -2], 2, 3, 'row-major'), /bad run length -2 at pixel 1/);
  assert.throws(() => runsToMask([1, 1.5], 2, 3, 'column-major'), /bad run length 1\.5/);
});

test('RLE round trips: random masks in both orders, compressed strings, and across orders', () => {
  const rng = new Rng(7);
  for (let i = 0; i < 200; i++) {
    const h = rng.int(1, 40),
      w = rng.int(1, 40);
    const mask = randomMask(rng, h, w);
    for (const order of ['row-major', 'column-major'] as const) {
      const runs = maskRuns(mask, h, w, order);
      assert.equal(
        runs.reduce((s, c) => s + c, 0),
        h * w,
      );
      assert.ok(
        runs.slice(1, -1).every((c) => c > 0),
        'only the first and the last run can be empty',
      );
      assert.deepEqual(runsToMask(runs, h, w, order, true), mask, `${order} ${w}x${h}`);
    }
    assert.deepEqual(decodeRle(encodeRle(mask), w, h), mask);
    const coco = maskToRle(mask, h, w);
    const compressed = rleEncodeString(coco.counts as number[]);
    assert.deepEqual(rleDecodeString(compressed), coco.counts);
    assert.deepEqual(rleToMask({ size: [h, w], counts: compressed }), mask);
    // a generated dataset's mask (row-major) written as COCO (column-major) and back
    assert.deepEqual(rleToMask(maskToRle(decodeRle(encodeRle(mask), w, h), h, w)), mask);
  }
});

test('RLE against the COCO reader: masks written as RLE (compressed or not) and polygons come back from readCoco as they were', async () => {
  const dir = tmp('rle-coco');
  const rng = new Rng(3);
  const sizes: [number, number][] = [
    [30, 40],
    [17, 23],
    [64, 9],
  ]; // [height, width]
  const masks: Uint8Array[][] = [];
  const annotations: Record<string, unknown>[] = [];
  const images: Record<string, unknown>[] = [];
  for (const [i, [h, w]] of sizes.entries()) {
    await sharp({ create: { width: w, height: h, channels: 3, background: '#404040' } })
      .png()
      .toFile(join(dir, `${i}.png`));
    images.push({ id: i + 1, file_name: `${i}.png`, width: w, height: h });
    const list: Uint8Array[] = [];
    for (let k = 0; k < 3; k++) {
      let mask = randomMask(rng, h, w);
      if (!mask.some((v) => v)) mask = Uint8Array.from(mask, (_, p) => (p === 0 ? 1 : 0));
      list.push(mask);
      const rle = maskToRle(mask, h, w);
      const segmentation = k === 0 ? rle : { size: rle.size, counts: rleEncodeString(rle.counts as number[]) };
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: 1, bbox: [0, 0, w, h], iscrowd: k === 2 ? 1 : 0, segmentation });
    }
    masks.push(list);
  }
  // a polygon: a 6×4 rectangle at (2, 3) rasterises to exactly its 24 pixels
  annotations.push({ id: 99, image_id: 1, category_id: 1, bbox: [2, 3, 6, 4], segmentation: [[2, 3, 8, 3, 8, 7, 2, 7]] });
  const path = join(dir, 'instances_val.json');
  writeFileSync(path, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'blob' }] }));
  const ds = await readCoco(path);
  assert.deepEqual(ds.bad, []);
  ds.splits.val!.forEach((rec, i) => {
    const anns = rec.annotations as SegmentedAnnotation[];
    masks[i]!.forEach((mask, k) => {
      assert.deepEqual(cocoMask(anns[k]!, rec.height, rec.width), mask, `image ${i} mask ${k}`);
      assert.equal(!!anns[k]!.iscrowd, k === 2);
    });
  });
  const poly = cocoMask(ds.splits.val![0]!.annotations[3] as SegmentedAnnotation, 30, 40)!;
  const expect = new Uint8Array(30 * 40);
  for (let y = 3; y < 7; y++) expect.fill(1, y * 40 + 2, y * 40 + 8);
  assert.deepEqual(poly, expect);
});

test('COCO RLE: hand-made compressed counts decode (delta rule, sign, multi-chunk) and re-encode', () => {
  assert.deepEqual(rleDecodeString('23111'), [2, 3, 1, 4, 2]); // index 3: 1 + counts[1]; index 4: 1 + counts[2]
  assert.deepEqual(rleDecodeString('161K2'), [1, 6, 1, 1, 3]); // 'K' = 27: chunk 11011, sign bit set → -5; 6 - 5 = 1
  assert.deepEqual(rleDecodeString('X1'), [40]); // 'X' = 40: 8 with the continuation bit, then 1 << 5
  for (const counts of [[2, 3, 1, 4, 2], [1, 6, 1, 1, 3], [0, 1000, 3, 70000, 0, 5], [12]]) {
    assert.deepEqual(rleDecodeString(rleEncodeString(counts)), counts);
  }
  assert.equal(rleEncodeString([1, 6, 1, 1, 3]), '161K2');
  // 3 rows × 4 columns, runs down the columns: 0 0 | 1 1 1 | 0 | 1 1 1 1 | 0 0
  const mask = rleToMask({ size: [3, 4], counts: '23111' });
  assert.deepEqual(Array.from(mask), [0, 1, 1, 1, /**/ 0, 1, 1, 0, /**/ 1, 0, 1, 0]);
  assert.deepEqual(rleToMask({ size: [3, 4], counts: [2, 3, 1, 4, 2] }), mask);
  assert.deepEqual(maskToRle(mask, 3, 4).counts, [2, 3, 1, 4, 2]);
  const ann: SegmentedAnnotation = { cls: 0, box: [0, 0, 4, 3], segmentation: { size: [3, 4], counts: '23111' } };
  assert.deepEqual(cocoMask(ann, 3, 4), mask);
  assert.throws(() => cocoMask(ann, 4, 3), /RLE size 4x3 .* does not match the 3x4 image/);
  assert.throws(() => rleToMask({ size: [2, 2], counts: [1, 9] }), /more than its 2x2 size/);
  assert.equal(cocoMask({ cls: 0, box: [0, 0, 1, 1] }, 3, 4), null);
});

test('row-major RLE (generated datasets): the owner-map encoder agrees with encodeRle; bad counts are rejected', () => {
  const W = 7;
  const H = 5;
  const owner = new Int16Array(W * H).fill(-1);
  for (const p of [0, 1, 6, 7, 13, 14, 20, 34]) owner[p] = 3;
  const mask = Uint8Array.from(owner, (v) => (v === 3 ? 1 : 0));
  const rle = encodeRle(mask);
  assert.equal(rle.length % 2, 1);
  assert.equal(
    rle.reduce((s, c) => s + c, 0),
    W * H,
  );
  assert.deepEqual(decodeRle(rle, W, H), mask);
  assert.deepEqual(encodeOwnerRle(owner, 3, [0, 0, W, H], W, H), rle);
  const owner2 = new Int16Array(W * H).fill(-1);
  for (const p of [9, 10, 16, 17, 23]) owner2[p] = 0;
  const mask2 = Uint8Array.from(owner2, (v) => (v === 0 ? 1 : 0));
  assert.deepEqual(encodeOwnerRle(owner2, 0, [2, 1, 4, 4], W, H), encodeRle(mask2));
  assert.deepEqual(encodeRle(new Uint8Array(6)), [6]);
  assert.throws(() => decodeRle([3, 2], W, H), /cover 5 pixels.*35/);
  assert.throws(() => decodeRle([40], W, H), /bad run length 40/);
});
