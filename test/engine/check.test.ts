/** The numerical checks must be able to fail: a wrong gradient and a wrong kernel are caught. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { finiteDifferenceCheck, type GradientCase, initBackend, Rng, relativeMaxError } from '../../src/index.js';

before(async () => {
  await initBackend('wasm');
});

test('relativeMaxError is relative to the reference scale and propagates NaN', () => {
  assert.equal(relativeMaxError([1, 2], [1, 2]), 0);
  assert.ok(Math.abs(relativeMaxError([1, 2.2], [1, 2]) - 0.1) < 1e-12);
  assert.ok(Number.isNaN(relativeMaxError([NaN, 1], [1, 1])));
  assert.equal(relativeMaxError([1], [1, 2]), Number.POSITIVE_INFINITY);
});

test('finite differences accept a correct gradient', () => {
  const gc: GradientCase = { name: 'tanh', detail: '', shapes: [[4, 5]], fn: (x) => tf.tanh(x) };
  assert.ok(finiteDifferenceCheck(gc, new Rng(1)) < 1e-3);
});

test('finite differences reject a wrong gradient', () => {
  // y = x³ whose custom gradient claims 2x (the true one is 3x²).
  const wrongCube = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return { value: tf.pow(x, 3), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(saved[0]!, 2)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const gc: GradientCase = { name: 'wrong', detail: '', shapes: [[10]], fn: (x) => wrongCube(x) as tf.Tensor };
  assert.ok(finiteDifferenceCheck(gc, new Rng(1)) > 0.1);
});
