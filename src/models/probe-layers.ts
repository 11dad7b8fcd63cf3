/**
 * The named feature maps of an encoder (backbone → neck), for layer-wise
 * analysis such as the linear probe (train/probe.ts): each backbone stage
 * (`stage1` … `stage5` for CSP-Darknet, from Backbone.stageFeatures) and the
 * neck (`neck`: all its levels, finest first). One pass computes every layer
 * asked for; the neck reuses the backbone's stage outputs.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { EncoderModel } from './pretext-checkpoint.js';

/** Every layer a probe can read from a CSP-Darknet encoder, shallow to deep. */
export const PROBE_LAYERS: readonly string[] = ['stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'neck'];

/** One named layer: its feature maps (one for a stage, one per level for the neck). */
export interface NamedFeatures {
  name: string;
  maps: tf.Tensor4D[];
}

/** The layers `model` offers, shallow to deep: its backbone's stages (when it names them) and `neck`. */
export function probeLayerNames(model: EncoderModel): string[] {
  const b = model.backbone;
  return [...(b.stageFeatures && b.stageNames ? b.stageNames : []), 'neck'];
}

/**
 * The feature maps of the layers named in `layers` (default: every layer the
 * model offers), in that order. Throws for an unknown layer name or an input
 * whose sides are not multiples of the largest stride. Call inside tf.tidy (or
 * dispose the maps): intermediate tensors are not freed here.
 */
export function encoderLayers(model: EncoderModel, x: tf.Tensor4D, layers: readonly string[] = probeLayerNames(model)): NamedFeatures[] {
  const offered = probeLayerNames(model);
  for (const l of layers) {
    if (!offered.includes(l)) throw new Error(`${model.config.name}: no layer '${l}' to probe (has: ${offered.join(', ')})`);
  }
  const [, h, w] = x.shape;
  const maxStride = Math.max(...model.neck.outStrides, ...model.backbone.outStrides);
  if (h <= 0 || w <= 0 || h % maxStride !== 0 || w % maxStride !== 0)
    throw new Error(`${model.config.name}: input size ${h}x${w} is not a multiple of the largest stride ${maxStride}`);
  const wantStages = layers.some((l) => l !== 'neck');
  if (!wantStages) return [{ name: 'neck', maps: model.features(x) }];
  const stages = model.backbone.stageFeatures!(x);
  const byName = new Map(stages);
  const out: NamedFeatures[] = [];
  for (const l of layers) {
    if (l !== 'neck') {
      out.push({ name: l, maps: [byName.get(l)!] });
      continue;
    }
    const n = model.backbone.outChannels.length;
    const inputs = stages.slice(-n).map(([, t]) => t);
    inputs.forEach((t, i) => {
      if (t.shape[3] !== model.backbone.outChannels[i])
        throw new Error(
          `${model.config.name}: stage '${stages[stages.length - n + i]![0]}' has ${t.shape[3]} channels, the neck expects ${model.backbone.outChannels[i]}`,
        );
    });
    out.push({ name: 'neck', maps: model.neck.forward(inputs) });
  }
  return out;
}
