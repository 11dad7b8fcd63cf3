/**
 * Building blocks of the pretext heads: global pooling of a feature level, a
 * small classifier / projector on pooled features (1×1 conv + BN + activation,
 * then a 1×1 conv), and a pixel decoder that predicts every pixel of a stride-s
 * cell from that cell's feature (1×1 conv to s²·C channels, then depth-to-space).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvBnAct } from '../nn/conv.js';
import { type BuildContext, Module } from '../nn/module.js';

/** Global average pool of a feature map: [B, H, W, C] → [B, C]. */
export function globalPool(f: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(f, [1, 2]) as tf.Tensor2D;
}

/** Global average pool of the coarsest shared level of the encoder's features. */
export function pooledCoarsest(features: tf.Tensor4D[]): tf.Tensor2D {
  return globalPool(features[features.length - 1]!);
}

/** Pooled features [B, C] → hidden (1×1 conv, BN, activation) → K outputs (1×1 conv with bias). */
export class PooledMlp extends Module {
  private readonly hidden: ConvBnAct;
  private readonly out: Conv2d;

  constructor(
    readonly inFeatures: number,
    readonly hiddenFeatures: number,
    readonly outFeatures: number,
    ctx: BuildContext,
  ) {
    super();
    this.hidden = this.addModule('hidden', new ConvBnAct(inFeatures, hiddenFeatures, { k: 1, act: ctx.act, rng: ctx.rng }));
    this.out = this.addModule('out', new Conv2d(hiddenFeatures, outFeatures, { k: 1, rng: ctx.rng }));
  }

  override get typeName(): string {
    return 'PooledMlp';
  }

  forward(pooled: tf.Tensor2D): tf.Tensor2D {
    const [b, c] = pooled.shape;
    if (c !== this.inFeatures) throw new Error(`${this.path || 'PooledMlp'}: ${c} input features (expected ${this.inFeatures})`);
    const y = this.out.forward(this.hidden.forward(tf.reshape(pooled, [b, 1, 1, c]) as tf.Tensor4D));
    return tf.reshape(y, [b, this.outFeatures]) as tf.Tensor2D;
  }
}

/**
 * Predicts a full-resolution map with `outChannels` per pixel from a feature map of
 * stride `stride`: 3×3 conv (BN, activation) → 1×1 conv to stride²·outChannels →
 * depth-to-space. Cheap, and every output pixel depends on the feature of its cell.
 */
export class PixelDecoder extends Module {
  private readonly mix: ConvBnAct;
  private readonly out: Conv2d;

  constructor(
    readonly inChannels: number,
    readonly stride: number,
    readonly outChannels: number,
    ctx: BuildContext,
    hidden = inChannels,
  ) {
    super();
    this.mix = this.addModule('mix', new ConvBnAct(inChannels, hidden, { k: 3, act: ctx.act, rng: ctx.rng }));
    this.out = this.addModule('out', new Conv2d(hidden, stride * stride * outChannels, { k: 1, rng: ctx.rng }));
  }

  override get typeName(): string {
    return 'PixelDecoder';
  }

  forward(f: tf.Tensor4D): tf.Tensor4D {
    return depthToSpace(this.out.forward(this.mix.forward(f)), this.stride);
  }
}

/**
 * Depth-to-space (NHWC, as tf.depthToSpace: out[b, h·s + i, w·s + j, c] = in[b, h, w, (i·s + j)·C + c])
 * by reshape and transpose, so that it has a gradient (tfjs 4.22 registers none for DepthToSpace).
 */
export function depthToSpace(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [b, h, w, d] = x.shape;
  const c = d / (s * s);
  if (!Number.isInteger(c)) throw new Error(`depthToSpace: ${d} channels is not a multiple of ${s}²`);
  const y = tf.transpose(tf.reshape(x, [b * h, w, s, s * c]), [0, 2, 1, 3]);
  return tf.reshape(y, [b, h * s, w * s, c]) as tf.Tensor4D;
}

/** Mean softmax cross-entropy of logits [N, K] against class indices, and the top-1 accuracy (a plain number). */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: Int32Array): { loss: tf.Scalar; acc: number } {
  const [n, k] = logits.shape;
  if (targets.length !== n) throw new Error(`softmaxCrossEntropy: ${targets.length} targets for ${n} rows`);
  for (const t of targets) if (!(t >= 0 && t < k)) throw new Error(`softmaxCrossEntropy: target ${t} out of range (0…${k - 1})`);
  const onehot = tf.oneHot(tf.tensor1d(targets, 'int32'), k);
  const logp = tf.logSoftmax(logits);
  const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  const pred = tf.argMax(logits, 1).dataSync();
  let right = 0;
  for (let i = 0; i < n; i++) if (pred[i] === targets[i]) right++;
  return { loss, acc: n ? right / n : 0 };
}
