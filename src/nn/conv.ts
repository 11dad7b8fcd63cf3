/**
 * Convolution layers: Conv2d (with bias), ConvBnAct (conv → batch norm →
 * activation, the workhorse of every YOLO family) and its depthwise variant.
 * Batch norm uses batch statistics in training mode and running statistics in
 * eval mode (momentum 0.03, ε = 1e-3, as in the YOLOv4/v5/YOLOR codebases).
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormActTrain, batchNormTrain, nativeBatchNormAct } from '../engine/fused-ops.js';
import type { Rng } from '../util/rng.js';
import { type ActivationName, activate } from './activation.js';
import { type FuseReport, foldBatchNorm } from './fuse.js';
import { kaimingUniform, Module } from './module.js';

export interface ConvOptions {
  cin: number;
  cout: number;
  k?: number;
  stride?: number;
  act?: ActivationName;
  rng: Rng;
}

export const BN_MOMENTUM = 0.03;
export const BN_EPS = 1e-3;

/** Same-padding for odd kernels (k // 2 on each side), as in PyTorch YOLO code: output = ⌈input / stride⌉ for even inputs. */
function samePad(k: number): [[0, 0], [number, number], [number, number], [0, 0]] {
  const p = Math.floor(k / 2);
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

function outSize(inSize: number, k: number, stride: number): number {
  return Math.floor((inSize + 2 * Math.floor(k / 2) - k) / stride) + 1;
}

/** Plain convolution with bias (prediction heads). */
export class Conv2d extends Module {
  weight: tf.Variable;
  bias: tf.Variable;
  readonly k: number;
  readonly stride: number;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: { k?: number; stride?: number; rng: Rng; biasInit?: Float32Array },
  ) {
    super();
    this.k = opts.k ?? 1;
    this.stride = opts.stride ?? 1;
    this.weight = this.addParam('weight', kaimingUniform(opts.rng, [this.k, this.k, cin, cout], this.k * this.k * cin), 'weight');
    const b = opts.biasInit ?? (kaimingUniform(opts.rng, [cout], this.k * this.k * cin).dataSync() as Float32Array);
    this.bias = this.addParam('bias', tf.tensor1d(b), 'bias');
  }

  /** Replaces weight and bias (implicit knowledge folded in); input channels may shrink (concat folding). */
  setConv(weight: tf.Tensor4D, bias: tf.Tensor1D): void {
    this.weight = this.setParam('weight', weight, 'weight');
    this.bias = this.setParam('bias', bias, 'bias');
    (this as { cin: number }).cin = weight.shape[2];
  }

  /** Padding on each side (k // 2). */
  get pad(): number {
    return Math.floor(this.k / 2);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, samePad(this.k));
    const out = tf.add(y, this.bias) as tf.Tensor4D;
    this.record(out, (out.size / this.cout) * this.k * this.k * this.cin * this.cout);
    return out;
  }
}

/**
 * Batch normalisation over the channel axis: batch statistics in training mode
 * (running statistics updated with momentum 0.03 and the unbiased variance, as
 * PyTorch does), running statistics in eval mode; ε = 1e-3. Parameters `gamma`,
 * `beta` (group 'bn') and buffers `running_mean`, `running_var`.
 */
export class BatchNorm2d extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(readonly channels: number) {
    super();
    this.gamma = this.addParam('gamma', tf.ones([channels]), 'bn');
    this.beta = this.addParam('beta', tf.zeros([channels]), 'bn');
    this.runningMean = this.addParam('running_mean', tf.zeros([channels]), 'buffer');
    this.runningVar = this.addParam('running_var', tf.ones([channels]), 'buffer');
  }

  override get typeName(): string {
    return 'BN';
  }

  forward(y: tf.Tensor4D): tf.Tensor4D {
    return this.normalizeBatch(y);
  }

  /** The normalisation alone (subclasses that add an activation override forward, not this). */
  protected normalizeBatch(y: tf.Tensor4D): tf.Tensor4D {
    if (!this.training) {
      return tf.batchNorm(y, this.runningMean, this.runningVar, this.beta, this.gamma, BN_EPS) as tf.Tensor4D;
    }
    return batchNormTrain(y, this.gamma, this.beta, BN_EPS, this.updateRunning);
  }

  /**
   * Batch norm then `act`: in training mode with the native kernels active, one fused
   * op each way (same maths); otherwise forward() then the activation.
   */
  forwardAct(y: tf.Tensor4D, act: ActivationName): tf.Tensor4D {
    if (this.training && nativeBatchNormAct(act)) return batchNormActTrain(y, this.gamma, this.beta, BN_EPS, act, this.updateRunning);
    return activate(this.normalizeBatch(y), act) as tf.Tensor4D;
  }

  // Running statistics from the op's own batch moments (of the whole batch under
  // synchronised batch norm, where n counts every replica's elements); assign() is not differentiated.
  private readonly updateRunning = (mean: tf.Tensor, variance: tf.Tensor, n: number): void =>
    tf.tidy(() => {
      const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
}

/**
 * A convolution followed by batch norm (child `bn`) and an activation; the layer
 * reports itself as one row. After `fuseInPlace` the batch norm is folded into the
 * convolution, which then has a bias (`conv.bias`) and no `bn` child.
 */
abstract class ConvBnBase extends Module {
  bn: BatchNorm2d | null;
  weight!: tf.Variable;
  bias: tf.Variable | null = null;
  protected abstract readonly depthwise: boolean;

  protected constructor(channels: number) {
    super();
    this.bn = this.addModule('bn', new BatchNorm2d(channels));
  }

  /** Conv output plus bias (deploy) or batch norm (training form), then the activation (fused natively where it can be). */
  protected normalizeAct(y: tf.Tensor4D, act: ActivationName): tf.Tensor4D {
    return this.bn ? this.bn.forwardAct(y, act) : (activate(tf.add(y, this.bias!), act) as tf.Tensor4D);
  }

  override fuseInPlace(report: FuseReport): void {
    if (!this.bn) return;
    const bn = this.bn;
    const folded = foldBatchNorm(
      this.weight as tf.Tensor4D,
      null,
      {
        gamma: bn.gamma,
        beta: bn.beta,
        mean: bn.runningMean,
        variance: bn.runningVar,
        eps: BN_EPS,
      },
      this.depthwise,
    );
    this.weight = this.setParam('conv.weight', folded.weight, 'weight');
    this.bias = this.setParam('conv.bias', folded.bias, 'bias');
    this.removeModule('bn');
    this.bn = null;
    report.folded.push(`${this.path}.bn → ${this.path}.conv`);
  }

  override dropBatchNorm(): void {
    if (!this.bn) return;
    this.bias = this.addParam('conv.bias', tf.zeros([this.bn.channels]), 'bias');
    this.removeModule('bn');
    this.bn = null;
  }

  /** Replaces the (folded) weight and bias, e.g. when implicit knowledge folds in. */
  setConv(weight: tf.Tensor4D, bias: tf.Tensor1D): void {
    if (this.bn) throw new Error(`${this.path}: fold batch norm before folding other constants into the conv`);
    this.weight = this.setParam('conv.weight', weight, 'weight');
    this.bias = this.setParam('conv.bias', bias, 'bias');
  }
}

/** Conv (no bias) → BN → activation. */
export class ConvBnAct extends ConvBnBase {
  protected readonly depthwise = false;
  readonly k: number;
  readonly stride: number;
  readonly act: ActivationName;

  constructor(
    readonly cin: number,
    readonly cout: number,
    opts: Omit<ConvOptions, 'cin' | 'cout'>,
  ) {
    super(cout);
    this.k = opts.k ?? 1;
    this.stride = opts.stride ?? 1;
    this.act = opts.act ?? 'silu';
    this.weight = this.addParam('conv.weight', kaimingUniform(opts.rng, [this.k, this.k, cin, cout], this.k * this.k * cin), 'weight');
  }

  override get typeName(): string {
    return 'Conv';
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, samePad(this.k));
    const out = this.normalizeAct(y, this.act);
    this.record(out, (out.size / this.cout) * this.k * this.k * this.cin * this.cout);
    return out;
  }

  outputSize(inSize: number): number {
    return outSize(inSize, this.k, this.stride);
  }
}

/** Depthwise conv (no bias) → BN → activation; one k×k filter per channel. */
export class DepthwiseConvBnAct extends ConvBnBase {
  protected readonly depthwise = true;
  readonly k: number;
  readonly stride: number;
  readonly act: ActivationName;

  constructor(
    readonly channels: number,
    opts: { k?: number; stride?: number; act?: ActivationName; rng: Rng },
  ) {
    super(channels);
    this.k = opts.k ?? 3;
    this.stride = opts.stride ?? 1;
    this.act = opts.act ?? 'silu';
    this.weight = this.addParam('conv.weight', kaimingUniform(opts.rng, [this.k, this.k, channels, 1], this.k * this.k), 'weight');
  }

  override get typeName(): string {
    return 'DWConv';
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.depthwiseConv2d(x, this.weight as tf.Tensor4D, this.stride, samePad(this.k));
    const out = this.normalizeAct(y, this.act);
    this.record(out, (out.size / this.channels) * this.k * this.k * this.channels);
    return out;
  }
}
