/**
 * Counting: per-image, per-class object counts from the detection targets, the
 * Poisson negative log-likelihood of predicted log-rates r (expected count λ =
 * exp r), and the count a prediction stands for.
 *   NLL(y | λ) = λ − y·log λ + log y!   (averaged over images × classes)
 */
import * as tf from '@tensorflow/tfjs-core';
import { TARGET_ROW } from '../detect/assign.js';

/** Counts [B × nc] (row-major) of the target rows [image, cls, cx, cy, w, h] of a batch of `b` images. */
export function countTargets(targets: Float32Array, b: number, nc: number): Float32Array {
  const out = new Float32Array(b * nc);
  for (let o = 0; o < targets.length; o += TARGET_ROW) {
    const img = targets[o]!;
    const c = targets[o + 1]!;
    if (!(img >= 0 && img < b && c >= 0 && c < nc))
      throw new Error(`count targets: row ${o / TARGET_ROW} has image ${img}, class ${c} (batch ${b}, ${nc} classes)`);
    out[img * nc + c]! += 1;
  }
  return out;
}

function logFactorial(n: number): number {
  let s = 0;
  for (let k = 2; k <= n; k++) s += Math.log(k);
  return s;
}

/** Mean Poisson NLL of log-rates [B, nc] against counts (B × nc). */
export function countLoss(logRates: tf.Tensor2D, counts: Float32Array): tf.Scalar {
  const [b, nc] = logRates.shape;
  if (counts.length !== b * nc) throw new Error(`count loss: ${counts.length} counts for ${b} images × ${nc} classes`);
  const y = tf.tensor2d(counts, [b, nc]);
  const constant = Float32Array.from(counts, logFactorial);
  const nll = tf.add(tf.sub(tf.exp(logRates), tf.mul(y, logRates)), tf.tensor2d(constant, [b, nc]));
  return tf.mean(nll) as tf.Scalar;
}

/** The predicted count of each log-rate: the expected count exp(r), rounded. */
export function predictedCounts(logRates: ArrayLike<number>): Int32Array {
  return Int32Array.from(Array.from(logRates, (r) => Math.max(0, Math.round(Math.exp(r)))));
}
