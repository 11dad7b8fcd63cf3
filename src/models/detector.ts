/**
 * A detection model assembled from its config: backbone → neck → detect head.
 * `forward` returns the raw head maps (one per level); decoding, losses and NMS
 * belong to the detection task.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { newFuseReport, type FuseReport } from '../nn/fuse.js';
import { Module } from '../nn/module.js';
import { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';
import { DetectHead } from './head.js';
import { BACKBONE_BUILDERS, NECK_BUILDERS } from './registry.js';
import type { Backbone, Neck } from './types.js';

export class Detector extends Module {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly head: DetectHead;
  /** Stride of each output level. */
  readonly strides: number[];

  /** Builds the model; `seed` makes the initial weights reproducible. */
  constructor(readonly config: ModelConfig, seed = 0) {
    super();
    const ctx = { rng: new Rng(seed), act: config.activation };
    this.backbone = this.addModule('backbone', BACKBONE_BUILDERS[config.backbone](config, ctx));
    this.neck = this.addModule('neck', NECK_BUILDERS[config.neck](config, this.backbone, ctx));
    this.strides = this.neck.outStrides.slice();
    if (config.anchors.length !== this.strides.length) {
      throw new Error(`${config.name}: ${config.anchors.length} anchor levels for ${this.strides.length} output levels`);
    }
    const na = config.anchors[0]!.length;
    if (!config.anchors.every((l) => l.length === na)) throw new Error(`${config.name}: every level needs the same number of anchors`);
    this.head = this.addModule('head', new DetectHead({
      inChannels: this.neck.outChannels, strides: this.strides, nc: config.nc, anchorsPerLevel: na,
      depth: config.neck === 'bifpn' ? config.dims.headDepth : 0, imgsz: config.dims.imgsz, implicit: config.implicit, ctx,
    }));
    if (config.norm === 'none') this.dropBatchNorm();
  }

  /** True for a deploy model made by `fuse()` (batch norm folded: it cannot be trained). */
  deployed = false;

  /**
   * The deploy model: a copy with batch norm folded into the convolutions and the
   * implicit knowledge folded into its neighbours (see nn/fuse.ts), in eval mode.
   * The report lists every fold and every layer kept as a constant op, with why.
   */
  fuse(): { model: Detector; report: FuseReport } {
    const copy = new Detector(this.config);
    copy.loadStateDict(this.stateDict());
    copy.eval();
    const report = newFuseReport();
    copy.fuseInPlace(report);
    copy.deployed = true;
    return { model: copy, report };
  }

  override train(mode = true): this {
    if (mode && this.deployed) throw new Error(`${this.config.name}: a fused (deploy) model cannot be trained`);
    return super.train(mode);
  }

  get maxStride(): number {
    return Math.max(...this.strides);
  }

  /** Throws a clear error unless height and width are positive multiples of the largest stride. */
  checkInputSize(h: number, w: number): void {
    const s = this.maxStride;
    if (h <= 0 || w <= 0 || h % s !== 0 || w % s !== 0) {
      throw new Error(`${this.config.name}: input size ${h}x${w} is not a multiple of the largest stride ${s}`);
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    this.checkInputSize(x.shape[1], x.shape[2]);
    return this.head.forward(this.neck.forward(this.backbone.forward(x)));
  }
}
