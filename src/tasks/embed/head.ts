/**
 * Embedding head of joint detection and embedding (JDE): per shared feature
 * level, task code → 1×1 conv (BN, activation) → 1×1 conv to an E-dimensional
 * embedding map. The embedding of a detection is the vector at its cell on its
 * level. Training adds an identity classifier (JDE: the L2-normalised embedding
 * scaled by s = √2·ln(nID − 1), then a linear layer to nID logits, softmax
 * cross-entropy); it is training-only and dropped at deployment.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvBnAct } from '../../nn/conv.js';
import type { FuseReport } from '../../nn/fuse.js';
import type { BuildContext } from '../../nn/module.js';
import { kaimingUniform, Module } from '../../nn/module.js';
import { foldTaskCode, makeTaskCode, type TaskCodeLayer, type TaskCodeOptions } from '../../nn/task-code.js';

export interface EmbedHeadOptions {
  inChannels: number[];
  embedDim: number;
  numIdentities: number;
  code: Omit<TaskCodeOptions, 'rng'>;
  ctx: BuildContext;
}

interface EmbedLevel {
  code: TaskCodeLayer | null;
  conv: ConvBnAct;
  out: Conv2d;
}

/** The training-only identity classifier: logits = s · normalize(e) · W + b. */
export class IdentityClassifier extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  /** JDE's embedding scale √2·ln(nID − 1). */
  readonly scale: number;

  constructor(embedDim: number, numIdentities: number, rng: BuildContext['rng']) {
    super();
    this.weight = this.addParam('weight', kaimingUniform(rng, [embedDim, numIdentities], embedDim), 'weight');
    this.bias = this.addParam('bias', tf.zeros([numIdentities]), 'bias');
    this.scale = Math.SQRT2 * Math.log(Math.max(numIdentities - 1, 2));
  }

  /** Identity logits [N, nID] of embeddings [N, E]. */
  forward(e: tf.Tensor2D): tf.Tensor2D {
    const unit = tf.div(e, tf.add(tf.norm(e, 'euclidean', 1, true), 1e-6));
    return tf.add(tf.matMul(tf.mul(unit, this.scale), this.weight as tf.Tensor2D), this.bias) as tf.Tensor2D;
  }
}

export class EmbedHead extends Module {
  private readonly levels: EmbedLevel[] = [];
  classifier: IdentityClassifier | null;

  constructor(readonly opts: EmbedHeadOptions) {
    super();
    opts.inChannels.forEach((cin, i) => {
      const { code, channels } = makeTaskCode(cin, { ...opts.code, rng: opts.ctx.rng });
      if (code) this.addModule(`l${i}.code`, code);
      const conv = this.addModule(`l${i}.conv`, new ConvBnAct(channels, opts.embedDim, { k: 1, act: opts.ctx.act, rng: opts.ctx.rng }));
      const out = this.addModule(`l${i}.out`, new Conv2d(opts.embedDim, opts.embedDim, { k: 1, rng: opts.ctx.rng }));
      this.levels.push({ code, conv, out });
    });
    this.classifier = this.addModule('classifier', new IdentityClassifier(opts.embedDim, opts.numIdentities, opts.ctx.rng));
  }

  override get typeName(): string {
    return 'Embed';
  }

  /** One embedding map [B, h, w, E] per shared level. */
  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    if (features.length !== this.levels.length) throw new Error(`Embed head expects ${this.levels.length} feature maps, got ${features.length}`);
    return features.map((f, i) => {
      const l = this.levels[i]!;
      return l.out.forward(l.conv.forward(l.code ? l.code.forward(f) : f));
    });
  }

  /** Folds each level's task code into its conv and drops the training-only identity classifier. */
  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    this.levels.forEach((l, i) => {
      if (!l.code) return;
      foldTaskCode(l.code, l.conv, `${this.path}.l${i}.code`, report);
      this.removeModule(`l${i}.code`);
      l.code = null;
    });
    if (this.classifier) {
      this.removeModule('classifier');
      this.classifier = null;
      report.folded.push(`${this.path}.classifier → dropped (identity classifier, used in training only)`);
    }
  }
}
