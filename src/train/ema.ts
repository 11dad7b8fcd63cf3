/**
 * Exponential moving average of the model's parameters and buffers, used for
 * validation and saving (YOLOv5's ModelEMA): decay d = 0.9999·(1 − e^(−updates/2000)),
 * so early updates follow the model closely and later ones average over ~10⁴ steps.
 */

import * as tf from '@tensorflow/tfjs-core';
import { EMA_STEP } from '../engine/kernels/optimizer-steps.js';
import type { Module } from '../nn/module.js';

export class ModelEma {
  readonly shadow = new Map<string, tf.Variable>();
  updates = 0;

  constructor(
    private readonly model: Module,
    readonly maxDecay = 0.9999,
    readonly tau = 2000,
  ) {
    for (const p of model.parameters()) this.shadow.set(p.name, tf.variable(tf.clone(p.variable), false));
  }

  decay(): number {
    return this.maxDecay * (1 - Math.exp(-this.updates / this.tau));
  }

  update(): void {
    this.updates++;
    const d = this.decay();
    // One fused kernel per variable where the backend has it (engine/kernels/optimizer-steps.ts; bit-identical).
    const fused = tf.getKernel(EMA_STEP, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      for (const p of this.model.parameters()) {
        const s = this.shadow.get(p.name)!;
        if (fused && p.variable.dtype === 'float32')
          s.assign(tf.engine().runKernel(EMA_STEP, { shadow: s, x: p.variable }, { decay: d } as unknown as tf.NamedAttrMap) as tf.Tensor);
        else s.assign(tf.add(tf.mul(s, d), tf.mul(p.variable, 1 - d)));
      }
    });
  }

  /** The averaged values by parameter name (the variables themselves; do not dispose). */
  state(): Map<string, tf.Tensor> {
    return new Map(this.shadow);
  }

  loadState(state: Map<string, tf.Tensor> | Record<string, tf.Tensor>, updates: number): void {
    const get = (k: string) => (state instanceof Map ? state.get(k) : state[k]);
    for (const [name, s] of this.shadow) {
      const t = get(name);
      if (!t) throw new Error(`EMA state has no '${name}'`);
      s.assign(t);
    }
    this.updates = updates;
  }

  /** Copies the averaged weights into `target` (a model of the same architecture). */
  copyTo(target: Module): void {
    target.loadStateDict(this.shadow);
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
