/**
 * Learned multi-task loss weighting by homoscedastic uncertainty (Kendall, Gal
 * and Cipolla, 2018): one log-variance s_T = log σ_T² per task, and
 *   L = Σ_T ( ½·exp(−s_T)·L_T + ½·s_T ),
 * so a task whose loss stays large is down-weighted, and the ½·s_T term keeps
 * σ_T from growing without bound. s_T starts at 0 (weight ½·1 for every task,
 * relative weights 1). Training only: dropped at deployment.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FuseReport } from '../nn/fuse.js';
import { Module } from '../nn/module.js';

export class TaskBalance extends Module {
  private readonly logVars = new Map<string, tf.Variable>();

  constructor(readonly tasks: readonly string[]) {
    super();
    for (const t of tasks) this.logVars.set(t, this.addParam(`log_var_${t}`, tf.zeros([]), 'bias'));
  }

  override get typeName(): string {
    return 'TaskBalance';
  }

  /**
   * ½·exp(−s_T)·L_T + ½·s_T for one task's loss. A data-parallel shard passes its
   * part of the whole batch's L_T and its `share` of the batch (images / batch), so
   * that the shards' terms add up to the whole batch's.
   */
  weigh(task: string, loss: tf.Scalar, share = 1): tf.Scalar {
    const s = this.logVars.get(task);
    if (!s) throw new Error(`TaskBalance: no weight for task '${task}' (tasks: ${this.tasks.join(', ')})`);
    return tf.mul(0.5, tf.add(tf.mul(tf.exp(tf.neg(s)), loss), share === 1 ? s : tf.mul(s, share))) as tf.Scalar;
  }

  /** The current effective weight ½·exp(−s_T) of each task (for logs). */
  weights(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [t, s] of this.logVars) out[t] = 0.5 * Math.exp(-(s.dataSync()[0] ?? 0));
    return out;
  }

  override fuseInPlace(report: FuseReport): void {
    report.folded.push(`${this.path} → dropped (loss weighting, used in training only)`);
  }
}
