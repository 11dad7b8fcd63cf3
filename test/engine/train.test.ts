/** A small conv net trains on the wasm backend: the loss falls on a fixed batch. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '../../src/index.js';

test('a conv net with stride, depthwise, pooling, upsampling and BN trains on wasm', async () => {
  await initBackend('wasm');
  const rng = new Rng(11);
  const x = tf.tensor4d(rng.normalArray(4 * 16 * 16 * 3), [4, 16, 16, 3]);
  // Target: a fixed smooth function of the input, so the net can fit it.
  const target = tf.tidy(() => tf.image.resizeNearestNeighbor(tf.avgPool(tf.mean(x, 3, true) as tf.Tensor4D, 2, 2, 'same'), [16, 16]));
  const v = (shape: number[], scale: number) =>
    tf.variable(
      tf.tensor(
        rng.normalArray(
          shape.reduce((a, b) => a * b, 1),
          scale,
        ),
        shape,
      ),
    );
  const w1 = v([3, 3, 3, 8], 0.3);
  const dw = v([3, 3, 8, 1], 0.3);
  const w2 = v([1, 1, 8, 8], 0.3);
  const w3 = v([3, 3, 8, 1], 0.3);
  const gamma = tf.variable(tf.ones([8]));
  const beta = tf.variable(tf.zeros([8]));
  const net = (): tf.Scalar => {
    let h: tf.Tensor = tf.conv2d(x, w1 as tf.Tensor4D, 2, 'same'); // 8x8
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    h = tf.batchNorm(h, mean, variance, beta, gamma, 1e-3);
    h = tf.mul(h, tf.sigmoid(h)); // SiLU
    h = tf.depthwiseConv2d(h as tf.Tensor4D, dw as tf.Tensor4D, 1, 'same');
    h = tf.leakyRelu(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same'), 0.1);
    h = tf.maxPool(h as tf.Tensor4D, 3, 1, 'same');
    h = tf.image.resizeNearestNeighbor(h as tf.Tensor4D, [16, 16]);
    const y = tf.conv2d(h as tf.Tensor4D, w3 as tf.Tensor4D, 1, 'same');
    return tf.mean(tf.square(tf.sub(y, target)));
  };
  const opt = tf.train.adam(0.01);
  const first = tf.tidy(() => net().dataSync()[0]!);
  let last = first;
  for (let step = 0; step < 60; step++) {
    const loss = opt.minimize(net, true)!;
    last = loss.dataSync()[0]!;
    loss.dispose();
    assert.ok(Number.isFinite(last), `loss finite at step ${step}`);
  }
  assert.ok(last < first * 0.5, `loss fell from ${first} to ${last}`);
});
