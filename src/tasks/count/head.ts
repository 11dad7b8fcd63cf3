/**
 * Object counting head: how many objects of each class the image holds. On the
 * coarsest shared feature map: task code → 1×1 conv (BN, activation) → global
 * average pool → 1×1 conv to one log-rate per class (the expected count is its
 * exponential; trained with the Poisson likelihood). Log-rates start at log 0.5.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvBnAct } from '../../nn/conv.js';
import type { FuseReport } from '../../nn/fuse.js';
import { type BuildContext, Module } from '../../nn/module.js';
import { foldTaskCode, makeTaskCode, type TaskCodeLayer, type TaskCodeOptions } from '../../nn/task-code.js';

export interface CountHeadOptions {
  /** Channels of the coarsest shared feature map. */
  inChannels: number;
  /** Classes counted. */
  nc: number;
  code: Omit<TaskCodeOptions, 'rng'>;
  ctx: BuildContext;
}

export class CountHead extends Module {
  private code: TaskCodeLayer | null;
  private readonly conv: ConvBnAct;
  private readonly fc: Conv2d;

  constructor(readonly opts: CountHeadOptions) {
    super();
    const { code, channels } = makeTaskCode(opts.inChannels, { ...opts.code, rng: opts.ctx.rng });
    this.code = code ? this.addModule('code', code) : null;
    this.conv = this.addModule('conv', new ConvBnAct(channels, opts.inChannels, { k: 1, act: opts.ctx.act, rng: opts.ctx.rng }));
    this.fc = this.addModule(
      'fc',
      new Conv2d(opts.inChannels, opts.nc, { k: 1, rng: opts.ctx.rng, biasInit: new Float32Array(opts.nc).fill(Math.log(0.5)) }),
    );
  }

  override get typeName(): string {
    return 'Count';
  }

  /** Log-rates [B, nc] from the shared feature maps (the last, coarsest one is used). */
  forward(features: tf.Tensor4D[]): tf.Tensor2D {
    const f = features[features.length - 1]!;
    const h = this.conv.forward(this.code ? this.code.forward(f) : f);
    const pooled = tf.mean(h, [1, 2], true) as tf.Tensor4D;
    return tf.reshape(this.fc.forward(pooled), [f.shape[0], this.opts.nc]);
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
