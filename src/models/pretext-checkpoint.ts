/**
 * Pretext-network checkpoints: the same self-describing directory as a model
 * checkpoint (model.json + weights.bin, models/checkpoint.ts), of kind
 * `yolor-ts-pretext`, whose metadata also carries the pretext tasks, their
 * states (e.g. the jigsaw permutation set), the options and the image size, so
 * that a checkpoint rebuilds its own network. `loadEncoderModel` opens either
 * kind for what only needs the encoder (the linear probe).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadTensors, saveTensors } from '../io/file-handler.js';
import { pretextOptions } from '../pretext/options.js';
import { pretextSpec } from '../pretext/registry.js';
import type { PretextOptions } from '../pretext/types.js';
import { MODEL_KIND } from './checkpoint.js';
import { type ModelConfig, parseModelConfig, serializeModelConfig } from './config.js';
import { Detector } from './detector.js';
import { PretextNetwork } from './pretext-network.js';
import type { Backbone, Neck } from './types.js';

export const PRETEXT_KIND = 'yolor-ts-pretext';

export interface PretextMeta {
  tasks: string[];
  states: Record<string, unknown>;
  options: PretextOptions;
  imgsz: number;
}

/** Saves the network's parameters and buffers with its config and pretext metadata (plus any extra JSON). */
export async function savePretextModel(dir: string, net: PretextNetwork, extra: Record<string, unknown> = {}): Promise<void> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of net.stateDict()) tensors[name] = t;
  const pretext: PretextMeta = {
    tasks: net.specs.map((s) => s.name),
    states: { ...net.opts.states },
    options: net.opts.options,
    imgsz: net.opts.imgsz,
  };
  await saveTensors(dir, tensors, { ...extra, kind: PRETEXT_KIND, config: serializeModelConfig(net.config), pretext });
}

/** The pretext metadata of a checkpoint's model.json, checked (errors name the file). */
export function readPretextMeta(metadata: Record<string, unknown>, where: string): { config: ModelConfig; pretext: PretextMeta } {
  if (metadata.kind !== PRETEXT_KIND || metadata.config === undefined || typeof metadata.pretext !== 'object' || metadata.pretext === null)
    throw new Error(`${where}: not a yolor-ts pretext checkpoint (kind '${String(metadata.kind)}')`);
  const p = metadata.pretext as Partial<PretextMeta>;
  if (!Array.isArray(p.tasks) || !p.tasks.every((t) => typeof t === 'string')) throw new Error(`${where}: pretext.tasks is not a list of names`);
  if (!Number.isInteger(p.imgsz) || p.imgsz! <= 0) throw new Error(`${where}: pretext.imgsz is not a positive integer`);
  const states: Record<string, unknown> = {};
  for (const t of p.tasks) {
    const spec = pretextSpec(t);
    const raw = p.states?.[t];
    if (spec.checkState) states[t] = spec.checkState(raw, `${where} (pretext.states.${t})`);
  }
  return {
    config: parseModelConfig(metadata.config, `${where} (config)`),
    pretext: { tasks: p.tasks, states, options: pretextOptions(p.options ?? {}), imgsz: p.imgsz! },
  };
}

/** Rebuilds the pretext network a checkpoint describes and loads its weights. */
export async function loadPretextModel(dir: string): Promise<{ model: PretextNetwork; metadata: Record<string, unknown>; pretext: PretextMeta }> {
  const where = join(dir, 'model.json');
  const { tensors, metadata } = await loadTensors(dir);
  try {
    const { config, pretext } = readPretextMeta(metadata, where);
    const model = new PretextNetwork(config, { tasks: pretext.tasks, states: pretext.states, imgsz: pretext.imgsz, options: pretext.options });
    try {
      model.loadStateDict(tensors);
    } catch (err) {
      model.dispose();
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    return { model, metadata, pretext };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** A network with the shared encoder: a detector / multi-task model or a pretext network. */
export interface EncoderModel {
  readonly config: ModelConfig;
  readonly backbone: Backbone;
  readonly neck: Neck;
  train(mode?: boolean): unknown;
  eval(): unknown;
  dispose(): void;
  /** The neck's feature maps, finest first. */
  features(x: tf.Tensor4D): tf.Tensor4D[];
}

/** Opens any yolor-ts checkpoint (model or pretext) as the network it describes; `imgsz` is the size it was trained at, when recorded. */
export async function loadEncoderModel(dir: string): Promise<{ model: EncoderModel; metadata: Record<string, unknown>; imgsz?: number }> {
  const { metadata } = await loadTensors(join(dir));
  if (metadata.kind === PRETEXT_KIND) {
    const r = await loadPretextModel(dir);
    return { model: r.model, metadata: r.metadata, imgsz: r.pretext.imgsz };
  }
  if (metadata.kind !== MODEL_KIND || metadata.config === undefined)
    throw new Error(`${join(dir, 'model.json')}: not a yolor-ts checkpoint (no model config in its metadata)`);
  const { tensors } = await loadTensors(dir);
  try {
    const model = new Detector(parseModelConfig(metadata.config, `${join(dir, 'model.json')} (config)`));
    model.loadStateDict(tensors);
    return { model, metadata, ...(typeof metadata.imgsz === 'number' ? { imgsz: metadata.imgsz } : {}) };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
