/**
 * The YOLO detection head: per output level, an optional stack of depthwise-
 * separable convolutions (the EfficientDet-style head of the BiFPN family) and a
 * 1×1 prediction conv with anchors × (4 + 1 + classes) channels, in the YOLOv3
 * layout [x, y, w, h, objectness, class scores…] per anchor. Decoding belongs to
 * the detection task. Biases start at the YOLOv5 priors: objectness
 * log(8 / cells²) (about 8 objects per image) and class log(0.6 / (nc − 0.99)).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { DWSeparableConv } from '../nn/blocks.js';
import { Conv2d } from '../nn/conv.js';
import { Module } from '../nn/module.js';
import type { BuildContext } from './types.js';

export interface DetectHeadOptions {
  inChannels: number[];
  strides: number[];
  nc: number;
  anchorsPerLevel: number;
  /** Separable convs before each prediction conv (0 for the YOLO families). */
  depth: number;
  /** Image size used for the objectness prior. */
  imgsz: number;
  ctx: BuildContext;
}

export class DetectHead extends Module {
  readonly outputsPerAnchor: number;
  private readonly levels: Array<{ convs: DWSeparableConv[]; pred: Conv2d }> = [];

  constructor(readonly opts: DetectHeadOptions) {
    super();
    this.outputsPerAnchor = 5 + opts.nc;
    const na = opts.anchorsPerLevel;
    opts.inChannels.forEach((c, i) => {
      const convs: DWSeparableConv[] = [];
      for (let d = 0; d < opts.depth; d++) {
        convs.push(this.addModule(`l${i}.conv${d}`, new DWSeparableConv(c, c, { k: 3, stride: 1, act: opts.ctx.act, dwAct: 'linear', rng: opts.ctx.rng })));
      }
      const bias = new Float32Array(na * this.outputsPerAnchor);
      const cells = (opts.imgsz / opts.strides[i]!) ** 2;
      for (let a = 0; a < na; a++) {
        const o = a * this.outputsPerAnchor;
        bias[o + 4] = Math.log(8 / cells);
        for (let k = 0; k < opts.nc; k++) bias[o + 5 + k] = Math.log(0.6 / (opts.nc - 0.99));
      }
      const pred = this.addModule(`l${i}.pred`, new Conv2d(c, na * this.outputsPerAnchor, { k: 1, rng: opts.ctx.rng, biasInit: bias }));
      this.levels.push({ convs, pred });
    });
  }

  override get typeName(): string {
    return 'Detect';
  }

  /** One raw prediction map per level: [B, H/stride, W/stride, anchors·(5 + nc)]. */
  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    if (features.length !== this.levels.length) {
      throw new Error(`Detect head expects ${this.levels.length} feature maps, got ${features.length}`);
    }
    return features.map((f, i) => {
      const level = this.levels[i]!;
      let h = f;
      for (const c of level.convs) h = c.forward(h);
      return level.pred.forward(h);
    });
  }
}
