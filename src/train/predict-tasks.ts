/**
 * The other tasks' predictions of a multi-task model on one image, in the
 * original image's frame: the labels present (sigmoid ≥ threshold, classes then
 * attributes), the semantic class map (argmax, mapped back through the letterbox
 * by nearest neighbour; 0 = background, c + 1 = class c), and an embedding per
 * detection (the vector at its centre cell on its best-fitting level, as the
 * embedding task trains and evaluates them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalTransform } from '../data/augment/pipeline.js';
import type { RgbImage } from '../data/types.js';
import type { Detector } from '../models/detector.js';
import { gridsOfMaps } from '../tasks/detect/assign.js';
import { gatherEmbeddings, gtEmbeddingCells } from '../tasks/embed/loss.js';
import type { Detection } from '../tasks/detect/nms.js';
import { unletterboxClassMap } from '../tasks/segment/class-map.js';

export interface TaskPrediction {
  /** Labels whose probability reaches the threshold, most probable first. */
  labels?: Array<{ index: number; name: string; score: number }>;
  /** Class map of the original image (H × W): 0 background, c + 1 class c. */
  semantic?: Uint8Array;
  /** One L2-normalised embedding per given detection (same order). */
  embeddings?: Float32Array[];
}

export interface TaskPredictOptions {
  imgsz: number;
  /** Names of the classify head's outputs (classes then attributes); `label N` where absent. */
  labelNames?: readonly string[];
  /** Probability threshold of a present label (default 0.5). */
  labelThreshold?: number;
  /** Detections (original-image boxes) to embed. */
  detections?: readonly Detection[];
}

export function predictTasks(model: Detector, image: RgbImage, opts: TaskPredictOptions): TaskPrediction {
  const lb = evalTransform({ image, boxes: new Float32Array(0), cls: new Int32Array(0), file: '' }, opts.imgsz);
  const o = lb.original!;
  const { width: W, height: H, data } = lb.image;
  const x = tf.tidy(() => tf.div(tf.tensor4d(Float32Array.from(data), [1, H, W, 3]), 255) as tf.Tensor4D);
  const wasTraining = model.training;
  model.eval();
  const out: TaskPrediction = {};
  try {
    tf.tidy(() => {
      const t = model.forwardTasks(x);
      if (t.classify) {
        const p = tf.sigmoid(t.classify).dataSync();
        const thr = opts.labelThreshold ?? 0.5;
        out.labels = Array.from(p, (score, index) => ({ index, name: opts.labelNames?.[index] ?? `label ${index}`, score }))
          .filter((l) => l.score >= thr).sort((a, b) => b.score - a.score);
      }
      if (t.segment) out.semantic = unletterboxClassMap(tf.argMax(t.segment, -1).dataSync(), W, H, o, image.width, image.height);
      if (t.embed && opts.detections) {
        const dets = opts.detections;
        const rows = new Float32Array(dets.length * 6);
        dets.forEach((d, i) => {
          const [x1, y1, x2, y2] = d.box.map((v, k) => v * o.scale + (k % 2 === 0 ? o.padX : o.padY)) as [number, number, number, number];
          rows.set([0, d.cls, Math.min(W - 1e-3, Math.max(0, (x1 + x2) / 2)), Math.min(H - 1e-3, Math.max(0, (y1 + y2) / 2)), Math.max(x2 - x1, 1e-3), Math.max(y2 - y1, 1e-3)], i * 6);
        });
        const picks = gtEmbeddingCells(rows, model.config.anchors, model.strides, gridsOfMaps(t.embed), new Int32Array(dets.length).fill(0));
        const raw = gatherEmbeddings(t.embed, picks);
        const e = tf.div(raw, tf.add(tf.norm(raw, 'euclidean', 1, true), 1e-12));
        const flat = e.dataSync();
        const E = model.config.embedDim;
        const byGt = new Array<Float32Array>(dets.length);
        for (let k = 0; k < picks.gt.length; k++) byGt[picks.gt[k]!] = Float32Array.from(flat.subarray(k * E, (k + 1) * E));
        out.embeddings = byGt;
      }
    });
  } finally {
    x.dispose();
    model.train(wasTraining);
  }
  return out;
}
