/**
 * Self-describing model weights: a directory in TF.js weights format
 * (model.json + weights.bin) whose metadata carries the model config, so a
 * checkpoint rebuilds its own architecture. Written atomically.
 */

import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadTensors, saveTensors } from '../io/file-handler.js';
import type { Module } from '../nn/module.js';
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

/** What loading a checkpoint by name and shape did. */
export interface MatchedLoad {
  /** Tensors copied in. */
  loaded: string[];
  /** Checkpoint tensors not used: not in the model, or of another shape (with why). */
  skipped: Array<{ name: string; reason: string }>;
  /** Model tensors the checkpoint did not provide: they keep their fresh initialisation. */
  initialised: string[];
  metadata: Record<string, unknown>;
}

/**
 * Copies every checkpoint tensor whose name and shape match one of the model's
 * into it (fine-tuning from any checkpoint: a pretext network's encoder, a detector
 * of another class count); the rest is reported, never silently dropped.
 */
export async function loadMatchingWeights(model: Module, dir: string): Promise<MatchedLoad> {
  const { tensors, metadata } = await loadTensors(dir);
  try {
    const params = new Map(model.parameters().map((p) => [p.name, p.variable]));
    const loaded: string[] = [];
    const skipped: MatchedLoad['skipped'] = [];
    for (const [name, t] of Object.entries(tensors)) {
      const v = params.get(name);
      if (!v) skipped.push({ name, reason: 'not in the model' });
      else if (!tf.util.arraysEqual(v.shape, t.shape)) skipped.push({ name, reason: `shape [${t.shape}], the model's [${v.shape}]` });
      else {
        v.assign(t);
        loaded.push(name);
      }
    }
    const used = new Set(loaded);
    return { loaded, skipped, initialised: [...params.keys()].filter((n) => !used.has(n)), metadata };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** A short account of a MatchedLoad: counts, and the module prefixes loaded, skipped and initialised. */
export function describeMatchedLoad(r: MatchedLoad, source: string): string {
  const prefixes = (names: readonly string[]): string => {
    const count = new Map<string, number>();
    for (const n of names) {
      const k = n.split('.').slice(0, 2).join('.');
      count.set(k, (count.get(k) ?? 0) + 1);
    }
    const list = [...count.entries()].map(([k, c]) => `${k} (${c})`);
    return list.length > 8 ? `${list.slice(0, 8).join(', ')}, … ${list.length - 8} more` : list.join(', ') || 'none';
  };
  const why = r.skipped.filter((s) => s.reason !== 'not in the model');
  return (
    `weights: ${r.loaded.length} tensors loaded from ${source}; ${r.initialised.length} initialised fresh: ${prefixes(r.initialised)}; ` +
    `${r.skipped.length} skipped: ${prefixes(r.skipped.map((s) => s.name))}` +
    (why.length
      ? ` (shape differs: ${why
          .slice(0, 3)
          .map((s) => `${s.name} ${s.reason}`)
          .join('; ')}${why.length > 3 ? ', …' : ''})`
      : '')
  );
}
