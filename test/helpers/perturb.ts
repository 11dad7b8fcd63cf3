/** Test models whose implicit tensors and batch-norm parameters/statistics are far from their initial values. */
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/util/rng.js';

/** Adds N(0, 0.5) noise to every non-conv parameter and buffer (variances move up only, so they stay positive). */
export function perturb(model: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const p of model.parameters()) {
    if (p.group === 'weight' || p.group === 'bias') continue;
    const noise = tf.tensor(rng.normalArray(p.variable.size, 0.5), p.variable.shape);
    const next = p.name.endsWith('running_var') ? tf.add(p.variable, tf.abs(noise)) : tf.add(p.variable, noise);
    p.variable.assign(next);
    tf.dispose([noise, next]);
  }
}
