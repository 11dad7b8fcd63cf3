/**
 * The other tasks' predictions of a multi-task model on one image, in the
 * original image's frame: the image is letterboxed, the network runs once, and
 * every task with a `predict` in its spec (tasks/registry.ts) turns its output
 * into what `yolor predict` writes — classify: the labels present; segment: the
 * class map (and a PNG of it); embed: an embedding per detection; count: the
 * objects per class.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalTransform } from '../data/augment/pipeline.js';
import type { RgbImage } from '../data/types.js';
import type { Detector } from '../models/detector.js';
import type { Detection } from '../tasks/detect/nms.js';
import { type TaskName, taskSpecs } from '../tasks/registry.js';
import type { TaskPrediction } from '../tasks/types.js';

export interface TaskPredictOptions {
  imgsz: number;
  /** Names of the classify head's outputs (classes then attributes); `label N` where absent. */
  labelNames?: readonly string[];
  /** Probability threshold of a present label (default 0.5). */
  labelThreshold?: number;
  /** Detections (original-image boxes) to embed. */
  detections?: readonly Detection[];
  /** File stem of the image, for files written beside the prediction (default 'image'). */
  stem?: string;
}

/** Each predicting task's part of one image's prediction (tasks without `predict`, detection among them, are absent). */
export type TaskPredictions = Partial<Record<TaskName, TaskPrediction>>;

/** Whether any task of `model` adds to `yolor predict`'s output. */
export function hasTaskPredictions(model: Detector): boolean {
  return taskSpecs(model.config.tasks).some((s) => s.predict);
}

export function predictTasks(model: Detector, image: RgbImage, opts: TaskPredictOptions): TaskPredictions {
  const specs = taskSpecs(model.config.tasks).filter((s) => s.predict);
  const out: TaskPredictions = {};
  if (specs.length === 0) return out;
  const lb = evalTransform({ image, boxes: new Float32Array(0), cls: new Int32Array(0), file: '' }, opts.imgsz);
  const o = lb.original!;
  const { width: W, height: H, data } = lb.image;
  const x = tf.tidy(() => tf.div(tf.tensor4d(Float32Array.from(data), [1, H, W, 3]), 255) as tf.Tensor4D);
  const wasTraining = model.training;
  model.eval();
  const names = model.config.names ?? Array.from({ length: model.config.nc }, (_, i) => `class${i}`);
  try {
    tf.tidy(() => {
      const outputs = model.forwardTasks(x) as Record<string, unknown>;
      for (const spec of specs) {
        out[spec.name as TaskName] = spec.predict!({
          net: model,
          out: outputs[spec.name],
          input: [H, W],
          letterbox: o,
          image,
          names,
          labelNames: opts.labelNames ?? [],
          detections: opts.detections ?? [],
          stem: opts.stem ?? 'image',
          ...(opts.labelThreshold !== undefined ? { labelThreshold: opts.labelThreshold } : {}),
        });
      }
    });
  } finally {
    x.dispose();
    model.train(wasTraining);
  }
  return out;
}
