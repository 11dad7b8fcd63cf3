/** The hand-written training ops against finite differences and against tfjs's own composite ops. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrain, silu } from '../../src/engine/fused-ops.js';
import { finiteDifferenceCheck, type GradientCase, initBackend, Rng, relativeMaxError } from '../../src/index.js';

before(async () => {
  await initBackend('wasm');
});

/** Batch norm with batch statistics from tfjs's composite ops (tf.moments), differentiated by tfjs. */
function referenceBatchNorm(x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
}

describe('fused training ops', () => {
  const shape = [3, 4, 5, 6];
  const eps = 1e-3;
  const init = (rng: Rng, i: number, size: number): Float32Array =>
    i === 0
      ? Float32Array.from(rng.normalArray(size), (v, k) => 2 * v + (k % 6) - 2)
      : Float32Array.from(rng.normalArray(size), (v) => (i === 1 ? 1 + 0.3 * v : 0.3 * v));

  it('batch norm (training mode) has the gradient of finite differences for x, γ and β', () => {
    const gc: GradientCase = {
      name: 'batchNormTrain',
      detail: '',
      shapes: [shape, [6], [6]],
      init,
      eps: 1e-2,
      samples: 16,
      fn: (x, g, b) => batchNormTrain(x as tf.Tensor4D, g!, b!, eps),
    };
    assert.ok(finiteDifferenceCheck(gc, new Rng(3)) < 2e-3);
  });

  it("batch norm matches tfjs's composite batch norm in value and gradients", () => {
    const rng = new Rng(5);
    const xs = [init(rng, 0, 360), init(rng, 1, 6), init(rng, 2, 6)];
    const r = tf.tensor4d(rng.normalArray(360), shape as [number, number, number, number]);
    const run = (f: (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor): Float32Array[] =>
      tf.tidy(() => {
        const ins = [tf.tensor4d(xs[0]!, shape as [number, number, number, number]), tf.tensor1d(xs[1]!), tf.tensor1d(xs[2]!)];
        const y = f(ins[0] as tf.Tensor4D, ins[1]!, ins[2]!);
        const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, g, b), r)))(ins);
        return [y, ...grads].map((t) => t.dataSync() as Float32Array);
      });
    const got = run((x, g, b) => batchNormTrain(x, g, b, eps));
    const want = run((x, g, b) => referenceBatchNorm(x, g, b, eps));
    ['y', 'dx', 'dγ', 'dβ'].forEach((name, i) => {
      const e = relativeMaxError(got[i]!, want[i]!);
      assert.ok(e < 1e-4, `${name}: relative error ${e}`);
    });
    r.dispose();
  });

  it('batch norm reports the batch statistics it normalised with', () => {
    const x = tf.tensor4d([1, 10, 3, 20, 5, 30, 7, 40], [2, 2, 1, 2]);
    let seen: { mean: number[]; variance: number[]; count: number } | null = null;
    tf.tidy(() =>
      batchNormTrain(x, tf.ones([2]), tf.zeros([2]), 0, (m, v, count) => {
        seen = { mean: Array.from(m.dataSync()), variance: Array.from(v.dataSync()), count };
      }),
    );
    assert.deepEqual(seen, { mean: [4, 25], variance: [5, 125], count: 4 });
    x.dispose();
  });

  it('SiLU has the gradient of finite differences', () => {
    const gc: GradientCase = { name: 'silu', detail: '', shapes: [[5, 7]], fn: (x) => silu(x) };
    assert.ok(finiteDifferenceCheck(gc, new Rng(4)) < 1e-3);
  });
});
