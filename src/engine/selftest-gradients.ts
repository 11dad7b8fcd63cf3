/**
 * Gradient checks for every op a training step of the detection / multi-task
 * models uses: convolutions (plain, fused with bias and activation, depthwise,
 * strided, dilated), pooling, resizing, batch norm, the activations (SiLU,
 * LeakyReLU, Mish, sigmoid, ReLU), and the tensor plumbing and maths of the
 * losses (concat, slice, gather, pad, transpose, exp/log, atan, clip, softmax).
 * Inputs for non-smooth ops are drawn away from their kinks so that central
 * differences are meaningful.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { GradientCase } from './check.js';
import { batchNormActTrain, batchNormTrain as fusedBatchNormTrain, silu as fusedSilu, nativeBatchNormAct } from './fused-ops.js';

/** Values with |v| ≥ 0.1 and pairwise-distinct magnitudes: safe for ReLU-like kinks and max-pool ties. */
function awayFromKinks(rng: Rng, _i: number, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    const mag = 0.1 + rng.next() * 2;
    a[k] = rng.next() < 0.5 ? -mag : mag;
  }
  return a;
}

/** Like awayFromKinks, and at least 0.05 from each of `kinks` as well. */
function avoiding(...kinks: number[]) {
  return (rng: Rng, i: number, size: number): Float32Array => {
    const a = awayFromKinks(rng, i, size);
    for (let k = 0; k < size; k++) {
      while (kinks.some((p) => Math.abs(a[k]! - p) < 0.05)) a[k] = awayFromKinks(rng, i, 1)[0]!;
    }
    return a;
  };
}

/** A shuffled grid with spacing 0.05 (> 2ε), centred on 0 but never 0: no ties for max-pooling. */
function distinct(rng: Rng, i: number, size: number): Float32Array {
  const a = new Float32Array(size);
  // Offsetting each input by a quarter step keeps values of different inputs apart too.
  for (let k = 0; k < size; k++) a[k] = (k - size / 2 + 0.5 + i / 4) * 0.05;
  for (let k = size - 1; k > 0; k--) {
    const j = rng.int(0, k);
    [a[k], a[j]] = [a[j]!, a[k]!];
  }
  return a;
}

/**
 * For a fused conv + leaky ReLU: small inputs and filters, biases of ±(1.5…2.5)
 * per channel, so pre-activations sit far from the kink yet both slopes are used.
 */
function smallWithSignedBias(rng: Rng, i: number, size: number): Float32Array {
  if (i < 2) return rng.normalArray(size, 0.1);
  return Float32Array.from({ length: size }, (_, k) => (k % 2 === 0 ? 1 : -1) * (1.5 + rng.next()));
}

function positive(rng: Rng, _i: number, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let k = 0; k < size; k++) a[k] = 0.5 + rng.next() * 2;
  return a;
}

const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));
const mish = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.tanh(tf.softplus(x)));

function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
}

/** The native batch norm + activation op, where the native kernels are active (ReLU-like kinks are left to the unit tests). */
function nativeCases(): GradientCase[] {
  if (!nativeBatchNormAct('silu')) return [];
  return (['silu', 'linear'] as const).map((act) => ({
    name: `batchNorm+${act} (native fused op)`,
    detail: 'native build, x[4,3,3,5]',
    shapes: [[4, 3, 3, 5], [5], [5]],
    fn: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormActTrain(x as tf.Tensor4D, g, b, 1e-3, act),
  })) as GradientCase[];
}

export function gradientCases(_rng: Rng): GradientCase[] {
  return [
    ...nativeCases(),
    {
      name: 'conv2d',
      detail: 'x[2,6,6,3] w[3,3,3,4] s1 same',
      shapes: [
        [2, 6, 6, 3],
        [3, 3, 3, 4],
      ],
      fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    },
    {
      name: 'conv2d',
      detail: 'x[2,7,7,5] w[3,3,5,6] s2 valid',
      shapes: [
        [2, 7, 7, 5],
        [3, 3, 5, 6],
      ],
      fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
    },
    {
      name: 'conv2d',
      detail: 'x[1,8,8,3] w[3,3,3,2] s2 explicit pad',
      shapes: [
        [1, 8, 8, 3],
        [3, 3, 3, 2],
      ],
      fn: (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
    },
    {
      name: 'fused.conv2d',
      detail: 'bias + leakyrelu, x[2,6,6,3] w[1,1,3,5]',
      init: smallWithSignedBias,
      shapes: [[2, 6, 6, 3], [1, 1, 3, 5], [5]],
      fn: (x, w, b) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          bias: b,
          activation: 'leakyrelu',
          leakyreluAlpha: 0.1,
        }),
    },
    {
      name: 'fused.conv2d',
      detail: 'bias + sigmoid, x[2,5,5,4] w[3,3,4,3] s2',
      shapes: [[2, 5, 5, 4], [3, 3, 4, 3], [3]],
      fn: (x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: 'sigmoid' }),
    },
    {
      name: 'depthwiseConv2d',
      detail: 'x[2,6,6,4] w[3,3,4,1] s1 same',
      shapes: [
        [2, 6, 6, 4],
        [3, 3, 4, 1],
      ],
      fn: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    },
    {
      name: 'depthwiseConv2d',
      detail: 'x[1,7,7,3] w[3,3,3,2] s2 valid',
      shapes: [
        [1, 7, 7, 3],
        [3, 3, 3, 2],
      ],
      fn: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
    },
    {
      name: 'separableConv2d',
      detail: 'x[2,6,6,3] dw[3,3,3,1] pw[1,1,3,5]',
      shapes: [
        [2, 6, 6, 3],
        [3, 3, 3, 1],
        [1, 1, 3, 5],
      ],
      fn: (x, d, p) => tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'),
    },
    { name: 'maxPool', detail: 'x[2,6,6,3] 2x2 s2', init: distinct, shapes: [[2, 6, 6, 3]], fn: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') },
    {
      name: 'maxPool',
      detail: 'x[1,7,7,2] 5x5 s1 same (SPPF)',
      init: distinct,
      shapes: [[1, 7, 7, 2]],
      fn: (x) => tf.maxPool(x as tf.Tensor4D, 5, 1, 'same'),
    },
    { name: 'avgPool', detail: 'x[2,6,6,3] 2x2 s2', shapes: [[2, 6, 6, 3]], fn: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid') },
    {
      name: 'resizeNearestNeighbor',
      detail: 'x[2,3,4,3] → 6x8 (upsample)',
      shapes: [[2, 3, 4, 3]],
      fn: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 8]),
    },
    { name: 'resizeBilinear', detail: 'x[1,4,4,2] → 8x8', shapes: [[1, 4, 4, 2]], fn: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [8, 8]) },
    { name: 'batchNorm (train)', detail: 'x[4,3,3,5], batch statistics', shapes: [[4, 3, 3, 5], [5], [5]], fn: batchNormTrain },
    { name: 'silu', detail: 'x·σ(x), x[3,17]', shapes: [[3, 17]], fn: silu },
    { name: 'silu (fused op)', detail: 'custom gradient, x[3,17]', shapes: [[3, 17]], fn: (x) => fusedSilu(x) },
    {
      name: 'batchNorm (fused op)',
      detail: 'custom gradient, x[4,3,3,5]',
      shapes: [[4, 3, 3, 5], [5], [5]],
      fn: (x, g, b) => fusedBatchNormTrain(x as tf.Tensor4D, g, b, 1e-3),
    },
    { name: 'mish', detail: 'x·tanh(softplus(x)), x[3,17]', shapes: [[3, 17]], fn: mish },
    { name: 'leakyRelu', detail: 'α=0.1, x[3,17]', init: awayFromKinks, shapes: [[3, 17]], fn: (x) => tf.leakyRelu(x, 0.1) },
    { name: 'relu', detail: 'x[3,17]', init: awayFromKinks, shapes: [[3, 17]], fn: (x) => tf.relu(x) },
    { name: 'sigmoid', detail: 'x[3,17]', shapes: [[3, 17]], fn: (x) => tf.sigmoid(x) },
    {
      name: 'concat+slice',
      detail: 'channels, x[2,4,4,3] y[2,4,4,2]',
      shapes: [
        [2, 4, 4, 3],
        [2, 4, 4, 2],
      ],
      fn: (x, y) => tf.slice(tf.concat([x, y], 3), [0, 1, 0, 1], [2, 3, 4, 3]),
    },
    { name: 'gather', detail: 'rows of x[6,4] with repeats', shapes: [[6, 4]], fn: (x) => tf.gather(x, tf.tensor1d([0, 2, 2, 5, 1], 'int32')) },
    {
      name: 'pad+transpose+reshape',
      detail: 'x[2,3,4,2]',
      shapes: [[2, 3, 4, 2]],
      fn: (x) =>
        tf.reshape(
          tf.transpose(
            tf.pad(x, [
              [0, 0],
              [1, 0],
              [0, 2],
              [0, 0],
            ]),
            [0, 3, 1, 2],
          ),
          [2, -1],
        ),
    },
    {
      name: 'mean+sum',
      detail: 'x[3,4,5]',
      shapes: [[3, 4, 5]],
      fn: (x) => tf.add(tf.mean(x, [1, 2]), tf.slice(tf.sum(tf.square(x), 1), [0, 0], [3, 1])),
    },
    {
      name: 'exp/log/sqrt',
      detail: 'box decode maths, x[4,6] > 0',
      init: positive,
      shapes: [[4, 6]],
      fn: (x) => tf.add(tf.mul(tf.exp(tf.mul(x, 0.3)), tf.log(x)), tf.sqrt(x)),
    },
    { name: 'atan/div', detail: 'CIoU aspect term, w,h > 0', init: positive, shapes: [[8], [8]], fn: (w, h) => tf.square(tf.atan(tf.div(w, h))) },
    {
      name: 'maximum/minimum',
      detail: 'IoU intersection',
      init: distinct,
      shapes: [[10], [10]],
      fn: (a, b) => tf.add(tf.maximum(a, b), tf.mul(tf.minimum(a, b), 2)),
    },
    { name: 'clipByValue', detail: '[-1, 1]', init: avoiding(-1, 1), shapes: [[20]], fn: (x) => tf.clipByValue(x, -1, 1) },
    { name: 'logSoftmax', detail: 'x[4,7] (classification CE)', shapes: [[4, 7]], fn: (x) => tf.logSoftmax(x) },
    {
      name: 'sigmoid BCE',
      detail: 'logits x[5,6] vs soft targets',
      shapes: [
        [5, 6],
        [5, 6],
      ],
      init: (rng, i, size) => (i === 0 ? rng.normalArray(size) : Float32Array.from({ length: size }, () => rng.next())),
      fn: (x, t) => tf.losses.sigmoidCrossEntropy(t, x, undefined, undefined, tf.Reduction.NONE),
    },
    {
      name: 'matMul',
      detail: 'a[3,5] b[5,4]',
      shapes: [
        [3, 5],
        [5, 4],
      ],
      fn: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    },
    {
      name: 'where',
      detail: 'masked select (losses on positives)',
      shapes: [[12], [12]],
      fn: (a, b) => tf.where(tf.tensor1d([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1], 'bool'), a, tf.mul(b, 2)),
    },
  ];
}
