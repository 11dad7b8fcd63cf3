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
/**
 * Synchronised batch norm across data-parallel replicas: while set, every
 * training-mode batch norm sums its per-channel statistics over all replicas
 * with `allReduce` (element-wise sum of a Float32Array, identical on every
 * replica and called in the same order on each): the mean (Σx and the element
 * count), then the variance (Σ(x − μ)², two passes for accuracy), and in the
 * backward pass Σdy and Σdy·x̂. The replicas then normalise with the statistics
 * of the whole batch, exactly as one replica with the whole batch would.
 */
let allReduce: ((v: Float32Array) => Float32Array) | null = null;

export function setBatchNormAllReduce(fn: ((v: Float32Array) => Float32Array) | null): void {
  allReduce = fn;
}

function reduceChannels(t: tf.Tensor, extra?: number): { sum: tf.Tensor1D; extra: number } {
  const local = t.dataSync() as Float32Array;
  const v = new Float32Array(local.length + (extra === undefined ? 0 : 1));
  v.set(local);
  if (extra !== undefined) v[local.length] = extra;
  const r = allReduce!(v);
  return { sum: tf.tensor1d(r.subarray(0, local.length)), extra: extra === undefined ? 0 : r[local.length]! };
}

export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number,
  /** Receives the batch mean, the (biased) variance and the element count per channel, e.g. for running statistics. */
  onStats?: (mean: tf.Tensor, variance: tf.Tensor, count: number) => void,
): tf.Tensor4D {
  const sync = allReduce !== null;
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    let count = xi.size / xi.shape[xi.rank - 1]!;
    if (sync) {
      const s1 = reduceChannels(tf.sum(xi, [0, 1, 2]), count);
      count = s1.extra;
      mean = tf.div(s1.sum, count);
      const s2 = reduceChannels(tf.sum(tf.square(tf.sub(xi, mean)), [0, 1, 2]));
      variance = tf.div(s2.sum, count);
    } else {
      ({ mean, variance } = tf.moments(xi, [0, 1, 2]));
    }
    onStats?.(mean, variance, count);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xi, mean), rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        // The parameter gradients stay local (the replicas' gradients are summed later);
        // dx needs the whole batch's Σdy and Σdy·x̂.
        let sBeta = dBeta;
        let sGamma = dGamma;
        if (sync) {
          const both = reduceChannels(tf.concat([dBeta, dGamma]));
          const c = dBeta.size;
          sBeta = tf.slice(both.sum, [0], [c]);
          sGamma = tf.slice(both.sum, [c], [c]);
        }
        const n = count;
        // mean(dy·γ) = γ·Σdy/n and mean(dy·γ·x̂) = γ·Σdy·x̂/n: reuse the two sums.
        const k = tf.mul(gg, rs);
        const dx = tf.mul(k, tf.sub(tf.sub(dy, tf.div(sBeta, n)), tf.mul(xh, tf.div(sGamma, n))));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor)(x, gamma, beta) as tf.Tensor4D;
}
