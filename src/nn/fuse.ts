/**
 * Reparameterisation rules for inference: batch norm and implicit knowledge are
 * constants once training is over, so they fold into the neighbouring
 * convolution. All weights are [kh, kw, cin, cout] (depthwise: [kh, kw, c, 1]).
 *
 *   BN after conv          W' = W·γ/√(σ²+ε),  b' = β + (b − μ)·γ/√(σ²+ε)
 *   add z before conv      b' = b + Σ_{window, cin} W·z        (exact only where no zero padding is seen)
 *   multiply z before conv W'[…, ci, …] = z_ci·W               (exact, padding included: 0·z = 0)
 *   concat z before conv   W' = W[:, :, :cin], b' = b + Σ W[:, :, cin:]·z   (as for add)
 *   multiply z after conv  W' = z·W,  b' = z·b
 *   add z after conv       b' = b + z
 */
import * as tf from '@tensorflow/tfjs-core';

export interface FoldedConv {
  weight: tf.Tensor4D;
  bias: tf.Tensor1D;
}

/** A fold that would change the outputs somewhere (e.g. at zero-padded borders). */
export class FoldRefused extends Error {}

export interface FuseReport {
  /** Folds done, one line each (`head.l0.refine_add → head.l0.pred bias`). */
  folded: string[];
  /** Implicit or BN layers left as constant ops, with the reason. */
  kept: string[];
}

export function newFuseReport(): FuseReport {
  return { folded: [], kept: [] };
}

export interface BatchNormState {
  gamma: tf.Tensor;
  beta: tf.Tensor;
  mean: tf.Tensor;
  variance: tf.Tensor;
  eps: number;
}

/** Folds a batch norm over the conv's output channels (last weight axis; for depthwise the channel axis 2). */
export function foldBatchNorm(weight: tf.Tensor4D, bias: tf.Tensor1D | null, bn: BatchNormState, depthwise = false): FoldedConv {
  return tf.tidy(() => {
    const scale = tf.div(bn.gamma, tf.sqrt(tf.add(bn.variance, bn.eps)));
    const w = depthwise ? tf.mul(weight, tf.reshape(scale, [1, 1, -1, 1])) : tf.mul(weight, scale);
    const b0 = bias ?? tf.zerosLike(bn.beta);
    const b = tf.add(bn.beta, tf.mul(tf.sub(b0, bn.mean), scale));
    return { weight: w as tf.Tensor4D, bias: b as tf.Tensor1D };
  });
}

/** Whether a conv with this kernel and symmetric padding ever reads padding. */
export function readsPadding(k: number, pad: number): boolean {
  return k > 1 && pad > 0;
}

/**
 * z (per input channel) added before the conv. Refused when the conv reads zero
 * padding: border outputs would see 0 where the unfused model sees z.
 */
export function foldAddBeforeConv(
  weight: tf.Tensor4D,
  bias: tf.Tensor1D,
  z: tf.Tensor,
  conv: { k: number; pad: number; depthwise?: boolean },
): tf.Tensor1D {
  if (z.rank !== 1) throw new FoldRefused('a per-position implicit tensor is not a per-channel bias');
  if (readsPadding(conv.k, conv.pad)) {
    throw new FoldRefused(`the ${conv.k}x${conv.k} conv zero-pads its input, so border outputs would differ`);
  }
  return tf.tidy(() => {
    if (conv.depthwise) {
      // Weights [kh, kw, C, m]: output channel c·m + j reads input channel c only, so
      // b'_{c·m+j} = b_{c·m+j} + z_c · Σ_window W[:, :, c, j] (any channel multiplier m).
      const summed = tf.sum(weight, [0, 1]); // [C, m]
      return tf.add(bias, tf.reshape(tf.mul(summed, tf.reshape(z, [-1, 1])), [-1])) as tf.Tensor1D;
    }
    const summed = tf.sum(weight, [0, 1]) as tf.Tensor2D; // [cin, cout]
    return tf.add(bias, tf.reshape(tf.matMul(tf.reshape(z, [1, -1]), summed), [-1])) as tf.Tensor1D;
  });
}

/** z (per input channel) multiplying the input of the conv; exact for any padding. */
export function foldMulBeforeConv(weight: tf.Tensor4D, z: tf.Tensor): tf.Tensor4D {
  if (z.rank !== 1) throw new FoldRefused('a per-position implicit tensor cannot scale conv weights');
  return tf.tidy(() => tf.mul(weight, tf.reshape(z, [1, 1, -1, 1])) as tf.Tensor4D);
}

/** Constant channels z appended to the conv's input: their contribution becomes bias. */
export function foldConcatBeforeConv(
  weight: tf.Tensor4D,
  bias: tf.Tensor1D,
  z: tf.Tensor,
  cin: number,
  conv: { k: number; pad: number },
): FoldedConv {
  if (z.rank !== 1) throw new FoldRefused('a per-position implicit tensor is not a per-channel bias');
  if (readsPadding(conv.k, conv.pad)) {
    throw new FoldRefused(`the ${conv.k}x${conv.k} conv zero-pads its input, so border outputs would differ`);
  }
  return tf.tidy(() => {
    const [kh, kw, , cout] = weight.shape;
    const wx = tf.slice(weight, [0, 0, 0, 0], [kh, kw, cin, cout]) as tf.Tensor4D;
    const wz = tf.slice(weight, [0, 0, cin, 0], [kh, kw, weight.shape[2] - cin, cout]);
    const extra = tf.reshape(tf.matMul(tf.reshape(z, [1, -1]), tf.sum(wz, [0, 1]) as tf.Tensor2D), [-1]);
    return { weight: wx, bias: tf.add(bias, extra) as tf.Tensor1D };
  });
}

/** z (per output channel) multiplying the conv's output. */
export function foldMulAfterConv(weight: tf.Tensor4D, bias: tf.Tensor1D, z: tf.Tensor): FoldedConv {
  if (z.rank !== 1) throw new FoldRefused('a per-position implicit tensor cannot scale conv weights');
  if (weight.shape[3] !== z.size) {
    throw new Error(`foldMulAfterConv: z has ${z.size} values for ${weight.shape[3]} output channels (depthwise weights are not supported)`);
  }
  return tf.tidy(() => ({ weight: tf.mul(weight, z) as tf.Tensor4D, bias: tf.mul(bias, z) as tf.Tensor1D }));
}

/** z (per output channel) added to the conv's output. */
export function foldAddAfterConv(bias: tf.Tensor1D, z: tf.Tensor): tf.Tensor1D {
  if (z.rank !== 1) throw new FoldRefused('a per-position implicit tensor is not a per-channel bias');
  return tf.tidy(() => tf.add(bias, z) as tf.Tensor1D);
}
