/** Small shared test helpers: tensor scopes and collecting a loader's epoch. */
import * as tf from '@tensorflow/tfjs-core';
import { type Batch, DataLoader, type LoaderOptions } from '../../src/data/loader.js';

/** Runs fn in a tensor scope that disposes everything it made; for results that are plain values. */
export function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

/** Every batch of one epoch of a loader made from `opts` (the loader is closed afterwards). */
export async function epochOf(opts: LoaderOptions, epoch = 0): Promise<Batch[]> {
  const loader = new DataLoader(opts);
  const out: Batch[] = [];
  try {
    for await (const b of loader.epoch(epoch)) out.push(b);
  } finally {
    await loader.close();
  }
  return out;
}
