/**
 * CSP-Darknet backbone (YOLOv4-CSP / YOLOR-CSP / YOLOv5 style), NHWC.
 *
 * Base layout (channels before width scaling, repeats before depth scaling):
 *
 *   stem     ConvBnAct(in → 32, 3×3, s1)                          stride 1
 *   stage1   ConvBnAct(32 → 64, 3×3, s2)                          stride 2
 *   stage2   down: 3×3 s2 (64 → 128),   csp: CSP(128, n = 3)      stride 4
 *   stage3   down: 3×3 s2 (128 → 256),  csp: CSP(256, n = 9)      stride 8   → P3
 *   stage4   down: 3×3 s2 (256 → 512),  csp: CSP(512, n = 9)      stride 16  → P4
 *   stage5   down: 3×3 s2 (512 → 1024), csp: CSP(1024, n = 3),
 *            spp: SPPF(1024 → 1024, k 5) (or SPP 5/9/13, or none) stride 32  → P5
 *
 * CSP is BottleneckCSP ('csp', default) or C3 ('c3'), with residual Bottlenecks.
 * Parameter paths: `stem.conv.weight`, `stage1.bn.gamma`, `stage3.down.conv.weight`,
 * `stage3.csp.m.0.cv1.conv.weight`, `stage5.spp.cv2.bn.running_mean`, …
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type CspBlock, type CspKind, cspBlock, Downsample, SPP, SPPF } from '../../nn/blocks.js';
import { ConvBnAct } from '../../nn/conv.js';
import { Module } from '../../nn/module.js';
import { type Backbone, type BuildContext, scaleDepth, scaleWidth } from '../types.js';

export type SppKind = 'sppf' | 'spp' | 'none';

export interface CspDarknetOptions {
  widthMultiple: number;
  depthMultiple: number;
  ctx: BuildContext;
  /** Input image channels (default 3). */
  inChannels?: number;
  /** 'csp' (BottleneckCSP, YOLOv4-CSP / YOLOR, default) or 'c3' (YOLOv5). */
  block?: CspKind;
  /** Pooling at the end of stage5 (default 'sppf'). */
  spp?: SppKind;
}

/** Base channels of stem, stage1 … stage5 and base repeats of stage2 … stage5. */
export const CSP_DARKNET_CHANNELS = [32, 64, 128, 256, 512, 1024] as const;
export const CSP_DARKNET_REPEATS = [3, 9, 9, 3] as const;
export const CSP_DARKNET_MAX_STRIDE = 32;

/** One downsampling stage: `down` (3×3 s2), `csp`, optionally `spp`. */
export class CspStage extends Module {
  readonly down: Downsample;
  readonly csp: CspBlock;
  readonly spp: SPP | SPPF | null;

  constructor(cin: number, cout: number, opts: { n: number; block: CspKind; spp: SppKind; ctx: BuildContext }) {
    super();
    const { rng, act } = opts.ctx;
    this.down = this.addModule('down', new Downsample(cin, cout, { act, rng }));
    this.csp = this.addModule('csp', cspBlock(opts.block, cout, cout, { n: opts.n, shortcut: true, act, rng }));
    this.spp =
      opts.spp === 'sppf'
        ? this.addModule('spp', new SPPF(cout, cout, { k: 5, act, rng }))
        : opts.spp === 'spp'
          ? this.addModule('spp', new SPP(cout, cout, { kernels: [5, 9, 13], act, rng }))
          : null;
  }

  override get typeName(): string {
    return 'CspStage';
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.csp.forward(this.down.forward(x));
    return this.spp ? this.spp.forward(y) : y;
  }
}

export class CspDarknet extends Module implements Backbone {
  readonly outChannels: number[];
  readonly outStrides = [8, 16, 32];
  /** Scaled channels of stem, stage1 … stage5. */
  readonly channels: number[];
  /** Scaled repeats of stage2 … stage5. */
  readonly repeats: number[];
  readonly inChannels: number;
  readonly block: CspKind;
  readonly stem: ConvBnAct;
  readonly stage1: ConvBnAct;
  readonly stages: CspStage[];
  readonly stageNames: readonly string[] = ['stage1', 'stage2', 'stage3', 'stage4', 'stage5'];

  constructor(opts: CspDarknetOptions) {
    super();
    const { widthMultiple, depthMultiple, ctx } = opts;
    if (!(widthMultiple > 0) || !(depthMultiple > 0)) {
      throw new Error(`CspDarknet: widthMultiple and depthMultiple must be positive, got ${widthMultiple} and ${depthMultiple}`);
    }
    const spp = opts.spp ?? 'sppf';
    if (!['sppf', 'spp', 'none'].includes(spp)) throw new Error(`CspDarknet: unknown spp '${spp}' (expected sppf, spp or none)`);
    this.block = opts.block ?? 'csp';
    this.inChannels = opts.inChannels ?? 3;
    const c = CSP_DARKNET_CHANNELS.map((ch) => scaleWidth(ch, widthMultiple));
    this.channels = c;
    this.repeats = CSP_DARKNET_REPEATS.map((n) => scaleDepth(n, depthMultiple));
    const { rng, act } = ctx;
    this.stem = this.addModule('stem', new ConvBnAct(this.inChannels, c[0]!, { k: 3, stride: 1, act, rng }));
    this.stage1 = this.addModule('stage1', new ConvBnAct(c[0]!, c[1]!, { k: 3, stride: 2, act, rng }));
    this.stages = [];
    for (let i = 0; i < 4; i++) {
      const stage = new CspStage(c[i + 1]!, c[i + 2]!, { n: this.repeats[i]!, block: this.block, spp: i === 3 ? spp : 'none', ctx });
      this.stages.push(this.addModule(`stage${i + 2}`, stage));
    }
    this.outChannels = [c[3]!, c[4]!, c[5]!];
  }

  override get typeName(): string {
    return 'CspDarknet';
  }

  /** Returns [P3, P4, P5] at strides 8, 16, 32. */
  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    return this.stageFeatures(x)
      .slice(2)
      .map(([, y]) => y);
  }

  /**
   * The output of each stage: `stage1` (stem + the stride-2 conv, stride 2),
   * `stage2` (stride 4), `stage3` … `stage5` (strides 8, 16, 32: the P3–P5 that
   * `forward` returns; stage5 includes the SPP/SPPF block).
   */
  stageFeatures(x: tf.Tensor4D): Array<[string, tf.Tensor4D]> {
    const [, h, w, ch] = x.shape;
    if (h % CSP_DARKNET_MAX_STRIDE !== 0 || w % CSP_DARKNET_MAX_STRIDE !== 0) {
      throw new Error(`input size ${h}x${w} is not a multiple of the largest stride ${CSP_DARKNET_MAX_STRIDE}`);
    }
    if (ch !== this.inChannels) throw new Error(`CspDarknet: input has ${ch} channels, the backbone expects ${this.inChannels}`);
    let y = this.stage1.forward(this.stem.forward(x));
    const out: Array<[string, tf.Tensor4D]> = [[this.stageNames[0]!, y]];
    for (let i = 0; i < this.stages.length; i++) {
      y = this.stages[i]!.forward(y);
      out.push([this.stageNames[i + 1]!, y]);
    }
    return out;
  }
}
