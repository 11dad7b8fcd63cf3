/**
 * Building blocks of the YOLOv4-CSP / YOLOR / YOLOv5 families (NHWC):
 * Bottleneck, BottleneckCSP (YOLOv4-CSP), C3 (YOLOv5), SPP / SPPF, the
 * depthwise-separable conv, stride-2 downsampling and the parameter-free
 * nearest upsample and channel concat.
 *
 * Every block is a composite of leaf layers (ConvBnAct, PlainConv, BatchNormAct)
 * that report themselves to the tracer; the blocks themselves never call
 * record(), so a traced forward counts each multiply-add exactly once.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { type ActivationName, activate } from './activation.js';
import { BatchNorm2d, BN_EPS, ConvBnAct, DepthwiseConvBnAct } from './conv.js';
import type { FuseReport } from './fuse.js';
import { kaimingUniform, Module } from './module.js';

/** What every block needs: the initialiser's generator and the activation (SiLU by default, as ConvBnAct). */
export interface BlockOptions {
  act?: ActivationName;
  rng: Rng;
}

export interface CspOptions extends BlockOptions {
  /** Number of inner Bottlenecks (default 1). */
  n?: number;
  /** Residual adds inside the Bottlenecks (default true). */
  shortcut?: boolean;
  /** Hidden width c_ = floor(cout · expansion) (default 0.5). */
  expansion?: number;
}

/** Hidden channels as PyTorch's int(c · e), at least 1. */
export function hiddenChannels(cout: number, expansion: number): number {
  return Math.max(1, Math.floor(cout * expansion));
}

/** Same padding for odd kernels (k // 2 each side), as in conv.ts. */
function samePad(k: number): [[0, 0], [number, number], [number, number], [0, 0]] {
  const p = Math.floor(k / 2);
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

/**
 * Convolution without bias, batch norm or activation: the `cv2`/`cv3` branches of
 * BottleneckCSP (nn.Conv2d(bias=False) in YOLOv4-CSP), whose concat is normalised
 * by one shared BatchNormAct. Parameter: `weight` [k, k, cin, cout].
 */
export class PlainConv extends Module {
  weight: tf.Variable;
  /** Only after fuseInPlace folded a following batch norm into this conv. */
  bias: tf.Variable | null = null;
  readonly k: number;
  readonly stride: number;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: { k?: number; stride?: number; rng: Rng },
  ) {
    super();
    this.k = opts.k ?? 1;
    this.stride = opts.stride ?? 1;
    this.weight = this.addParam('weight', kaimingUniform(opts.rng, [this.k, this.k, cin, cout], this.k * this.k * cin), 'weight');
  }

  override get typeName(): string {
    return 'Conv2d';
  }

  setConv(weight: tf.Tensor4D, bias: tf.Tensor1D): void {
    this.weight = this.setParam('weight', weight, 'weight');
    this.bias = this.setParam('bias', bias, 'bias');
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, samePad(this.k));
    const out = this.bias ? (tf.add(y, this.bias) as tf.Tensor4D) : y;
    this.record(out, (out.size / this.cout) * this.k * this.k * this.cin * this.cout);
    return out;
  }
}

/**
 * Batch norm → activation on its own (the BN after BottleneckCSP's concat), with
 * BatchNorm2d's maths and parameter names. Records one row with 0 MACs so that
 * per-row parameter counts in summaries add up to the model total.
 */
export class BatchNormAct extends BatchNorm2d {
  readonly act: ActivationName;

  constructor(channels: number, opts: { act?: ActivationName } = {}) {
    super(channels);
    this.act = opts.act ?? 'silu';
  }

  /** True once the normalisation was folded into the preceding convs (only the activation is left). */
  activationOnly = false;

  override forward(x: tf.Tensor4D): tf.Tensor4D {
    const out = this.activationOnly ? (activate(x, this.act) as tf.Tensor4D) : this.forwardAct(x, this.act);
    this.record(out, 0);
    return out;
  }

  /** The normalisation as y = x·scale + shift (running statistics), for folding into the convs before it. */
  affine(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    return tf.tidy(() => {
      const scale = tf.div(this.gamma, tf.sqrt(tf.add(this.runningVar, BN_EPS))) as tf.Tensor1D;
      return { scale, shift: tf.sub(this.beta, tf.mul(this.runningMean, scale)) as tf.Tensor1D };
    });
  }

  override dropBatchNorm(): void {
    if (!this.activationOnly) this.dropNormalization();
  }

  /** Drops the normalisation's parameters once folded; only the activation remains. */
  dropNormalization(): void {
    for (const n of ['gamma', 'beta', 'running_mean', 'running_var']) this.removeParam(n);
    this.activationOnly = true;
  }
}

/**
 * Residual bottleneck: cv1 = 1×1 ConvBnAct(cin → c_), cv2 = 3×3 ConvBnAct(c_ → cout),
 * c_ = floor(cout · expansion) (expansion 1.0 by default); adds the input when
 * `shortcut` (default true) and cin === cout.
 * Params: cin·c_ + 2c_ + 9·c_·cout + 2cout.
 */
export class Bottleneck extends Module {
  readonly cv1: ConvBnAct;
  readonly cv2: ConvBnAct;
  readonly add: boolean;
  readonly hidden: number;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: BlockOptions & { shortcut?: boolean; expansion?: number },
  ) {
    super();
    this.hidden = hiddenChannels(cout, opts.expansion ?? 1.0);
    this.cv1 = this.addModule('cv1', new ConvBnAct(cin, this.hidden, { k: 1, act: opts.act, rng: opts.rng }));
    this.cv2 = this.addModule('cv2', new ConvBnAct(this.hidden, cout, { k: 3, act: opts.act, rng: opts.rng }));
    this.add = (opts.shortcut ?? true) && cin === cout;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.cv2.forward(this.cv1.forward(x));
    return this.add ? (tf.add(x, y) as tf.Tensor4D) : y;
  }
}

/** `n` Bottlenecks(c, c, e = 1.0) attached to `parent` as m.0 … m.{n−1}. */
function bottleneckStack(parent: { add: (name: string, m: Bottleneck) => Bottleneck }, c: number, opts: CspOptions): Bottleneck[] {
  const n = opts.n ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`CSP block: n must be a positive integer, got ${n}`);
  const out: Bottleneck[] = [];
  for (let i = 0; i < n; i++) {
    out.push(parent.add(`m.${i}`, new Bottleneck(c, c, { shortcut: opts.shortcut ?? true, expansion: 1.0, act: opts.act, rng: opts.rng })));
  }
  return out;
}

function runStack(m: readonly Bottleneck[], x: tf.Tensor4D): tf.Tensor4D {
  let y = x;
  for (const b of m) y = b.forward(y);
  return y;
}

/**
 * YOLOv4-CSP BottleneckCSP: c_ = floor(cout · e) (e = 0.5 by default);
 *   y1 = cv3(m(cv1(x)))   cv1 = ConvBnAct(cin, c_, 1), m = n × Bottleneck(c_, c_, e = 1), cv3 = PlainConv(c_, c_, 1)
 *   y2 = cv2(x)            cv2 = PlainConv(cin, c_, 1)
 *   out = cv4(bn(concat[y1, y2]))   bn = BatchNormAct(2c_), cv4 = ConvBnAct(2c_, cout, 1)
 * Params: (cin·c_ + 2c_) + n·(10·c_² + 4c_) + c_² + cin·c_ + 4c_ + (2c_·cout + 2cout).
 */
export class BottleneckCSP extends Module {
  readonly cv1: ConvBnAct;
  readonly cv2: PlainConv;
  readonly cv3: PlainConv;
  readonly cv4: ConvBnAct;
  readonly bn: BatchNormAct;
  readonly m: Bottleneck[];
  readonly hidden: number;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: CspOptions,
  ) {
    super();
    this.hidden = hiddenChannels(cout, opts.expansion ?? 0.5);
    const c = this.hidden;
    this.cv1 = this.addModule('cv1', new ConvBnAct(cin, c, { k: 1, act: opts.act, rng: opts.rng }));
    this.cv2 = this.addModule('cv2', new PlainConv(cin, c, { k: 1, rng: opts.rng }));
    this.cv3 = this.addModule('cv3', new PlainConv(c, c, { k: 1, rng: opts.rng }));
    this.cv4 = this.addModule('cv4', new ConvBnAct(2 * c, cout, { k: 1, act: opts.act, rng: opts.rng }));
    this.bn = this.addModule('bn', new BatchNormAct(2 * c, { act: opts.act }));
    this.m = bottleneckStack({ add: (name, b) => this.addModule(name, b) }, c, opts);
  }

  override get typeName(): string {
    return 'BottleneckCSP';
  }

  /** Children first; then the BN over concat[cv3, cv2] folds channel-wise into cv3 and cv2. */
  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    if (this.bn.activationOnly) return;
    const c = this.hidden;
    const { scale, shift } = this.bn.affine();
    for (const [conv, offset] of [
      [this.cv3, 0],
      [this.cv2, c],
    ] as const) {
      const [w, b] = tf.tidy(() => {
        const s = tf.slice(scale, [offset], [c]);
        return [tf.mul(conv.weight, s) as tf.Tensor4D, tf.slice(shift, [offset], [c]) as tf.Tensor1D] as const;
      });
      conv.setConv(w, b);
    }
    tf.dispose([scale, shift]);
    this.bn.dropNormalization();
    report.folded.push(`${this.path}.bn → ${this.path}.cv3, ${this.path}.cv2`);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y1 = this.cv3.forward(runStack(this.m, this.cv1.forward(x)));
    const y2 = this.cv2.forward(x);
    return this.cv4.forward(this.bn.forward(concatChannels([y1, y2])));
  }
}

/**
 * YOLOv5 C3: c_ = floor(cout · e) (e = 0.5 by default);
 *   out = cv3(concat[m(cv1(x)), cv2(x)])   cv1, cv2 = ConvBnAct(cin, c_, 1), cv3 = ConvBnAct(2c_, cout, 1)
 * Params: 2·(cin·c_ + 2c_) + n·(10·c_² + 4c_) + (2c_·cout + 2cout).
 */
export class C3 extends Module {
  readonly cv1: ConvBnAct;
  readonly cv2: ConvBnAct;
  readonly cv3: ConvBnAct;
  readonly m: Bottleneck[];
  readonly hidden: number;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: CspOptions,
  ) {
    super();
    this.hidden = hiddenChannels(cout, opts.expansion ?? 0.5);
    const c = this.hidden;
    this.cv1 = this.addModule('cv1', new ConvBnAct(cin, c, { k: 1, act: opts.act, rng: opts.rng }));
    this.cv2 = this.addModule('cv2', new ConvBnAct(cin, c, { k: 1, act: opts.act, rng: opts.rng }));
    this.cv3 = this.addModule('cv3', new ConvBnAct(2 * c, cout, { k: 1, act: opts.act, rng: opts.rng }));
    this.m = bottleneckStack({ add: (name, b) => this.addModule(name, b) }, c, opts);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.cv3.forward(concatChannels([runStack(this.m, this.cv1.forward(x)), this.cv2.forward(x)]));
  }
}

export type CspKind = 'csp' | 'c3';
export const CSP_KINDS: readonly CspKind[] = ['csp', 'c3'];
export type CspBlock = BottleneckCSP | C3;

/** BottleneckCSP for 'csp', C3 for 'c3'. */
export function cspBlock(kind: CspKind, cin: number, cout: number, opts: CspOptions): CspBlock {
  switch (kind) {
    case 'csp':
      return new BottleneckCSP(cin, cout, opts);
    case 'c3':
      return new C3(cin, cout, opts);
    default:
      throw new Error(`unknown CSP block '${String(kind)}' (expected one of ${CSP_KINDS.join(', ')})`);
  }
}

/**
 * Spatial pyramid pooling (YOLOv4): cv1 = ConvBnAct(cin, c_, 1) with c_ = floor(cin / 2),
 * max-pools (stride 1, same padding) with each kernel, concat [x, pools…],
 * cv2 = ConvBnAct(c_ · (len + 1), cout, 1).
 */
export class SPP extends Module {
  readonly cv1: ConvBnAct;
  readonly cv2: ConvBnAct;
  readonly kernels: readonly number[];

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: BlockOptions & { kernels?: readonly number[] },
  ) {
    super();
    this.kernels = opts.kernels ?? [5, 9, 13];
    for (const k of this.kernels)
      if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new Error(`SPP: pool kernels must be odd positive integers, got ${k}`);
    const c = hiddenChannels(cin, 0.5);
    this.cv1 = this.addModule('cv1', new ConvBnAct(cin, c, { k: 1, act: opts.act, rng: opts.rng }));
    this.cv2 = this.addModule('cv2', new ConvBnAct(c * (this.kernels.length + 1), cout, { k: 1, act: opts.act, rng: opts.rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.cv1.forward(x);
    const pools = this.kernels.map((k) => tf.maxPool(y, k, 1, 'same'));
    return this.cv2.forward(concatChannels([y, ...pools]));
  }
}

/**
 * Fast SPP (YOLOv5): one k×k max-pool applied three times in sequence, which
 * equals SPP with kernels [k, 2k−1, 3k−2] (5 → 5, 9, 13) at lower cost.
 * cv1 = ConvBnAct(cin, floor(cin / 2), 1), cv2 = ConvBnAct(4c_, cout, 1).
 */
export class SPPF extends Module {
  readonly cv1: ConvBnAct;
  readonly cv2: ConvBnAct;
  readonly k: number;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: BlockOptions & { k?: number },
  ) {
    super();
    this.k = opts.k ?? 5;
    if (!Number.isInteger(this.k) || this.k < 1 || this.k % 2 === 0)
      throw new Error(`SPPF: pool kernel must be an odd positive integer, got ${this.k}`);
    const c = hiddenChannels(cin, 0.5);
    this.cv1 = this.addModule('cv1', new ConvBnAct(cin, c, { k: 1, act: opts.act, rng: opts.rng }));
    this.cv2 = this.addModule('cv2', new ConvBnAct(4 * c, cout, { k: 1, act: opts.act, rng: opts.rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y0 = this.cv1.forward(x);
    const y1 = tf.maxPool(y0, this.k, 1, 'same');
    const y2 = tf.maxPool(y1, this.k, 1, 'same');
    const y3 = tf.maxPool(y2, this.k, 1, 'same');
    return this.cv2.forward(concatChannels([y0, y1, y2, y3]));
  }
}

/**
 * Depthwise-separable conv (MobileNet / EfficientDet): dw = DepthwiseConvBnAct(cin, k, stride),
 * pw = ConvBnAct(cin, cout, 1). Params: k²·cin + 2cin + cin·cout + 2cout.
 */
export class DWSeparableConv extends Module {
  readonly dw: DepthwiseConvBnAct;
  readonly pw: ConvBnAct;

  /**
   * `dwAct` is the activation after the depthwise half: the block's `act` by default
   * (MobileNet), 'linear' for EfficientDet's separable convs (BN + act only after the pointwise conv).
   */
  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: BlockOptions & { k?: number; stride?: number; dwAct?: ActivationName },
  ) {
    super();
    this.dw = this.addModule(
      'dw',
      new DepthwiseConvBnAct(cin, { k: opts.k ?? 3, stride: opts.stride ?? 1, act: opts.dwAct ?? opts.act, rng: opts.rng }),
    );
    this.pw = this.addModule('pw', new ConvBnAct(cin, cout, { k: 1, act: opts.act, rng: opts.rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.pw.forward(this.dw.forward(x));
  }
}

/** 3×3 stride-2 ConvBnAct (halves H and W for even sizes). Same parameter names as ConvBnAct (`conv.weight`, `bn.*`). */
export class Downsample extends ConvBnAct {
  constructor(cin: number, cout: number, opts: BlockOptions) {
    super(cin, cout, { k: 3, stride: 2, act: opts.act, rng: opts.rng });
  }
}

/** Nearest-neighbour upsampling by an integer factor (2 by default), as nn.Upsample(scale_factor, 'nearest'). */
export function upsample(x: tf.Tensor4D, factor = 2): tf.Tensor4D {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upsample: factor must be a positive integer, got ${factor}`);
  if (factor === 1) return x;
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * factor, x.shape[2] * factor]);
}

/** Parameter-free nearest upsample as a module (for model definitions that want one). */
export class Upsample extends Module {
  constructor(readonly factor = 2) {
    super();
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return upsample(x, this.factor);
  }
}

/** Concatenates NHWC maps along channels; batch and spatial sizes must agree. */
export function concatChannels(xs: readonly tf.Tensor4D[]): tf.Tensor4D {
  if (xs.length === 0) throw new Error('concatChannels: no inputs');
  const [n, h, w] = xs[0]!.shape;
  for (const x of xs) {
    if (x.shape[0] !== n || x.shape[1] !== h || x.shape[2] !== w) {
      throw new Error(`concatChannels: shapes [${xs.map((t) => `[${t.shape}]`).join(', ')}] differ outside the channel axis`);
    }
  }
  if (xs.length === 1) return xs[0]!;
  return tf.concat(xs as tf.Tensor4D[], 3);
}
