/**
 * Top-down feature pyramid (YOLOv3 / YOLOv4 FPN), NHWC, for N ≥ 2 levels whose
 * strides double from one level to the next (P3, P4, P5 by default).
 *
 * With input channels C[0..L−1] (finest first), going down from the coarsest level:
 *
 *   t[L−1] = F[L−1]
 *   for i = L−1 … 1:
 *     lat{i}  = ConvBnAct(ch(t[i]) → C[i−1], 1×1)          (module `lat<P>` at level P of t[i])
 *     t[i−1]  = CSP(concat[upsample2×(lat(t[i])), F[i−1]] : 2·C[i−1] → C[i−1], shortcut off)
 *                                                         (module `td<P>` at level P of i−1)
 *
 * Outputs [t[0], …, t[L−2], F[L−1]]: the coarsest level passes through unchanged
 * (it already went through the backbone's SPP); outChannels = inChannels and
 * outStrides = inStrides. CSP is BottleneckCSP ('csp', default) or C3 ('c3') with
 * n = scaleDepth(3, depthMultiple). For 3 levels: lat5, td4, lat4, td3.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type CspBlock, type CspKind, concatChannels, cspBlock, upsample } from '../../nn/blocks.js';
import { ConvBnAct } from '../../nn/conv.js';
import { Module } from '../../nn/module.js';
import { type BuildContext, type Neck, scaleDepth } from '../types.js';

export interface FpnNeckOptions {
  inChannels: number[];
  inStrides: number[];
  depthMultiple: number;
  ctx: BuildContext;
  /** 'csp' (BottleneckCSP, default) or 'c3'. */
  block?: CspKind;
}

/** Level names for module paths: P<log2 stride> when the stride is a power of two, else the index. */
export function levelNames(strides: readonly number[]): string[] {
  return strides.map((s, i) => (Number.isInteger(Math.log2(s)) ? String(Math.log2(s)) : `L${i}`));
}

export function checkPyramid(name: string, inChannels: readonly number[], inStrides: readonly number[]): void {
  if (inChannels.length !== inStrides.length) {
    throw new Error(`${name}: ${inChannels.length} input channel counts but ${inStrides.length} strides`);
  }
  if (inChannels.length < 2) throw new Error(`${name}: needs at least 2 levels, got ${inChannels.length}`);
  for (let i = 1; i < inStrides.length; i++) {
    if (inStrides[i] !== 2 * inStrides[i - 1]!) {
      throw new Error(`${name}: strides must double from level to level (finest first), got [${inStrides.join(', ')}]`);
    }
  }
  for (const c of inChannels) if (!Number.isInteger(c) || c < 1) throw new Error(`${name}: bad channel count ${c}`);
}

export function checkFeatures(name: string, features: readonly tf.Tensor4D[], inChannels: readonly number[]): void {
  if (features.length !== inChannels.length) {
    throw new Error(`${name}: expected ${inChannels.length} feature maps, got ${features.length}`);
  }
  features.forEach((f, i) => {
    if (f.shape[3] !== inChannels[i]) throw new Error(`${name}: feature ${i} has ${f.shape[3]} channels, expected ${inChannels[i]}`);
  });
}

export class FpnNeck extends Module implements Neck {
  readonly inChannels: number[];
  readonly inStrides: number[];
  readonly outChannels: number[];
  readonly outStrides: number[];
  readonly block: CspKind;
  /** CSP repeats per block. */
  readonly n: number;
  /** laterals[i] reduces the top-down map at level i (i ≥ 1) to C[i−1] channels; laterals[0] is unused. */
  protected readonly laterals: Array<ConvBnAct | null>;
  /** topDown[i] fuses level i (i ≤ L−2); topDown[L−1] is unused. */
  protected readonly topDownBlocks: Array<CspBlock | null>;
  protected readonly levels: string[];

  constructor(opts: FpnNeckOptions) {
    super();
    checkPyramid(new.target.name, opts.inChannels, opts.inStrides);
    this.inChannels = [...opts.inChannels];
    this.inStrides = [...opts.inStrides];
    this.outChannels = [...opts.inChannels];
    this.outStrides = [...opts.inStrides];
    this.block = opts.block ?? 'csp';
    this.n = scaleDepth(3, opts.depthMultiple);
    this.levels = levelNames(this.inStrides);
    const { rng, act } = opts.ctx;
    const L = this.inChannels.length;
    const C = this.inChannels;
    this.laterals = new Array<ConvBnAct | null>(L).fill(null);
    this.topDownBlocks = new Array<CspBlock | null>(L).fill(null);
    for (let i = L - 1; i >= 1; i--) {
      this.laterals[i] = this.addModule(`lat${this.levels[i]}`, new ConvBnAct(C[i]!, C[i - 1]!, { k: 1, act, rng }));
      this.topDownBlocks[i - 1] = this.addModule(
        `td${this.levels[i - 1]}`,
        cspBlock(this.block, 2 * C[i - 1]!, C[i - 1]!, { n: this.n, shortcut: false, act, rng }),
      );
    }
  }

  /**
   * The top-down pass: `td[i]` is the fused map at level i (td[L−1] = the coarsest
   * input), `lat[i]` the 1×1-reduced td[i] that was upsampled into level i−1 (lat[0] is null).
   */
  topDown(features: tf.Tensor4D[]): { td: tf.Tensor4D[]; lat: Array<tf.Tensor4D | null> } {
    checkFeatures(this.typeName, features, this.inChannels);
    const L = features.length;
    const td = new Array<tf.Tensor4D>(L);
    const lat = new Array<tf.Tensor4D | null>(L).fill(null);
    td[L - 1] = features[L - 1]!;
    for (let i = L - 1; i >= 1; i--) {
      const l = this.laterals[i]!.forward(td[i]!);
      lat[i] = l;
      td[i - 1] = this.topDownBlocks[i - 1]!.forward(concatChannels([upsample(l, 2), features[i - 1]!]));
    }
    return { td, lat };
  }

  /** Fused maps at every input level, finest first. */
  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    return this.topDown(features).td;
  }
}
