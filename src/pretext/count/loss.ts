/**
 * The counting loss (Noroozi, Pirsiavash & Favaro, ICCV 2017, eq. 6), on the
 * count vectors φ(·) ∈ R^K the head gives: for each image x with another image y,
 *   ‖φ(D(x)) − Σ_j φ(T_j(x))‖² + max(0, M − ‖φ(D(y)) − Σ_j φ(T_j(x))‖²),
 * the counts of the downsampled image equal the sum of its tiles' counts, and the
 * tiles of x must not add up to the counts of y (else φ ≡ 0 would do). Plain
 * squared Euclidean distances, as in the paper, so M is in the paper's units.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean over the B images of the counting loss. phiDown [B, K] = φ(D(x_i)); phiTiles
 * [4B, K] = φ of the four tiles of x_0, then of x_1 …; phiOther [B, K] = φ(D(y_i)).
 */
export function countingLoss(phiDown: tf.Tensor2D, phiTiles: tf.Tensor2D, phiOther: tf.Tensor2D, margin: number): tf.Scalar {
  return tf.tidy(() => {
    const [b, k] = phiDown.shape;
    if (phiTiles.shape[0] !== 4 * b || phiTiles.shape[1] !== k || phiOther.shape[0] !== b || phiOther.shape[1] !== k)
      throw new Error(`countingLoss: ${phiTiles.shape} tile counts and ${phiOther.shape} other counts for ${phiDown.shape} image counts`);
    const tileSum = tf.sum(tf.reshape(phiTiles, [b, 4, k]), 1);
    const equal = tf.sum(tf.squaredDifference(phiDown, tileSum), 1);
    const apart = tf.sum(tf.squaredDifference(phiOther, tileSum), 1);
    return tf.mean(tf.add(equal, tf.relu(tf.sub(margin, apart)))) as tf.Scalar;
  });
}

/** The rows of `m` moved up by one, cyclically: row i holds row (i + 1) mod B, the "other image" of image i. */
export function nextRows(m: tf.Tensor2D): tf.Tensor2D {
  const [b, k] = m.shape;
  if (b < 2) return m;
  return tf.concat([tf.slice(m, [1, 0], [b - 1, k]), tf.slice(m, [0, 0], [1, k])], 0);
}
