/**
 * Runs an export once and measures it against the tfjs model it came from:
 * the test image (repeated to the export's batch) through the exported file
 * — onnxruntime-node for ONNX, tfjs-converter's GraphModel for TF.js — and
 * through the model itself; every output is compared (detections, and a
 * multi-task export's labels and segment logits). The verdict is the gate of
 * `yolor export` (check-export.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Detector } from '../models/detector.js';
import { decodePredictions } from '../tasks/detect/decode.js';
import { checkVerdict, compareDecodedRows, compareTaskOutput, type ExportCheck, type TaskOutputDifference, testImage } from './check-export.js';

type Outputs = Record<string, { data: Float32Array; dims: number[] }>;

/** The exported file's outputs for `batch` images, and the engine that ran them. */
async function runExport(
  path: string,
  format: 'onnx' | 'tfjs',
  x: Float32Array,
  batch: number,
): Promise<{ engine: string; outputs: Outputs; names: string[] }> {
  if (format === 'onnx') {
    const { OnnxDetector } = await import('./onnx-runtime.js');
    const det = await OnnxDetector.load(path);
    try {
      return { engine: 'onnxruntime-node', outputs: await det.runOutputs(x, batch), names: det.meta.names };
    } finally {
      await det.dispose();
    }
  }
  const { loadTfjsDetector } = await import('./tfjs/index.js');
  const det = await loadTfjsDetector(path);
  try {
    return { engine: `tfjs graph model (${tf.getBackend()})`, outputs: det.runOutputs(x, batch), names: det.meta.names };
  } finally {
    det.dispose();
  }
}

/** The tfjs model's detections (decoded rows), label probabilities and segment logits, as the export computes them. */
function reference(
  model: Detector,
  x: Float32Array,
  shape: [number, number, number, number],
  want: { labels: boolean; segment: boolean },
): Record<string, Float32Array> {
  const wasTraining = model.training;
  model.eval();
  try {
    return tf.tidy(() => {
      const input = tf.tensor4d(x, shape);
      const out = want.labels || want.segment ? model.forwardTasks(input) : { detect: model.forward(input) };
      const r: Record<string, Float32Array> = {
        detections: decodePredictions(out.detect!, model.config.anchors, model.strides, { rule: 'scaled' }).dataSync() as Float32Array,
      };
      if (want.labels) r.labels = tf.sigmoid(out.classify!).dataSync() as Float32Array;
      if (want.segment) r.segment = out.segment!.dataSync() as Float32Array;
      return r;
    });
  } finally {
    model.train(wasTraining);
  }
}

export async function checkExport(
  model: Detector,
  path: string,
  format: 'onnx' | 'tfjs',
  opts: { imgsz: number; batch: number; tolerance: number },
): Promise<ExportCheck> {
  const one = testImage(opts.imgsz);
  const x = new Float32Array(one.length * opts.batch);
  for (let b = 0; b < opts.batch; b++) x.set(one, b * one.length);
  const run = await runExport(path, format, x, opts.batch);
  const want = { labels: 'labels' in run.outputs, segment: 'segment' in run.outputs };
  const ref = reference(model, x, [opts.batch, opts.imgsz, opts.imgsz, 3], want);
  const detections = run.outputs.detections;
  if (!detections) throw new Error(`export check: ${path} has no 'detections' output`);
  const rows = compareDecodedRows(detections.data, ref.detections!, 5 + model.config.nc, run.names);
  const tasks: TaskOutputDifference[] = [];
  for (const name of ['labels', 'segment'] as const) {
    if (want[name]) tasks.push(compareTaskOutput(name, run.outputs[name]!.data, ref[name]!));
  }
  return checkVerdict(rows, run.engine, opts.tolerance, tasks);
}
