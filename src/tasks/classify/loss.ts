/**
 * Multi-label classification loss: binary cross-entropy with logits, averaged
 * over images × labels (sigmoid per label: several labels may be present at once).
 */
import * as tf from '@tensorflow/tfjs-core';
import { bceWithLogits } from '../detect/loss.js';

/** Mean BCE of label logits [B, L] against 0/1 targets (row-major B × L). */
export function classifyLoss(logits: tf.Tensor2D, targets: Float32Array): tf.Scalar {
  const [b, l] = logits.shape;
  if (targets.length !== b * l) {
    throw new Error(`classify loss: ${targets.length} target values for ${b} images × ${l} labels`);
  }
  return tf.mean(bceWithLogits(logits, tf.tensor2d(targets, [b, l]))) as tf.Scalar;
}
