/**
 * Path-aggregation neck (YOLOv4 / YOLOR / YOLOv5 PAN), NHWC, for N ≥ 2 levels:
 * the top-down FPN of fpn.ts followed by a bottom-up path.
 *
 *   out[0] = t[0]                                             (finest top-down map)
 *   for i = 1 … L−1:
 *     d      = ConvBnAct(C[i−1] → C[i−1], 3×3, s2)(out[i−1])  (module `down<P>` at level P of i−1)
 *     out[i] = CSP(concat[d, lat{i}] : 2·C[i−1] → C[i], shortcut off)
 *                                                             (module `bu<P>` at level P of i)
 *
 * where lat{i} is the FPN's 1×1 lateral at level i (C[i−1] channels). For
 * P3–P5 with C = [256, 512, 1024] this is exactly the YOLOv5 head's neck
 * (layers 10–23). Modules for 3 levels: lat5, td4, lat4, td3, down3, bu4, down4, bu5.
 * outChannels = inChannels, outStrides = inStrides.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type CspBlock, concatChannels, cspBlock, Downsample } from '../../nn/blocks.js';
import { FpnNeck, type FpnNeckOptions } from './fpn.js';

export type PanNeckOptions = FpnNeckOptions;

export class PanNeck extends FpnNeck {
  /** downs[i] takes out[i] (i ≤ L−2) to the next level; bottomUp[i] fuses level i (i ≥ 1). */
  protected readonly downs: Array<Downsample | null>;
  protected readonly bottomUpBlocks: Array<CspBlock | null>;

  constructor(opts: PanNeckOptions) {
    super(opts);
    const { rng, act } = opts.ctx;
    const L = this.inChannels.length;
    const C = this.inChannels;
    this.downs = new Array<Downsample | null>(L).fill(null);
    this.bottomUpBlocks = new Array<CspBlock | null>(L).fill(null);
    for (let i = 1; i < L; i++) {
      this.downs[i - 1] = this.addModule(`down${this.levels[i - 1]}`, new Downsample(C[i - 1]!, C[i - 1]!, { act, rng }));
      this.bottomUpBlocks[i] = this.addModule(
        `bu${this.levels[i]}`,
        cspBlock(this.block, 2 * C[i - 1]!, C[i]!, { n: this.n, shortcut: false, act, rng }),
      );
    }
  }

  override forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    const { td, lat } = this.topDown(features);
    const out: tf.Tensor4D[] = [td[0]!];
    for (let i = 1; i < features.length; i++) {
      const d = this.downs[i - 1]!.forward(out[i - 1]!);
      out.push(this.bottomUpBlocks[i]!.forward(concatChannels([d, lat[i]!])));
    }
    return out;
  }
}
