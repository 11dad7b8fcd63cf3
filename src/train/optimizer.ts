/**
 * Optimisers with YOLO-style parameter groups: conv/linear weights get weight
 * decay; biases, batch-norm scale/shift and implicit tensors do not (the
 * `weight` / `bias` / `bn` / `implicit` groups of nn/module.ts). Each group has
 * its own learning rate (biases warm up from a higher rate), so the update is
 * written here instead of using tfjs's single-rate optimisers.
 *
 *   SGD:   v ← μ·v + g(+λ·w);  w ← w − lr·(g + μ·v) (Nesterov)
 *   AdamW: m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;  w ← w − lr·(m̂/(√ŝ + ε) + λ·w)
 */

import * as tf from '@tensorflow/tfjs-core';
import { SGD_STEP, type SgdStepAttrs } from '../engine/kernels/optimizer-steps.js';
import type { Module, ParamGroup } from '../nn/module.js';

export type OptimizerName = 'sgd' | 'adamw';
export type GroupName = Exclude<ParamGroup, 'buffer'>;

export interface OptimizerOptions {
  name: OptimizerName;
  lr: number;
  /** SGD momentum or Adam β₁. */
  momentum: number;
  weightDecay: number;
  /** Groups that get weight decay (default: only 'weight'). */
  decayGroups?: GroupName[];
  /** Parameters (by name) that are not trained: they get no slot, so no update and no optimiser state. */
  frozen?: (name: string) => boolean;
}

interface Slot {
  name: string;
  variable: tf.Variable;
  group: GroupName;
  m: tf.Variable;
  s: tf.Variable | null;
}

export class GroupedOptimizer {
  readonly slots: Slot[];
  /** Current learning rate per group (set by the schedule each step). */
  readonly lr: Record<GroupName, number>;
  momentum: number;
  step = 0;
  private readonly decay: Set<GroupName>;

  constructor(
    model: Module,
    readonly opts: OptimizerOptions,
  ) {
    this.slots = model
      .parameters()
      .filter((p) => p.group !== 'buffer' && !opts.frozen?.(p.name))
      .map((p) => ({
        name: p.name,
        variable: p.variable,
        group: p.group as GroupName,
        m: tf.variable(tf.zerosLike(p.variable), false),
        s: opts.name === 'adamw' ? tf.variable(tf.zerosLike(p.variable), false) : null,
      }));
    this.lr = { weight: opts.lr, bias: opts.lr, bn: opts.lr, implicit: opts.lr };
    this.momentum = opts.momentum;
    this.decay = new Set(opts.decayGroups ?? ['weight']);
  }

  get variables(): tf.Variable[] {
    return this.slots.map((s) => s.variable);
  }

  /** Applies one update from gradients keyed by variable name (missing = zero gradient). */
  apply(grads: Record<string, tf.Tensor>): void {
    this.step++;
    const { momentum: mu } = this;
    const b2 = 0.999;
    const eps = 1e-8;
    // One fused kernel per variable where the backend has it (engine/kernels/optimizer-steps.ts; bit-identical).
    const fused = this.opts.name === 'sgd' && tf.getKernel(SGD_STEP, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      for (const s of this.slots) {
        const g0 = grads[s.variable.name];
        if (!g0) continue;
        const lr = this.lr[s.group];
        const wd = this.decay.has(s.group) ? this.opts.weightDecay : 0;
        if (fused && g0.dtype === 'float32' && tf.util.arraysEqual(g0.shape, s.variable.shape)) {
          const attrs: SgdStepAttrs = { lr, momentum: mu, weightDecay: wd };
          const [x1, m1] = tf.engine().runKernel(SGD_STEP, { x: s.variable, m: s.m, g: g0 }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          s.m.assign(m1!);
          s.variable.assign(x1!);
        } else if (this.opts.name === 'sgd') {
          const g = wd > 0 ? tf.add(g0, tf.mul(s.variable, wd)) : g0;
          const v = tf.add(tf.mul(s.m, mu), g);
          s.m.assign(v);
          s.variable.assign(tf.sub(s.variable, tf.mul(tf.add(g, tf.mul(v, mu)), lr)));
        } else {
          const m = tf.add(tf.mul(s.m, mu), tf.mul(g0, 1 - mu));
          const v = tf.add(tf.mul(s.s!, b2), tf.mul(tf.square(g0), 1 - b2));
          s.m.assign(m);
          s.s!.assign(v);
          const mHat = tf.div(m, 1 - mu ** this.step);
          const vHat = tf.div(v, 1 - b2 ** this.step);
          let upd = tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
          if (wd > 0) upd = tf.add(upd, tf.mul(s.variable, wd));
          s.variable.assign(tf.sub(s.variable, tf.mul(upd, lr)));
        }
      }
    });
  }

  /** Optimiser state for checkpoints: name → tensor (the variables themselves; do not dispose). */
  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const s of this.slots) {
      out[`${s.name}#m`] = s.m;
      if (s.s) out[`${s.name}#s`] = s.s;
    }
    return out;
  }

  loadState(state: Record<string, tf.Tensor>, step: number): void {
    for (const s of this.slots) {
      const m = state[`${s.name}#m`];
      if (!m) throw new Error(`optimizer state has no '${s.name}#m'`);
      s.m.assign(m);
      if (s.s) {
        const v = state[`${s.name}#s`];
        if (!v) throw new Error(`optimizer state has no '${s.name}#s'`);
        s.s.assign(v);
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.s?.dispose();
    }
  }
}

/** Scales gradients so that their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number): number {
  const norm = tf.tidy(() => Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
  if (norm > maxNorm && Number.isFinite(norm)) {
    const k = maxNorm / (norm + 1e-6);
    for (const key of Object.keys(grads)) {
      const g = grads[key]!;
      grads[key] = tf.mul(g, k);
      g.dispose();
    }
  }
  return norm;
}
