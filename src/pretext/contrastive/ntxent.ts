/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et
 * al., ICML 2020, eq. 1): the 2B projections are L2-normalised, their cosine
 * similarities divided by the temperature τ, and each of the 2B anchors is a
 * softmax classification of its positive (the other view of its image) among the
 * 2B − 1 other views (itself excluded). Layout: rows 0…B−1 are the first views of
 * images 0…B−1 and rows B…2B−1 their second views, so the positive of row i is
 * row (i + B) mod 2B. With B = 1 there are no negatives and the loss is 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../heads.js';

/** Each row scaled to unit length (a zero row stays near zero). */
export function l2Normalise(z: tf.Tensor2D): tf.Tensor2D {
  return tf.div(z, tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)));
}

/** The row index of the positive of each of the 2B anchors. */
export function positives(n: number): Int32Array {
  if (n < 2 || n % 2) throw new Error(`ntXent: ${n} views (expected an even number ≥ 2: two per image)`);
  return Int32Array.from({ length: n }, (_, i) => (i + n / 2) % n);
}

/**
 * NT-Xent over projections z [2B, d] (normalised here) at temperature τ: the mean
 * over the 2B anchors, and the contrastive accuracy (the fraction of anchors
 * whose most similar other view is their positive).
 */
export function ntXent(z: tf.Tensor2D, temperature: number): { loss: tf.Scalar; acc: number } {
  const n = z.shape[0];
  const targets = positives(n);
  if (!(temperature > 0)) throw new Error(`ntXent: temperature ${temperature} (expected > 0)`);
  return tf.tidy(() => {
    const u = l2Normalise(z);
    const sim = tf.div(tf.matMul(u, u, false, true), temperature) as tf.Tensor2D;
    // Each anchor's own similarity is removed from its softmax (exp(−1e9) = 0 in float32; its gradient is 0 too).
    const logits = tf.sub(sim, tf.mul(tf.eye(n), 1e9)) as tf.Tensor2D;
    const r = softmaxCrossEntropy(logits, targets);
    return { loss: r.loss, acc: r.acc };
  }) as { loss: tf.Scalar; acc: number };
}
