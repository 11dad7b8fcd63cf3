/**
 * Semantic segmentation loss: per-pixel softmax cross-entropy of logits
 * [B, H, W, K] (channel 0 = background, c + 1 = class c) against a class map,
 * averaged over pixels; optionally plus the soft Dice loss 1 − 2·Σp·y / (Σp + Σy),
 * averaged over the classes present in the batch or predicted.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SegmentLossOptions {
  /** Weight of the Dice term (0: cross-entropy only). */
  dice?: number;
}

/** Checks a class map against the logits' shape and class count. */
export function checkSemantic(semantic: Uint8Array, shape: readonly number[]): void {
  const [b, h, w, k] = shape as [number, number, number, number];
  if (semantic.length !== b * h * w) throw new Error(`segment loss: class map has ${semantic.length} pixels, logits ${b}×${h}×${w}`);
  for (let i = 0; i < semantic.length; i++) {
    if (semantic[i]! >= k) throw new Error(`segment loss: pixel class ${semantic[i]} but the head predicts ${k} classes (background + ${k - 1})`);
  }
}

export function segmentLoss(logits: tf.Tensor4D, semantic: Uint8Array, opts: SegmentLossOptions = {}): tf.Scalar {
  checkSemantic(semantic, logits.shape);
  const k = logits.shape[3];
  const target = tf.oneHot(tf.tensor(Int32Array.from(semantic), logits.shape.slice(0, 3), 'int32'), k);
  const logp = tf.logSoftmax(logits);
  let loss = tf.neg(tf.mean(tf.sum(tf.mul(target, logp), -1))) as tf.Scalar;
  const dice = opts.dice ?? 0;
  if (dice > 0) {
    const p = tf.exp(logp);
    const inter = tf.sum(tf.mul(p, target), [0, 1, 2]);
    const denom = tf.add(tf.sum(p, [0, 1, 2]), tf.sum(target, [0, 1, 2]));
    const perClass = tf.sub(1, tf.div(tf.mul(2, inter), tf.add(denom, 1e-6)));
    // Only the classes present in the batch or predicted (argmax) somewhere count: a class absent from both
    // would score 1 (0 / ε), so that even a perfect prediction would not reach 0.
    const counted = tf.minimum(tf.add(tf.sum(target, [0, 1, 2]), tf.sum(tf.oneHot(tf.argMax(logits, -1), k), [0, 1, 2])), 1);
    loss = tf.add(loss, tf.mul(dice, tf.div(tf.sum(tf.mul(perClass, counted)), tf.sum(counted)))) as tf.Scalar;
  }
  return loss;
}

/** The predicted class map (argmax over channels) of logits [B, H, W, K], as bytes. */
export function segmentArgmax(logits: tf.Tensor4D): Uint8Array {
  const a = tf.argMax(logits, -1);
  const out = Uint8Array.from(a.dataSync());
  a.dispose();
  return out;
}
