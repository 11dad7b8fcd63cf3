/**
 * Class maps (tasks/segment/class-map.ts), shared by `yolor predict` and the
 * browser demo: argmax ties go to the lower class as tf.argMax's do, and the
 * map of a letterboxed input is carried back to the original image by the
 * input pixel under each image pixel's centre.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { letterboxParams } from '../../src/data/letterbox.js';
import { initBackend } from '../../src/engine/backend.js';
import { argmaxClasses, unletterboxClassMap } from '../../src/tasks/segment/class-map.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

test('argmaxClasses equals tf.argMax over the last axis, ties included', () => {
  const rng = new Rng(4);
  // Scores rounded to a coarse grid, so that ties are common.
  const scores = Float32Array.from(rng.normalArray(500 * 7), (v) => Math.round(v * 2) / 2);
  const ours = argmaxClasses(scores, 7);
  const ref = tf.tidy(() => tf.argMax(tf.tensor2d(scores, [500, 7]), -1).dataSync());
  assert.deepEqual(Array.from(ours), Array.from(ref));
  assert.ok(
    Array.from({ length: 500 }, (_, p) => scores.subarray(p * 7, p * 7 + 7)).some((r) => r.filter((v) => v === Math.max(...r)).length > 1),
    'the case has ties',
  );
  assert.deepEqual(Array.from(argmaxClasses([0, 0, 1, 1, -2, -2], 2)), [0, 0, 0]);
  assert.throws(() => argmaxClasses(new Float32Array(5), 2), /not N × 2/);
});

test('unletterboxClassMap: each image pixel takes the input pixel under its centre', () => {
  // A 6×3 image letterboxed into 12×12: scale 2, padY 3 (rows 3..8 hold the image).
  const p = letterboxParams(6, 3, 12, 32, false, true);
  assert.deepEqual([p.scale, p.padX, p.padY], [2, 0, 3]);
  const input = new Uint8Array(12 * 12);
  // Input pixel (x, y) has class 1 + (x >> 1) on the image rows, 9 on the padding.
  for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) input[y * 12 + x] = y >= 3 && y < 9 ? 1 + (x >> 1) : 9;
  const out = unletterboxClassMap(input, 12, 12, p, 6, 3);
  assert.deepEqual(Array.from(out), [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
  // A shrunk image (scale < 1): the sampled input pixel is floor((x + 0.5)·scale + pad).
  const q = { scale: 0.5, padX: 1, padY: 0 };
  const small = Uint8Array.from({ length: 4 * 2 }, (_, i) => i);
  assert.deepEqual(Array.from(unletterboxClassMap(small, 4, 2, q, 4, 4)), [1, 1, 2, 2, 1, 1, 2, 2, 5, 5, 6, 6, 5, 5, 6, 6]);
  assert.throws(() => unletterboxClassMap(small, 3, 3, q, 4, 4), /8 classes for a 3×3 input/);
});
