/**
 * Ops with hand-written gradients for the training hot path. Written as one
 * custom gradient each, they replace the dozens of small kernels that tfjs's
 * composite gradients launch per layer (batch norm alone: moments, broadcasts,
 * tiles, several reductions) — the cost that dominated a detection training
 * step on wasm once the convolutions were fast.
 */
import * as tf from '@tensorflow/tfjs-core';

/** SiLU x·σ(x); d/dx = σ(x)·(1 + x·(1 − σ(x))). */
export const silu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const s = tf.sigmoid(x);
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ss] = saved as [tf.Tensor, tf.Tensor];
      return tf.mul(dy, tf.mul(ss, tf.add(1, tf.mul(xs, tf.sub(1, ss)))));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * Training-mode batch norm over the channel axis of NHWC x with batch statistics:
 *   x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = (γ/√(σ² + ε))·(dy − mean(dy) − x̂·mean(dy·x̂))
 * (sums and means over batch and space).
 */
export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number,
  /** Receives the batch mean and (biased) variance, e.g. to update running statistics. */
  onStats?: (mean: tf.Tensor, variance: tf.Tensor) => void,
): tf.Tensor4D {
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xi, [0, 1, 2]);
    onStats?.(mean, variance);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xi, mean), rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        const n = dy.size / dy.shape[dy.rank - 1]!;
        // mean(dy·γ) = γ·dβ/n and mean(dy·γ·x̂) = γ·dγ/n: reuse the two sums.
        const k = tf.mul(gg, rs);
        const dx = tf.mul(k, tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n))));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor)(x, gamma, beta) as tf.Tensor4D;
}
