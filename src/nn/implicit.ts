/**
 * Implicit knowledge (YOLOR): learned tensors z that do not depend on the input,
 * combined with features x by addition (x + z), multiplication (x · z) or
 * concatenation (concat(x, z broadcast)). z broadcasts over batch and space; it is
 * per channel by default, or per position ([h, w, C]) for the 2-D variant.
 *
 * z itself can be modelled three ways (all collapse to one constant at inference):
 *   vector                z is the parameter
 *   neural network        z = g(z₀): a learned latent z₀ through a small fully-connected net
 *   matrix factorisation  z = offset + Zᵀc: a learned basis Z [k, n] and coefficients c [k]
 * initialised near the identity of the operation: z ≈ N(0, σ) for add and concat,
 * z ≈ N(1, σ) for multiply (σ = 0.02 by default).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { Module } from './module.js';

export type ImplicitKind = 'vector' | 'nn' | 'mf';
export const IMPLICIT_KINDS: readonly ImplicitKind[] = ['vector', 'nn', 'mf'];
export type ImplicitOp = 'add' | 'mul' | 'concat';

/** How an implicit code is combined with features: none, x + z, x · z or concat(x, z). */
export type AlignOp = 'none' | 'add' | 'mul' | 'concat';

export type RefineMode = 'none' | 'add' | 'mul' | 'both';

/** Where YOLOR's implicit knowledge goes in a detector (all of it folds away at export). */
export interface ImplicitConfig {
  /** Implicit feature alignment on each neck output, before the head. */
  align: AlignOp;
  /**
   * Implicit prediction refinement in the detection head: ImplicitAdd before ('add'),
   * ImplicitMul after ('mul') each prediction conv, or both ('both'; `true` in YAML).
   */
  refine: RefineMode;
  /** How z is modelled: a vector, a small network g(z₀), or a matrix factorisation Zᵀc. */
  kind: ImplicitKind;
  sigma: number;
  /** Channels appended by concat alignment. */
  concatChannels: number;
}

export const NO_IMPLICIT: ImplicitConfig = { align: 'none', refine: 'none', kind: 'vector', sigma: 0.02, concatChannels: 8 };

export interface ImplicitOptions {
  kind?: ImplicitKind;
  /** Standard deviation of the initial values around the identity. */
  sigma?: number;
  /** Per-position variant: z has shape [h, w, C] and only fits features of that size. */
  spatial?: [number, number];
  /** Latent size of the nn variant, rank of the mf variant. */
  latent?: number;
  rng: Rng;
}

/** The source of z: a module whose `value()` is the implicit tensor (shape `shape`). */
export class ImplicitTensor extends Module {
  readonly kind: ImplicitKind;
  readonly shape: number[];
  private readonly size: number;
  private readonly vars: Record<string, tf.Variable> = {};

  constructor(
    channels: number,
    readonly identity: 0 | 1,
    opts: ImplicitOptions,
  ) {
    super();
    const sigma = opts.sigma ?? 0.02;
    this.kind = opts.kind ?? 'vector';
    this.shape = opts.spatial ? [opts.spatial[0], opts.spatial[1], channels] : [channels];
    this.size = this.shape.reduce((a, b) => a * b, 1);
    const latent = opts.latent ?? 8;
    const n = this.size;
    const normal = (count: number, scale: number, mean = 0) => tf.tensor(Float32Array.from(opts.rng.normalArray(count, scale), (v) => v + mean));
    const add = (name: string, t: tf.Tensor) => (this.vars[name] = this.addParam(name, t, 'implicit'));
    if (this.kind === 'vector') {
      add('z', tf.reshape(normal(n, sigma, identity), this.shape));
    } else if (this.kind === 'nn') {
      // g(z₀) = W z₀ + b with b starting at the identity: the output starts at identity ± O(σ).
      add('z0', normal(latent, 1));
      add('fc.weight', tf.reshape(normal(latent * n, sigma / Math.sqrt(latent)), [latent, n]));
      add('fc.bias', tf.fill([n], identity));
    } else {
      // offset + Zᵀc: Z and c start small, so z starts at identity ± O(σ).
      add('basis', tf.reshape(normal(latent * n, Math.sqrt(sigma / latent)), [latent, n]));
      add('coef', normal(latent, Math.sqrt(sigma)));
    }
  }

  /** The implicit tensor z (shape `shape`), differentiable with respect to the parameters. */
  value(): tf.Tensor {
    const v = this.vars;
    if (this.kind === 'vector') return v.z!;
    if (this.kind === 'nn') {
      const z0 = tf.reshape(v.z0!, [1, -1]);
      return tf.reshape(tf.add(tf.matMul(z0, v['fc.weight'] as tf.Tensor2D), v['fc.bias']!), this.shape);
    }
    const c = tf.reshape(v.coef!, [1, -1]);
    return tf.reshape(tf.add(tf.matMul(c, v.basis as tf.Tensor2D), this.identity), this.shape);
  }

  override get typeName(): string {
    return `Implicit(${this.kind})`;
  }
}

/** Checks that a per-position z fits the features it is combined with. */
function checkSpatial(name: string, z: ImplicitTensor, x: tf.Tensor4D): void {
  if (z.shape.length === 3 && (z.shape[0] !== x.shape[1] || z.shape[1] !== x.shape[2])) {
    throw new Error(
      `${name}: per-position implicit tensor is ${z.shape[0]}x${z.shape[1]} but the features are ` +
        `${x.shape[1]}x${x.shape[2]}; build the model for this input size or use the per-channel variant`,
    );
  }
}

abstract class ImplicitLayer extends Module {
  readonly z: ImplicitTensor;

  protected constructor(
    readonly op: ImplicitOp,
    channels: number,
    identity: 0 | 1,
    opts: ImplicitOptions,
  ) {
    super();
    this.z = this.addModule('implicit', new ImplicitTensor(channels, identity, opts));
  }

  /** The constant z as a tensor (for folding); the caller disposes it. */
  constantValue(): tf.Tensor {
    return tf.tidy(() => tf.clone(this.z.value()));
  }
}

/** x + z, z ≈ N(0, σ): feature alignment and centre-offset refinement. */
export class ImplicitAdd extends ImplicitLayer {
  constructor(
    readonly channels: number,
    opts: ImplicitOptions,
  ) {
    super('add', channels, 0, opts);
  }

  override get typeName(): string {
    return 'ImplicitAdd';
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    checkSpatial(this.path || this.typeName, this.z, x);
    const out = tf.add(x, this.z.value()) as tf.Tensor4D;
    this.record(out, 0);
    return out;
  }
}

/** x · z, z ≈ N(1, σ): scale (anchor) refinement. */
export class ImplicitMul extends ImplicitLayer {
  constructor(
    readonly channels: number,
    opts: ImplicitOptions,
  ) {
    super('mul', channels, 1, opts);
  }

  override get typeName(): string {
    return 'ImplicitMul';
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    checkSpatial(this.path || this.typeName, this.z, x);
    const out = tf.mul(x, this.z.value()) as tf.Tensor4D;
    this.record(out, out.size);
    return out;
  }
}

/** concat(x, z) along channels, z ≈ N(0, σ) with `extra` channels broadcast over batch and space. */
export class ImplicitConcat extends ImplicitLayer {
  constructor(
    readonly extra: number,
    opts: ImplicitOptions,
  ) {
    super('concat', extra, 0, opts);
  }

  override get typeName(): string {
    return 'ImplicitConcat';
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    checkSpatial(this.path || this.typeName, this.z, x);
    const [b, h, w] = x.shape;
    const z = this.z.value();
    // Broadcast by multiplying with ones: Mul's gradient sums over the broadcast axes.
    const zmap = tf.mul(tf.ones([b, h, w, 1]), z.rank === 1 ? tf.reshape(z, [1, 1, 1, this.extra]) : tf.reshape(z, [1, h, w, this.extra]));
    const out = tf.concat([x, zmap], 3) as tf.Tensor4D;
    this.record(out, 0);
    return out;
  }
}
