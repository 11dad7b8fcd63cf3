/**
 * The wasm training kernels against the cpu reference, plus regression cases
 * for the failures they replace (missing kernels, the misrouting MaxPoolGrad).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { compareKernelWithCpu, initBackend, type KernelCase, Rng } from '../../src/index.js';

before(async () => {
  await initBackend('wasm');
});

function input(rng: Rng, shape: number[], shift = 0) {
  const values = rng.normalArray(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = values[i]! + shift;
  return { values, shape, dtype: 'float32' as const };
}

const rng = new Rng(99);
const cases: KernelCase[] = [
  {
    kernelName: 'Conv2DBackpropFilter',
    detail: 'stride 2 same, odd channels',
    inputs: { x: input(rng, [3, 9, 10, 5]), dy: input(rng, [3, 5, 5, 7]) },
    attrs: { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 5, 7] },
  },
  {
    kernelName: 'Conv2DBackpropInput',
    detail: 'stride 2 valid',
    inputs: { dy: input(rng, [2, 4, 4, 6]), filter: input(rng, [3, 3, 5, 6]) },
    attrs: { strides: [2, 2], pad: 'valid', dataFormat: 'NHWC', inputShape: [2, 9, 9, 5] },
  },
  {
    kernelName: 'Conv2DBackpropInput',
    detail: 'stride 1 explicit padding',
    inputs: { dy: input(rng, [1, 9, 7, 3]), filter: input(rng, [3, 2, 2, 3]) },
    attrs: {
      strides: [1, 1],
      pad: [
        [0, 0],
        [2, 1],
        [0, 1],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      inputShape: [1, 8, 7, 2],
    },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    detail: 'multiplier 2, stride 2',
    inputs: { x: input(rng, [2, 8, 8, 3]), dy: input(rng, [2, 4, 4, 6]) },
    attrs: { strides: [2, 2], dilations: [1, 1], pad: 'same', filterShape: [3, 3, 3, 2] },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    detail: 'multiplier 1, stride 1',
    inputs: { dy: input(rng, [2, 6, 6, 4]), filter: input(rng, [3, 3, 4, 1]) },
    attrs: { strides: [1, 1], dilations: [1, 1], pad: 'same', inputShape: [2, 6, 6, 4] },
  },
  {
    kernelName: 'MaxPoolGrad',
    detail: 'all-negative windows',
    inputs: {
      dy: input(rng, [2, 3, 3, 4]),
      input: input(rng, [2, 6, 6, 4], -3),
      output: { values: new Float32Array(72), shape: [2, 3, 3, 4], dtype: 'float32' },
    },
    attrs: { filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
  },
  {
    kernelName: 'UnsortedSegmentSum',
    detail: 'ids outside the range are dropped',
    inputs: { x: input(rng, [6, 2]), segmentIds: { values: Int32Array.from([0, 3, 3, -1, 4, 1]), shape: [6], dtype: 'int32' } },
    attrs: { numSegments: 4 },
  },
];

for (const c of cases) {
  test(`${c.kernelName} (${c.detail}) matches the cpu backend`, async () => {
    const err = await compareKernelWithCpu('wasm', c);
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
}

test('gradient of gather works on wasm (needs UnsortedSegmentSum)', () => {
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.gather(x, tf.tensor1d([0, 2, 2], 'int32'))))(tf.ones([3, 2]));
  assert.deepEqual(Array.from(g.dataSync()), [1, 1, 0, 0, 2, 2]);
});

test('max-pool gradient goes to the window maximum even when every value is negative', () => {
  const x = tf.tensor4d([-5, -1, -3, -4], [1, 2, 2, 1]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
  assert.deepEqual(Array.from(g.dataSync()), [0, 1, 0, 0]);
});

test('a stride-2 conv gradient matches the cpu backend end to end', async () => {
  const r = new Rng(5);
  const xv = r.normalArray(2 * 8 * 8 * 3);
  const wv = r.normalArray(3 * 3 * 3 * 4);
  const grads = () => {
    const x = tf.tensor4d(xv, [2, 8, 8, 3]);
    const w = tf.tensor4d(wv, [3, 3, 3, 4]);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, w]);
    return [gx!.dataSync(), gw!.dataSync()];
  };
  const onWasm = grads();
  await tf.setBackend('cpu');
  const onCpu = grads();
  await tf.setBackend('wasm');
  for (let k = 0; k < 2; k++) {
    const a = onWasm[k]!;
    const b = onCpu[k]!;
    const scale = Math.max(...Array.from(b, Math.abs));
    const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    assert.ok(diff / scale < 1e-4, `input ${k}: relative error ${diff / scale}`);
  }
});

test('nearest-neighbour upsampling gradients are exact on wasm and on the cpu reference for a batch of images', async () => {
  // tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad mixes up the images of a batch; initBackend('cpu') replaces it.
  const r = new Rng(8);
  const [n, h, w, c] = [3, 4, 5, 6];
  const xv = r.normalArray(n * h * w * c);
  const rv = r.normalArray(n * 2 * h * 2 * w * c);
  const want = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < 2 * h; y++) {
      for (let x = 0; x < 2 * w; x++) {
        for (let k = 0; k < c; k++)
          want[((b * h + Math.floor(y / 2)) * w + Math.floor(x / 2)) * c + k]! += rv[((b * 2 * h + y) * 2 * w + x) * c + k]!;
      }
    }
  }
  try {
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [2 * h, 2 * w]), tf.tensor4d(rv, [n, 2 * h, 2 * w, c]))),
      )(tf.tensor4d(xv, [n, h, w, c]));
      const got = g.dataSync();
      const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)));
      assert.ok(err < 1e-5, `${backend}: max error ${err}`);
      g.dispose();
    }
  } finally {
    await initBackend('wasm');
  }
});
