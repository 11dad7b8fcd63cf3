/**
 * Semantic segmentation head: a light head on the finest shared feature map —
 * task code → 1×1 conv → 3×3 conv (BN, activation each) → 1×1 conv to
 * (classes + 1) logits (channel 0 is background) — upsampled bilinearly to the
 * input size (half-pixel centres, with the exact gradient: nn/resize.ts). Trained with per-pixel softmax cross-entropy (optionally + Dice).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvBnAct } from '../../nn/conv.js';
import type { FuseReport } from '../../nn/fuse.js';
import type { BuildContext } from '../../nn/module.js';
import { Module } from '../../nn/module.js';
import { resizeBilinearHalfPixel } from '../../nn/resize.js';
import { foldTaskCode, makeTaskCode, type TaskCodeLayer, type TaskCodeOptions } from '../../nn/task-code.js';

export interface SegmentHeadOptions {
  /** Channels of the finest shared feature map. */
  inChannels: number;
  /** Foreground classes (the head predicts nc + 1 with background). */
  nc: number;
  code: Omit<TaskCodeOptions, 'rng'>;
  ctx: BuildContext;
}

export class SegmentHead extends Module {
  private code: TaskCodeLayer | null;
  private readonly reduce: ConvBnAct;
  private readonly conv: ConvBnAct;
  private readonly pred: Conv2d;

  constructor(readonly opts: SegmentHeadOptions) {
    super();
    const { code, channels } = makeTaskCode(opts.inChannels, { ...opts.code, rng: opts.ctx.rng });
    this.code = code ? this.addModule('code', code) : null;
    const hidden = Math.max(16, Math.min(opts.inChannels, 64));
    this.reduce = this.addModule('reduce', new ConvBnAct(channels, hidden, { k: 1, act: opts.ctx.act, rng: opts.ctx.rng }));
    this.conv = this.addModule('conv', new ConvBnAct(hidden, hidden, { k: 3, act: opts.ctx.act, rng: opts.ctx.rng }));
    this.pred = this.addModule('pred', new Conv2d(hidden, opts.nc + 1, { k: 1, rng: opts.ctx.rng }));
  }

  override get typeName(): string {
    return 'Segment';
  }

  get numOutputs(): number {
    return this.opts.nc + 1;
  }

  /** Per-pixel logits [B, H, W, nc + 1] at the input size [H, W], from the first (finest) shared map. */
  forward(features: tf.Tensor4D[], inputSize: [number, number]): tf.Tensor4D {
    const f = features[0]!;
    const h = this.conv.forward(this.reduce.forward(this.code ? this.code.forward(f) : f));
    const logits = this.pred.forward(h);
    if (logits.shape[1] === inputSize[0] && logits.shape[2] === inputSize[1]) return logits;
    return resizeBilinearHalfPixel(logits, inputSize);
  }

  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    if (this.code) {
      foldTaskCode(this.code, this.reduce, `${this.path}.code`, report);
      this.removeModule('code');
      this.code = null;
    }
  }
}
