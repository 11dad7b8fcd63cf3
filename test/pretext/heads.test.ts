import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { depthToSpace } from '../../src/pretext/heads.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

test("depthToSpace equals tfjs's and has a gradient (its adjoint)", () => {
  const rng = new Rng(1);
  const x = tf.tensor4d(rng.normalArray(2 * 3 * 4 * 12), [2, 3, 4, 12]);
  const ours = depthToSpace(x, 2);
  const theirs = tf.depthToSpace(x, 2, 'NHWC');
  assert.deepEqual(ours.shape, [2, 6, 8, 3]);
  assert.deepEqual(ours.dataSync(), theirs.dataSync());
  const w = tf.tensor4d(rng.normalArray(2 * 6 * 8 * 3), [2, 6, 8, 3]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(depthToSpace(v as tf.Tensor4D, 2), w)))(x);
  // <D x, w> = <x, Dᵀ w>: the gradient is w rearranged back, i.e. space-to-depth of w.
  assert.deepEqual(depthToSpace(g as tf.Tensor4D, 2).dataSync(), w.dataSync());
  tf.dispose([x, ours, theirs, w, g]);
});
