/**
 * One interface for running a detector, whatever executes it: the tfjs model
 * (a checkpoint), an exported ONNX file under onnxruntime-node, or an exported
 * TF.js graph model. `yolor predict` and `yolor val` take any of them, so the
 * same letterboxing, NMS and COCO evaluation score every engine alike.
 *
 * A runner maps letterboxed images (NHWC float32 RGB in [0, 1]) to decoded rows
 * [B, N, 5 + nc] = [cx, cy, w, h (input pixels), objectness, class scores…].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Detector } from '../models/detector.js';
import { fitImageSize } from '../models/image-size.js';
import { decodePredictions } from '../tasks/detect/decode.js';

export interface DetectionRunner {
  /** What executes the model, for logs (e.g. `tfjs (wasm)`, `onnxruntime-node`). */
  readonly engine: string;
  readonly nc: number;
  readonly names: string[];
  /** The input size the model was made for (exports: the only size they accept). */
  readonly imgsz: number;
  /** Whether other input sizes (multiples of the stride) are accepted. */
  readonly anySize: boolean;
  /** The tfjs model, when the runner is one (validation adds the loss then). */
  readonly detector?: Detector;
  decode(images: Float32Array, shape: [number, number, number, number]): Promise<Float32Array>;
  /** Decoded rows plus the loss items of a batch with targets (runners that can compute the loss). */
  evaluate?(
    images: Float32Array,
    shape: [number, number, number, number],
    targets?: Float32Array,
  ): Promise<{ rows: Float32Array; items: { box: number; obj: number; cls: number; total: number } }>;
  dispose(): Promise<void>;
}

/** The tfjs model as a runner (the model is not disposed by the runner unless `owns`). */
export function tfjsRunner(model: Detector, names?: string[], owns = false): DetectionRunner {
  return {
    engine: `tfjs (${tf.getBackend()})`,
    nc: model.config.nc,
    names: names ?? model.config.names ?? Array.from({ length: model.config.nc }, (_, i) => `class${i}`),
    imgsz: model.config.dims.imgsz,
    anySize: true,
    detector: model,
    async decode(images, shape) {
      const wasTraining = model.training;
      model.eval();
      try {
        const rows = tf.tidy(() =>
          decodePredictions(model.forward(tf.tensor4d(images, shape)), model.config.anchors, model.strides, { rule: 'scaled' }),
        );
        const out = rows.dataSync() as Float32Array;
        rows.dispose();
        return out;
      } finally {
        model.train(wasTraining);
      }
    },
    async dispose() {
      if (owns) model.dispose();
    },
  };
}

/**
 * The image size to run `runner` at: `requested` (rounded up to a multiple of
 * the model's largest stride, with a warning) or the runner's own. Exports
 * accept only their own size and refuse another when run.
 */
export function runnerImageSize(runner: DetectionRunner, requested: number | undefined, warn: (line: string) => void): number {
  if (requested === undefined) return runner.imgsz;
  if (!runner.detector) return requested;
  const fitted = fitImageSize(requested, runner.detector.maxStride, runner.detector.config.name);
  if (fitted.warning) warn(`warning: ${fitted.warning}`);
  return fitted.imgsz;
}
