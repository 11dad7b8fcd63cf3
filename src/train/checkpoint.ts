/**
 * Training checkpoints (weights/last, weights/best): one directory written
 * atomically (all files or none) holding
 *   model.json + weights.bin  the EMA model with its config — what `val`, `predict`
 *                             and `export` load (nn-level loadModel reads it);
 *   state.json + state.bin    the raw model weights, the optimiser slots, the EMA
 *                             shadow, epoch / batch / step counters, best fitness and
 *                             the results so far — what `--resume` needs to continue
 *                             exactly where the run stopped.
 */

import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { loadTensors, MODEL_JSON, TENSORS_FORMAT, WEIGHTS_BIN } from '../io/file-handler.js';
import { MODEL_KIND } from '../models/checkpoint.js';
import { serializeModelConfig } from '../models/config.js';
import type { Detector } from '../models/detector.js';

export const STATE_JSON = 'state.json';
export const STATE_BIN = 'state.bin';

export interface TrainMeta {
  /** Epoch in progress (0-based) and the next batch of it to run; batch = 0 means the epoch has not started. */
  epoch: number;
  batch: number;
  /** Optimiser steps taken. */
  step: number;
  emaUpdates: number;
  bestFitness: number;
  bestEpoch: number;
  /** Anything else the trainer wants back on resume (args, results rows…). */
  [key: string]: unknown;
}

async function encode(tensors: Record<string, tf.Tensor>, binName: string, metadata: object): Promise<{ json: string; bin: Uint8Array }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const json = JSON.stringify({
    modelTopology: {},
    format: TENSORS_FORMAT,
    generatedBy: 'yolor-ts',
    convertedBy: null,
    weightsManifest: [{ paths: [binName], weights: specs }],
    userDefinedMetadata: metadata,
  });
  return { json, bin: new Uint8Array(data) };
}

export interface CheckpointParts {
  /** The trained network: a detector / multi-task model, or any module with a config (a pretext network). */
  model: Pick<Detector, 'stateDict'> & { readonly config: Detector['config'] };
  /** What model.json says the model is (default: a yolor-ts model with the model's config). */
  describe?: Record<string, unknown>;
  ema: Map<string, tf.Tensor>;
  optimizer: Record<string, tf.Tensor>;
  meta: TrainMeta;
  /** Extra metadata stored with the EMA model (epoch, metrics, names…). */
  modelMeta?: Record<string, unknown>;
}

export async function saveTrainCheckpoint(dir: string, p: CheckpointParts): Promise<void> {
  const emaTensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of p.ema) emaTensors[k] = v;
  const model = await encode(emaTensors, WEIGHTS_BIN, {
    ...p.modelMeta,
    ...(p.describe ?? { kind: MODEL_KIND, config: serializeModelConfig(p.model.config) }),
  });
  const state: Record<string, tf.Tensor> = {};
  for (const [k, v] of p.model.stateDict()) state[`model/${k}`] = v;
  for (const [k, v] of p.ema) state[`ema/${k}`] = v;
  for (const [k, v] of Object.entries(p.optimizer)) state[`opt/${k}`] = v;
  const st = await encode(state, STATE_BIN, p.meta);
  await writeFilesAtomic(dir, { [MODEL_JSON]: model.json, [WEIGHTS_BIN]: model.bin, [STATE_JSON]: st.json, [STATE_BIN]: st.bin });
}

export interface LoadedTrainState {
  model: Map<string, tf.Tensor>;
  ema: Map<string, tf.Tensor>;
  optimizer: Record<string, tf.Tensor>;
  meta: TrainMeta;
  dispose(): void;
}

export async function loadTrainState(dir: string): Promise<LoadedTrainState> {
  const { tensors, metadata } = await loadTensors(join(dir, STATE_JSON));
  const model = new Map<string, tf.Tensor>();
  const ema = new Map<string, tf.Tensor>();
  const optimizer: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model/')) model.set(k.slice(6), t);
    else if (k.startsWith('ema/')) ema.set(k.slice(4), t);
    else if (k.startsWith('opt/')) optimizer[k.slice(4)] = t;
  }
  return { model, ema, optimizer, meta: metadata as unknown as TrainMeta, dispose: () => tf.dispose(Object.values(tensors)) };
}
