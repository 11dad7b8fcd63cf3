/**
 * Self-describing model weights: a directory in TF.js weights format
 * (model.json + weights.bin) whose metadata carries the model config, so a
 * checkpoint rebuilds its own architecture. Written atomically.
 */

import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadTensors, saveTensors } from '../io/file-handler.js';
import { parseModelConfig, serializeModelConfig } from './config.js';
import { Detector } from './detector.js';

export const MODEL_KIND = 'yolor-ts-model';

/** Saves the model's parameters and buffers plus its config (and any extra JSON metadata). */
export async function saveModel(dir: string, model: Detector, extra: Record<string, unknown> = {}): Promise<void> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of model.stateDict()) tensors[name] = t;
  await saveTensors(dir, tensors, { ...extra, kind: MODEL_KIND, config: serializeModelConfig(model.config) });
}

/** Copies a checkpoint's weights into an existing model; errors name the first mismatched tensor. */
export async function loadWeightsInto(model: Detector, dir: string): Promise<Record<string, unknown>> {
  const { tensors, metadata } = await loadTensors(dir);
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    throw new Error(`${join(dir, 'model.json')}: ${(err as Error).message}`);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return metadata;
}

/** Rebuilds the model described by a checkpoint and loads its weights. */
export async function loadModel(dir: string): Promise<{ model: Detector; metadata: Record<string, unknown> }> {
  const { tensors, metadata } = await loadTensors(dir);
  const where = join(dir, 'model.json');
  try {
    if (metadata.kind !== MODEL_KIND || metadata.config === undefined) {
      throw new Error(`${where}: not a yolor-ts model checkpoint (no model config in its metadata)`);
    }
    const model = new Detector(parseModelConfig(metadata.config, `${where} (config)`));
    try {
      model.loadStateDict(tensors);
    } catch (err) {
      model.dispose();
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    return { model, metadata };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
