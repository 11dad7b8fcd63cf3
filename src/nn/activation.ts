/** Activation functions by name, as used in model configs. */
import * as tf from '@tensorflow/tfjs-core';
import { silu } from '../engine/fused-ops.js';

export type ActivationName = 'silu' | 'leaky' | 'mish' | 'relu' | 'sigmoid' | 'linear';
export const ACTIVATIONS: readonly ActivationName[] = ['silu', 'leaky', 'mish', 'relu', 'sigmoid', 'linear'];

export function activate(x: tf.Tensor, act: ActivationName): tf.Tensor {
  switch (act) {
    case 'silu':
      return silu(x);
    case 'leaky':
      return tf.leakyRelu(x, 0.1);
    case 'mish':
      return tf.mul(x, tf.tanh(tf.softplus(x)));
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'linear':
      return x;
  }
}

export function parseActivation(name: string, where: string): ActivationName {
  if (!(ACTIVATIONS as readonly string[]).includes(name)) {
    throw new Error(`${where}: unknown activation '${name}' (expected one of ${ACTIVATIONS.join(', ')})`);
  }
  return name as ActivationName;
}
