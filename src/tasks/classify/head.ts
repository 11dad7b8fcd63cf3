/**
 * Multi-label image classification head: which classes (and attributes such as
 * colour) are present in the image. On the coarsest shared feature map:
 * task code → 1×1 conv (BN, activation) → global average pool → 1×1 conv to one
 * logit per label (sigmoid at inference; trained with binary cross-entropy).
 * Label logits start at the prior p = 0.25.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvBnAct } from '../../nn/conv.js';
import type { FuseReport } from '../../nn/fuse.js';
import type { BuildContext } from '../../nn/module.js';
import { Module } from '../../nn/module.js';
import { foldTaskCode, makeTaskCode, type TaskCodeLayer, type TaskCodeOptions } from '../../nn/task-code.js';

export interface ClassifyHeadOptions {
  /** Channels of the coarsest shared feature map. */
  inChannels: number;
  numLabels: number;
  code: Omit<TaskCodeOptions, 'rng'>;
  ctx: BuildContext;
}

export class ClassifyHead extends Module {
  private code: TaskCodeLayer | null;
  private readonly conv: ConvBnAct;
  private readonly fc: Conv2d;

  constructor(readonly opts: ClassifyHeadOptions) {
    super();
    const { code, channels } = makeTaskCode(opts.inChannels, { ...opts.code, rng: opts.ctx.rng });
    this.code = code ? this.addModule('code', code) : null;
    const hidden = opts.inChannels;
    this.conv = this.addModule('conv', new ConvBnAct(channels, hidden, { k: 1, act: opts.ctx.act, rng: opts.ctx.rng }));
    const prior = Math.log(0.25 / 0.75);
    this.fc = this.addModule(
      'fc',
      new Conv2d(hidden, opts.numLabels, { k: 1, rng: opts.ctx.rng, biasInit: new Float32Array(opts.numLabels).fill(prior) }),
    );
  }

  override get typeName(): string {
    return 'Classify';
  }

  /** Label logits [B, numLabels] from the shared feature maps (the last, coarsest one is used). */
  forward(features: tf.Tensor4D[]): tf.Tensor2D {
    const f = features[features.length - 1]!;
    const h = this.conv.forward(this.code ? this.code.forward(f) : f);
    const pooled = tf.mean(h, [1, 2], true) as tf.Tensor4D;
    return tf.reshape(this.fc.forward(pooled), [f.shape[0], this.opts.numLabels]);
  }

  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    if (this.code) {
      foldTaskCode(this.code, this.conv, `${this.path}.code`, report);
      this.removeModule('code');
      this.code = null;
    }
  }
}
