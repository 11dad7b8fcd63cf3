/** The counting task's pieces without the network: the loss on hand-built counts, and the views (quadrant tiles, 2× downsampling). */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { countingLoss, nextRows } from '../../src/pretext/count/loss.js';
import { countSide, countViews } from '../../src/pretext/count/views.js';
import type { PretextBatch } from '../../src/pretext/types.js';

before(async () => {
  await initBackend('wasm');
});

const close = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('the counting loss is 0 when the tiles add up to the image and the other image is at least M away', () => {
  const down = tf.tensor2d([
    [4, 2],
    [0, 8],
  ]);
  // Tiles of image 0 sum to (4, 2), of image 1 to (0, 8).
  const tiles = tf.tensor2d([
    [1, 0],
    [1, 1],
    [1, 1],
    [1, 0],
    [0, 2],
    [0, 2],
    [0, 2],
    [0, 2],
  ]);
  // The other image of each: ‖other − tile sum‖² = 16 + 36 = 52 ≥ 10 (and 16 + 36 for image 1).
  const other = nextRows(down);
  assert.deepEqual(other.arraySync(), [
    [0, 8],
    [4, 2],
  ]);
  close(countingLoss(down, tiles, other, 10).dataSync()[0]!, 0);
  // Exactly at the margin: still 0.
  close(countingLoss(down, tiles, other, 52).dataSync()[0]!, 0);
});

test('the counting loss: the equality term, and the margin term when the other image is too close', () => {
  const down = tf.tensor2d([[3, 1]]);
  const tiles = tf.tensor2d([
    [1, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ]); // sum (1, 0): ‖down − sum‖² = 4 + 1 = 5
  const far = tf.tensor2d([[1, 5]]); // ‖far − sum‖² = 25 ≥ 10: margin term 0
  close(countingLoss(down, tiles, far, 10).dataSync()[0]!, 5);
  const near = tf.tensor2d([[2, 1]]); // ‖near − sum‖² = 1 + 1 = 2: margin term 10 − 2 = 8
  close(countingLoss(down, tiles, near, 10).dataSync()[0]!, 5 + 8);
  // Mean over the batch: the second image alone contributes 0 + max(0, 3 − 0).
  const loss = countingLoss(
    tf.tensor2d([
      [3, 1],
      [0, 0],
    ]),
    tf.tensor2d([
      [1, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]),
    tf.tensor2d([
      [1, 5],
      [0, 0],
    ]),
    3,
  );
  close(loss.dataSync()[0]!, (5 + 3) / 2);
  assert.throws(() => countingLoss(down, tf.tensor2d([[1, 0]]), far, 10), /countingLoss/);
});

/** An image whose four quadrants are constant colours, image i shifted by i / 10. */
function quadrantBatch(b: number, s: number): PretextBatch {
  const colours = [
    [0.1, 0.2, 0.3],
    [0.4, 0.5, 0.6],
    [0.7, 0.8, 0.9],
    [0.0, 0.5, 1.0],
  ];
  const images = new Float32Array(b * s * s * 3);
  for (let i = 0; i < b; i++)
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) {
        const q = (y < s / 2 ? 0 : 2) + (x < s / 2 ? 0 : 1);
        for (let c = 0; c < 3; c++) images[((i * s + y) * s + x) * 3 + c] = colours[q]![c]! * 0.9 + i / 10;
      }
  return { images, shape: [b, s, s, 3] };
}

test('the tiles are the quadrants (TL, TR, BL, BR, image by image) and D(x) the image at half size', () => {
  for (const [s, forceResize] of [
    [64, false],
    [64, true],
    [96, false],
  ] as const) {
    const batch = quadrantBatch(2, s);
    const side = countSide(s, 32);
    assert.equal(side, s === 96 ? 64 : 32);
    const { down, tiles } = countViews(batch, 32, forceResize);
    assert.deepEqual(down.shape, [2, side, side, 3]);
    assert.deepEqual(tiles.shape, [8, side, side, 3]);
    const t = tiles.arraySync();
    const d = down.arraySync();
    for (let i = 0; i < 2; i++)
      for (let q = 0; q < 4; q++) {
        const want = [0, 1, 2].map((c) => batch.images[i * s * s * 3 + ((q >> 1) * (s / 2) * s + (q & 1) * (s / 2)) * 3 + c]!);
        // Every pixel of the tile is its quadrant's colour: nothing of a neighbouring quadrant leaks in.
        for (const row of t[i * 4 + q]!)
          for (const px of row)
            px.forEach((v, c) => {
              close(v, want[c]!);
            });
        // The matching quadrant of D(x) shows the same colour away from the seams.
        const y = (q >> 1) * (side / 2) + side / 4;
        const x = (q & 1) * (side / 2) + side / 4;
        d[i]![y]![x]!.forEach((v, c) => {
          close(v, want[c]!);
        });
      }
  }
});

test('the exact tensor views equal the resized ones at S = 64 (D(x) is the 2×2 average)', () => {
  const s = 64;
  const images = new Float32Array(2 * s * s * 3);
  for (let k = 0; k < images.length; k++) images[k] = (Math.sin(k * 0.37) + 1) / 2;
  const batch: PretextBatch = { images, shape: [2, s, s, 3] };
  const a = countViews(batch, 32);
  const b = countViews(batch, 32, true);
  close(tf.max(tf.abs(tf.sub(a.down, b.down))).dataSync()[0]!, 0, 1e-6);
  close(tf.max(tf.abs(tf.sub(a.tiles, b.tiles))).dataSync()[0]!, 0, 1e-6);
  // D(x)[0, 0] = the mean of the top-left 2×2 pixels.
  const mean = (images[0]! + images[3]! + images[s * 3]! + images[s * 3 + 3]!) / 4;
  close(a.down.arraySync()[0]![0]![0]![0]!, mean, 1e-6);
});
