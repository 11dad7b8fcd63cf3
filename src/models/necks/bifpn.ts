/**
 * EfficientDet's BiFPN (Tan, Pang & Le, "EfficientDet: Scalable and Efficient
 * Object Detection", 2020): repeated bidirectional (top-down then bottom-up)
 * feature-pyramid layers whose multi-input nodes blend their inputs with
 * learned, non-negative, normalised weights ("fast normalised fusion").
 *
 * Every pyramid level carries `width` channels. Level names follow the stride:
 * P3 = stride 8 … P7 = stride 128. Between levels, features go down with a 3×3
 * stride-2 max-pool ('same' padding) and up with nearest-neighbour resizing to
 * the finer level's exact size.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationName } from '../../nn/activation.js';
import { DWSeparableConv } from '../../nn/blocks.js';
import { ConvBnAct } from '../../nn/conv.js';
import { Module } from '../../nn/module.js';
import type { Rng } from '../../util/rng.js';
import type { BuildContext, Neck } from '../types.js';

/**
 * Fast normalised fusion: O = Σ_i (relu(w_i) / (ε + Σ_j relu(w_j))) · I_i.
 *
 * The weights w (one scalar per input, initialised to 1) are in the `bias`
 * group, so they get no weight decay. Because of the relu, a weight driven
 * below zero contributes exactly 0 (and receives no gradient from the fusion);
 * the normalised weights are always ≥ 0 and sum to Σ/(ε + Σ) ≤ 1 (exactly 0
 * if every weight is ≤ 0).
 */
export class FastNormalizedFusion extends Module {
  readonly weight: tf.Variable;
  readonly eps: number;

  constructor(
    readonly numInputs: number,
    opts: { eps?: number } = {},
  ) {
    super();
    if (!Number.isInteger(numInputs) || numInputs < 1) {
      throw new Error(`FastNormalizedFusion: numInputs must be a positive integer, got ${numInputs}`);
    }
    this.eps = opts.eps ?? 1e-4;
    this.weight = this.addParam('weight', tf.ones([numInputs]), 'bias');
  }

  /** The weights actually applied to each input: relu(w_i) / (ε + Σ_j relu(w_j)). */
  normalizedWeights(): number[] {
    const w = Array.from(this.weight.dataSync(), (v) => Math.max(v, 0));
    const denom = this.eps + w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / denom);
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    if (inputs.length !== this.numInputs) {
      throw new Error(`FastNormalizedFusion${this.path ? ` '${this.path}'` : ''}: expected ${this.numInputs} inputs, got ${inputs.length}`);
    }
    const shape = inputs[0]!.shape.join('x');
    for (const [i, t] of inputs.entries()) {
      if (t.shape.join('x') !== shape) {
        throw new Error(`FastNormalizedFusion${this.path ? ` '${this.path}'` : ''}: input ${i} has shape ${t.shape.join('x')}, input 0 has ${shape}`);
      }
    }
    const r = tf.relu(this.weight);
    const nw = tf.div(r, tf.add(tf.sum(r), this.eps));
    let out: tf.Tensor | null = null;
    for (let i = 0; i < this.numInputs; i++) {
      const term = tf.mul(inputs[i]!, tf.reshape(tf.slice(nw, [i], [1]), []));
      out = out === null ? term : tf.add(out, term);
    }
    const result = out as tf.Tensor4D;
    this.record(result, this.numInputs * result.size);
    return result;
  }
}

/** One BiFPN node: fast normalised fusion of its inputs, then a separable conv. */
export class BiFpnNode extends Module {
  readonly fuse: FastNormalizedFusion;
  readonly conv: DWSeparableConv;

  constructor(numInputs: number, width: number, opts: { act: ActivationName; rng: Rng; eps?: number }) {
    super();
    this.fuse = this.addModule('fuse', new FastNormalizedFusion(numInputs, { eps: opts.eps }));
    this.conv = this.addModule('conv', new DWSeparableConv(width, width, { act: opts.act, dwAct: 'linear', rng: opts.rng }));
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    return this.conv.forward(this.fuse.forward(inputs));
  }
}

/** 3×3 stride-2 max-pool with 'same' padding (EfficientDet's downsampling between levels). */
export function bifpnDownsample(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 3, 2, 'same');
}

/** Nearest-neighbour resize of `x` to the spatial size of `like` (2× between adjacent levels). */
export function bifpnUpsample(x: tf.Tensor4D, like: tf.Tensor4D): tf.Tensor4D {
  return tf.image.resizeNearestNeighbor(x, [like.shape[1], like.shape[2]]);
}

/**
 * One bidirectional layer over L levels (finest first), all with `width` channels.
 *
 *   top-down:  P_top^td = P_top^in;  P_l^td = Conv(Fuse(P_l^in, Up(P_{l+1}^td)))
 *   bottom-up: P_bottom^out = P_bottom^td;
 *              P_l^out = Conv(Fuse(P_l^in, P_l^td, Down(P_{l-1}^out)))   (middle levels)
 *              P_top^out = Conv(Fuse(P_top^in, Down(P_{top-1}^out)))
 *
 * Node modules are named `p{n}_td` / `p{n}_out` after the level (n = log2 stride).
 */
export class BiFpnLayer extends Module {
  /** td[i] for i = 0 … L−2 (the top level has no td node). */
  readonly tdNodes: BiFpnNode[] = [];
  /** out[i] for i = 1 … L−1 (the bottom level's output is its td node); index 0 unused. */
  readonly outNodes: BiFpnNode[] = [];

  constructor(
    readonly width: number,
    readonly levelNames: readonly number[],
    opts: { act: ActivationName; rng: Rng; eps?: number },
  ) {
    super();
    const L = levelNames.length;
    if (L < 2) throw new Error(`BiFpnLayer: needs at least 2 levels, got ${L}`);
    for (let i = L - 2; i >= 0; i--) {
      this.tdNodes[i] = this.addModule(`p${levelNames[i]}_td`, new BiFpnNode(2, width, opts));
    }
    for (let i = 1; i < L; i++) {
      const n = i === L - 1 ? 2 : 3;
      this.outNodes[i] = this.addModule(`p${levelNames[i]}_out`, new BiFpnNode(n, width, opts));
    }
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    const L = this.levelNames.length;
    if (inputs.length !== L) throw new Error(`BiFpnLayer${this.path ? ` '${this.path}'` : ''}: expected ${L} levels, got ${inputs.length}`);
    const td: tf.Tensor4D[] = new Array(L);
    td[L - 1] = inputs[L - 1]!;
    for (let i = L - 2; i >= 0; i--) {
      td[i] = this.tdNodes[i]!.forward([inputs[i]!, bifpnUpsample(td[i + 1]!, inputs[i]!)]);
    }
    const out: tf.Tensor4D[] = new Array(L);
    out[0] = td[0]!;
    for (let i = 1; i < L; i++) {
      const down = bifpnDownsample(out[i - 1]!);
      out[i] = this.outNodes[i]!.forward(i === L - 1 ? [inputs[i]!, down] : [inputs[i]!, td[i]!, down]);
    }
    return out;
  }
}

export interface BiFpnNeckOptions {
  /** Channels of the backbone features P3, P4, P5. */
  inChannels: number[];
  /** Strides of the backbone features (8, 16, 32). */
  inStrides: number[];
  /** Channels of every BiFPN level. */
  width: number;
  /** Number of stacked BiFPN layers. */
  repeats: number;
  /** 3: P3–P5; 5: P3–P7 (P6, P7 made by max-pooling, as in EfficientDet). Default 3. */
  levels?: 3 | 5;
  ctx: BuildContext;
}

/**
 * The BiFPN neck: 1×1 conv + BN projections of P3–P5 to `width` channels,
 * optionally P6 = maxpool(1×1 conv + BN of P5) and P7 = maxpool(P6), then
 * `repeats` BiFpnLayers. Returns `levels` maps of `width` channels.
 */
export class BiFpnNeck extends Module implements Neck {
  readonly outChannels: number[];
  readonly outStrides: number[];
  readonly width: number;
  readonly repeats: number;
  readonly levels: 3 | 5;
  readonly inChannels: number[];
  readonly inStrides: number[];
  readonly laterals: ConvBnAct[] = [];
  readonly p6Conv: ConvBnAct | null = null;
  readonly layers: BiFpnLayer[] = [];

  constructor(opts: BiFpnNeckOptions) {
    super();
    const { inChannels, inStrides, width, repeats, ctx } = opts;
    const levels = opts.levels ?? 3;
    if (levels !== 3 && levels !== 5) throw new Error(`BiFpnNeck: levels must be 3 or 5, got ${String(levels)}`);
    if (inChannels.length !== 3 || inStrides.length !== 3) {
      throw new Error(`BiFpnNeck: expects 3 input features (P3, P4, P5), got ${inChannels.length} channel counts and ${inStrides.length} strides`);
    }
    for (let i = 1; i < 3; i++) {
      if (inStrides[i] !== inStrides[i - 1]! * 2) {
        throw new Error(`BiFpnNeck: input strides must double level to level, got [${inStrides.join(', ')}]`);
      }
    }
    if (!Number.isInteger(width) || width < 1) throw new Error(`BiFpnNeck: width must be a positive integer, got ${width}`);
    if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`BiFpnNeck: repeats must be a positive integer, got ${repeats}`);
    this.width = width;
    this.repeats = repeats;
    this.levels = levels;
    this.inChannels = inChannels.slice();
    this.inStrides = inStrides.slice();
    const strides = inStrides.slice();
    while (strides.length < levels) strides.push(strides[strides.length - 1]! * 2);
    this.outStrides = strides;
    this.outChannels = strides.map(() => width);
    const names = strides.map((s) => Math.round(Math.log2(s)));

    for (let i = 0; i < 3; i++) {
      this.laterals.push(this.addModule(`lateral.p${names[i]}`, new ConvBnAct(inChannels[i]!, width, { k: 1, act: 'linear', rng: ctx.rng })));
    }
    if (levels === 5) {
      this.p6Conv = this.addModule(`p${names[3]}_conv`, new ConvBnAct(inChannels[2]!, width, { k: 1, act: 'linear', rng: ctx.rng }));
    }
    for (let r = 0; r < repeats; r++) {
      this.layers.push(this.addModule(`layers.${r}`, new BiFpnLayer(width, names, { act: ctx.act, rng: ctx.rng })));
    }
  }

  override get typeName(): string {
    return 'BiFPN';
  }

  /**
   * Checks that features of an input of size h×w would be consistent through all
   * levels: h and w must divide by the largest output stride.
   */
  checkInputSize(h: number, w: number): void {
    const maxStride = this.outStrides[this.outStrides.length - 1]!;
    if (h % maxStride !== 0 || w % maxStride !== 0) {
      throw new Error(
        `BiFpnNeck: input size ${h}x${w} is not divisible by the largest stride ${maxStride} (${this.levels} levels); ` +
          `use an input whose sides are multiples of ${maxStride}`,
      );
    }
  }

  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    if (features.length !== 3) throw new Error(`BiFpnNeck: expected 3 feature maps (P3, P4, P5), got ${features.length}`);
    const h = features[0]!.shape[1] * this.inStrides[0]!;
    const w = features[0]!.shape[2] * this.inStrides[0]!;
    for (const [i, f] of features.entries()) {
      const s = this.inStrides[i]!;
      if (f.shape[3] !== this.inChannels[i]) {
        throw new Error(`BiFpnNeck: feature ${i} has ${f.shape[3]} channels, expected ${this.inChannels[i]}`);
      }
      if (f.shape[1] * s !== h || f.shape[2] * s !== w) {
        throw new Error(`BiFpnNeck: feature ${i} is ${f.shape[1]}x${f.shape[2]}, expected ${h / s}x${w / s} for stride ${s} of a ${h}x${w} input`);
      }
    }
    this.checkInputSize(h, w);
    let p: tf.Tensor4D[] = features.map((f, i) => this.laterals[i]!.forward(f));
    if (this.p6Conv) {
      const p6 = bifpnDownsample(this.p6Conv.forward(features[2]!));
      const p7 = bifpnDownsample(p6);
      p = [...p, p6, p7];
    }
    for (const layer of this.layers) p = layer.forward(p);
    return p;
  }
}

export interface BiFpnScaling {
  /** BiFPN channels: 8 · round(64 · 1.35^φ / 8). */
  width: number;
  /** BiFPN layers: 3 + φ. */
  repeats: number;
  /** Box/class head depth: 3 + ⌊φ/3⌋. */
  headDepth: number;
}

/**
 * EfficientDet compound scaling for the neck (paper eq. 1–2) at coefficient φ
 * (a non-negative integer):
 *
 *   width     = 8 · round(64 · 1.35^φ / 8)   (nearest multiple of 8; halves round up)
 *   repeats   = 3 + φ
 *   headDepth = 3 + ⌊φ / 3⌋
 *
 * φ = 0…3 gives widths 64, 88, 120, 160. The paper's table uses hand-picked
 * widths in places (112 for D2, 224 for D4, 288 for D5); this function follows
 * the formula, not the table.
 */
export function bifpnScaling(phi: number): BiFpnScaling {
  if (!Number.isInteger(phi) || phi < 0) throw new Error(`bifpnScaling: φ must be a non-negative integer, got ${phi}`);
  return {
    width: 8 * Math.round((64 * 1.35 ** phi) / 8),
    repeats: 3 + phi,
    headDepth: 3 + Math.floor(phi / 3),
  };
}
