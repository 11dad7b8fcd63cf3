/** Shared by the ONNX export tests: small zoo models, perturbation, real images, the tfjs reference and error measures. */
import * as tf from '@tensorflow/tfjs-core';
import { generateShapeImage, resolveShapesOptions, shapeTemplates } from '../../src/data/datasets/shapes.js';
import { type ModelConfig, parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { decodePredictions } from '../../src/tasks/detect/decode.js';

export const NAMES = ['circle', 'square', 'triangle'];

/** A zoo model with 3 classes. */
export function smallConfig(name: string): ModelConfig {
  return parseModelConfig({ ...serializeModelConfig(resolveModelConfig(name)), nc: NAMES.length, names: NAMES }, `test ${name}`);
}

export { perturb } from '../helpers/perturb.js';

import { perturb } from '../helpers/perturb.js';

/** A perturbed detector in eval mode. */
export function testModel(cfg: ModelConfig, seed = 3): Detector {
  const m = new Detector(cfg, seed);
  perturb(m, seed + 8);
  m.eval();
  return m;
}

/** `n` images of the built-in shapes generator at `size` px, NHWC float RGB in [0, 1]. */
export function shapesImages(n: number, size: number, first = 0): Float32Array {
  const o = resolveShapesOptions({ size, minSize: 6, maxSize: Math.floor(size / 2), seed: 5 });
  const templates = shapeTemplates(o);
  const out = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) {
    const img = generateShapeImage(o, templates, 'test', first + i).image.data;
    for (let k = 0; k < img.length; k++) out[i * img.length + k] = img[k]! / 255;
  }
  return out;
}

/** The tfjs path: decodePredictions(model.forward(x)). */
export function tfjsRows(model: Detector, x: Float32Array, batch: number, size: number): Float32Array {
  const t = tf.tidy(() =>
    decodePredictions(model.forward(tf.tensor4d(x, [batch, size, size, 3])), model.config.anchors, model.strides, { rule: 'scaled' }),
  );
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/**
 * Differences of decoded rows (5+nc per row): boxes (columns 0–3, pixels) as
 * max |a − b| / max |b| over the box columns; scores (columns 4…, in [0, 1])
 * as max |a − b|, i.e. relative to their range 1.
 */
export function rowDiff(a: Float32Array, b: Float32Array, no: number): { box: number; score: number } {
  if (a.length !== b.length) throw new Error(`output sizes differ: ${a.length} vs ${b.length}`);
  let db = 0,
    sb = 0,
    ds = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (i % no < 4) {
      db = Math.max(db, d);
      sb = Math.max(sb, Math.abs(b[i]!));
    } else {
      ds = Math.max(ds, d);
    }
  }
  return { box: db / Math.max(sb, 1e-12), score: ds };
}
