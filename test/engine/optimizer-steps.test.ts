/**
 * The fused optimiser and EMA kernels give the composite ops' results bit for bit (so a
 * fixed-seed run is the same with or without them), on wasm (heap views) and on a backend
 * without a heap (the cpu reference, registered there for this test).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, kernelsInUse } from '../../src/engine/backend.js';
import { EMA_STEP, emaStepConfig, SGD_STEP, sgdStepConfig } from '../../src/engine/kernels/optimizer-steps.js';
import { loadNativeAddon } from '../../src/engine/native/index.js';
import { Rng } from '../../src/util/rng.js';

function cases(rng: Rng) {
  return [
    { shape: [3, 3, 16, 32], lr: 0.01, momentum: 0.937, weightDecay: 5e-4 },
    { shape: [37], lr: 0.1 / 3, momentum: 0.8, weightDecay: 0 },
    { shape: [2, 5], lr: 1e-3, momentum: 0.9, weightDecay: 0.05 },
  ].map((c) => ({
    ...c,
    x: rng.normalArray(c.shape.reduce((a, b) => a * b, 1)),
    m: rng.normalArray(
      c.shape.reduce((a, b) => a * b, 1),
      0.1,
    ),
    g: rng.normalArray(
      c.shape.reduce((a, b) => a * b, 1),
      0.01,
    ),
  }));
}

function compare(): void {
  for (const c of cases(new Rng(3))) {
    const [fx, fm, cx, cm] = tf.tidy(() => {
      const x = tf.tensor(c.x, c.shape);
      const m = tf.tensor(c.m, c.shape);
      const g0 = tf.tensor(c.g, c.shape);
      const [x1, m1] = tf
        .engine()
        .runKernel(SGD_STEP, { x, m, g: g0 }, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) as tf.Tensor[];
      const g = c.weightDecay > 0 ? tf.add(g0, tf.mul(x, c.weightDecay)) : g0;
      const v = tf.add(tf.mul(m, c.momentum), g);
      const x2 = tf.sub(x, tf.mul(tf.add(g, tf.mul(v, c.momentum)), c.lr));
      return [x1!, m1!, x2, v].map((t) => t.dataSync() as Float32Array);
    });
    assert.deepEqual(Array.from(fm!), Array.from(cm!), `momentum of [${c.shape}] on ${tf.getBackend()}`);
    assert.deepEqual(Array.from(fx!), Array.from(cx!), `variable of [${c.shape}] on ${tf.getBackend()}`);
    for (const d of [0, 0.3, 0.9999]) {
      const [fe, ce] = tf.tidy(() => {
        const s = tf.tensor(c.m, c.shape);
        const x = tf.tensor(c.x, c.shape);
        const e1 = tf.engine().runKernel(EMA_STEP, { shadow: s, x }, { decay: d }) as tf.Tensor;
        return [e1, tf.add(tf.mul(s, d), tf.mul(x, 1 - d))].map((t) => t.dataSync() as Float32Array);
      });
      assert.deepEqual(Array.from(fe!), Array.from(ce!), `EMA of [${c.shape}], decay ${d}, on ${tf.getBackend()}`);
    }
  }
}

test('fused SGD and EMA kernels equal the composite ops bit for bit on wasm', async () => {
  await initBackend('wasm');
  assert.ok(tf.getKernel(SGD_STEP, 'wasm') && tf.getKernel(EMA_STEP, 'wasm'), 'registered on wasm');
  compare();
});

test('… and with the native kernels (when the addon is built)', { skip: loadNativeAddon().addon ? false : 'native addon unavailable' }, async () => {
  await initBackend('native');
  assert.ok(kernelsInUse().some((k) => k.kernel === SGD_STEP && k.engine === 'native'));
  compare();
  await initBackend('wasm');
});

test('… and on a backend without a heap (cpu)', async () => {
  await initBackend('cpu');
  tf.registerKernel(sgdStepConfig('cpu'));
  tf.registerKernel(emaStepConfig('cpu'));
  try {
    compare();
  } finally {
    tf.unregisterKernel(SGD_STEP, 'cpu');
    tf.unregisterKernel(EMA_STEP, 'cpu');
    await initBackend('wasm');
  }
});
