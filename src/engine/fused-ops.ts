/**
 * Ops with hand-written gradients for the training hot path. Written as one
 * custom gradient each, they replace the dozens of small kernels that tfjs's
 * composite gradients launch per layer (batch norm alone: moments, broadcasts,
 * tiles, several reductions) — the cost that dominated a detection training
 * step on wasm once the convolutions were fast.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_ACT, type NativeAct } from './native/addon.js';
import { ACT_BACKWARD, ACT_FORWARD, BN_ACT_BACKWARD, BN_ACT_FORWARD } from './native/norm-act-kernels.js';
import { activeNativeAddon } from './native/state.js';

/** SiLU x·σ(x); d/dx = σ(x)·(1 + x·(1 − σ(x))). */
const siluComposite = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
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

/** SiLU x·σ(x) as one native kernel each way (when the native kernels are active). */
const siluNative = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.engine().runKernel(ACT_FORWARD, { x }, { act: NATIVE_ACT.silu } as unknown as tf.NamedAttrMap) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.engine().runKernel(ACT_BACKWARD, { x: saved[0]!, dy }, { act: NATIVE_ACT.silu } as unknown as tf.NamedAttrMap) as tf.Tensor,
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** SiLU x·σ(x); d/dx = σ(x)·(1 + x·(1 − σ(x))). */
export function silu(x: tf.Tensor): tf.Tensor {
  return activeNativeAddon() && x.dtype === 'float32' && tf.getBackend() === 'wasm' ? siluNative(x) : siluComposite(x);
}

/**
 * Training-mode batch norm over the channel axis of NHWC x with batch statistics:
 *   x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = (γ/√(σ² + ε))·(dy − mean(dy) − x̂·mean(dy·x̂))
 * (sums and means over batch and space).
 *
 * Every per-channel sum is taken the same way whatever the batch and however it
 * is sharded: per image over space (one reduction kernel per image), then over the
 * images in float64 (sums of a few float32 values are exact there). One replica
 * with the whole batch and N replicas with its shards therefore compute bit-equal
 * statistics, and batch norm's backward pass, whose cancellation would amplify a
 * float32 rounding difference of the sums ~1000-fold, gives the same activation
 * gradients.
 */
/**
 * Synchronised batch norm across data-parallel replicas: while set, every
 * training-mode batch norm sums its per-channel statistics over all replicas
 * with `allReduce` (element-wise float64 sum, identical on every replica and
 * called in the same order on each): the mean (Σx and the element count), then
 * the variance (Σ(x − μ)², two passes for accuracy), and in the backward pass
 * Σdy and Σdy·x̂. The replicas then normalise with the statistics of the whole
 * batch, exactly as one replica with the whole batch would.
 */
let allReduce: ((v: Float64Array) => Float64Array) | null = null;

export function setBatchNormAllReduce(fn: ((v: Float64Array) => Float64Array) | null): void {
  allReduce = fn;
}

/** Per-channel sums of NHWC t: per image over space, then over the images in float64. */
export function channelSums(t: tf.Tensor): Float64Array {
  const c = t.shape[t.rank - 1]!;
  const perImage = tf.sum(t, [1, 2]);
  const v = perImage.dataSync();
  perImage.dispose();
  const out = new Float64Array(c);
  for (let i = 0; i < v.length; i += c) for (let k = 0; k < c; k++) out[k]! += v[i + k]!;
  return out;
}

/** Sums `parts` (concatenated) over the replicas when synchronised; unchanged otherwise. */
function reduceAll(parts: readonly Float64Array[]): Float64Array[] {
  if (!allReduce) return parts.slice();
  const v = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    v.set(p, o);
    o += p.length;
  }
  const r = allReduce(v);
  o = 0;
  return parts.map((p) => {
    const out = r.slice(o, o + p.length);
    o += p.length;
    return out;
  });
}

const f32 = (v: Float64Array, scale = 1): tf.Tensor1D => tf.tensor1d(Float32Array.from(v, (x) => x * scale));

export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
  /** Receives the batch mean, the (biased) variance and the element count per channel, e.g. for running statistics. */
  onStats?: (mean: tf.Tensor, variance: tf.Tensor, count: number) => void,
): tf.Tensor4D {
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [sx, n] = reduceAll([channelSums(xi), Float64Array.of(xi.size / xi.shape[xi.rank - 1]!)]) as [Float64Array, Float64Array];
    const count = n[0]!;
    const mean = f32(sx, 1 / count);
    const [sq] = reduceAll([channelSums(tf.square(tf.sub(xi, mean)))]) as [Float64Array];
    const variance = f32(sq, 1 / count);
    onStats?.(mean, variance, count);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xi, mean), rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        // The parameter gradients stay local (the replicas' gradients are summed later);
        // dx needs the whole batch's Σdy and Σdy·x̂.
        const localBeta = channelSums(dy);
        const localGamma = channelSums(tf.mul(dy, xh));
        const [sBeta, sGamma] = reduceAll([localBeta, localGamma]) as [Float64Array, Float64Array];
        // mean(dy·γ) = γ·Σdy/n and mean(dy·γ·x̂) = γ·Σdy·x̂/n: reuse the two sums.
        const k = tf.mul(gg, rs);
        const dx = tf.mul(k, tf.sub(tf.sub(dy, f32(sBeta, 1 / count)), tf.mul(xh, f32(sGamma, 1 / count))));
        return [dx, f32(localGamma), f32(localBeta)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor)(x, gamma, beta) as tf.Tensor4D;
}

/** Whether batchNormActTrain can take this activation (native kernels active on wasm). */
export function nativeBatchNormAct(act: string): act is NativeAct {
  return activeNativeAddon() !== null && tf.getBackend() === 'wasm' && Object.hasOwn(NATIVE_ACT, act);
}

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * Training-mode batch norm followed by an activation, as one native kernel each way
 * (batchNormTrain's maths; the activation's gradient is applied inside the batch norm
 * backward pass): forward two passes for the statistics and one for the output,
 * backward one for Σdp and Σdp·x̂ (dp = dy·act'(γx̂ + β)) and one for dx. x̂ and the
 * pre-activation are recomputed from the saved input instead of being stored.
 * Synchronised batch norm and the sharding-independent float64 sums work as in
 * batchNormTrain. Needs the native kernels (see nativeBatchNormAct).
 */
export function batchNormActTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
  act: NativeAct,
  onStats?: (mean: tf.Tensor, variance: tf.Tensor, count: number) => void,
): tf.Tensor4D {
  const addon = activeNativeAddon();
  if (!addon) throw new Error('batchNormActTrain needs the native kernels (registerNativeKernels)');
  const code = NATIVE_ACT[act];
  const view = (t: tf.Tensor): Float32Array => (tf.backend() as unknown as HeapBackend).typedArrayFromHeap(t);
  const f = tf.customGrad(((xi: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [batch, h, w, c] = xi.shape;
    const pixels = h * w;
    const local = new Float64Array(c);
    addon.channelSums(view(xi), batch, pixels, c, null, local);
    const [sx, n] = reduceAll([local, Float64Array.of(batch * pixels)]) as [Float64Array, Float64Array];
    const count = n[0]!;
    const mean = Float32Array.from(sx, (v) => v / count);
    const localSq = new Float64Array(c);
    addon.channelSums(view(xi), batch, pixels, c, mean, localSq);
    const [sq] = reduceAll([localSq]) as [Float64Array];
    const variance = Float32Array.from(sq, (v) => v / count);
    if (onStats) {
      const [m, v] = [tf.tensor1d(mean), tf.tensor1d(variance)];
      onStats(m, v, count);
      tf.dispose([m, v]);
    }
    const rstd = Float32Array.from(variance, (v) => 1 / Math.sqrt(Math.fround(v + eps)));
    save([xi, g, b]);
    const value = tf
      .engine()
      .runKernel(BN_ACT_FORWARD, { x: xi, gamma: g, beta: b }, { mean, rstd, act: code } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, bs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const sDp = new Float64Array(c);
        const sDpXhat = new Float64Array(c);
        addon.bnActBackwardSums(view(xs), view(dy), batch, pixels, c, mean, rstd, view(gs), view(bs), code, sDp, sDpXhat);
        // The parameter gradients stay local (replicas' gradients are summed later); dx needs the whole batch's sums.
        const [tDp, tDpXhat] = reduceAll([sDp, sDpXhat]) as [Float64Array, Float64Array];
        const dx = tf.engine().runKernel(BN_ACT_BACKWARD, { x: xs, dy, gamma: gs, beta: bs }, {
          mean,
          rstd,
          act: code,
          meanDp: Float32Array.from(tDp, (v) => v / count),
          meanDpXhat: Float32Array.from(tDpXhat, (v) => v / count),
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return [dx, f32(sDpXhat), f32(sDp)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor)(x, gamma, beta) as tf.Tensor4D;
}
