/**
 * Loading an exported TF.js graph model in Node and running it.
 *
 * `tf.loadGraphModel('file://<dir>/model.json')` works on its own once
 * `initBackend()` has registered the file:// router (src/io/file-handler.ts);
 * this helper reads the directory through the same handler without needing
 * the router, and wraps the model with its metadata and a `run` that feeds
 * letterboxed NHWC images and returns the decoded rows.
 */

import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { fileSystemHandler } from '../../io/file-handler.js';
import { type DetectorExportMeta, exportOutputNames } from '../trace-detector.js';
import { TFJS_INPUT, TFJS_OUTPUT } from './convert.js';
import { readTfjsMetadata, tfjsModelJsonPath } from './export.js';

export interface TfjsDetector {
  model: GraphModel;
  meta: DetectorExportMeta;
  /** The batch size the model accepts, or null for any (a dynamic-batch export). */
  batch: number | null;
  /**
   * Runs the model on letterboxed RGB images in [0, 1]: a [B, S, S, 3] tensor,
   * or NHWC floats for `batch` images (S = meta.imgsz). Returns the decoded
   * rows [B, N, 5 + nc] (a multi-task export's other outputs are not
   * computed); the caller disposes them (inputs are not disposed).
   */
  run(images: tf.Tensor4D | Float32Array, batch?: number): tf.Tensor3D;
  /** Every output (`detections`, then a multi-task export's `labels` and `segment`) of `batch` NHWC images, by name. */
  runOutputs(images: Float32Array, batch: number): Record<string, { data: Float32Array; dims: number[] }>;
  dispose(): void;
}

export async function loadTfjsDetector(dir: string): Promise<TfjsDetector> {
  const jsonPath = await tfjsModelJsonPath(dir);
  const meta = await readTfjsMetadata(jsonPath);
  const model = await loadGraphModel(fileSystemHandler(jsonPath));
  const dims = (model.modelSignature as { inputs?: Record<string, { tensorShape?: { dim?: { size: string }[] } }> } | undefined)?.inputs?.[TFJS_INPUT]
    ?.tensorShape?.dim;
  const b = dims ? Number(dims[0]!.size) : NaN;
  const batch = Number.isInteger(b) && b > 0 ? b : null;
  const s = meta.imgsz;
  return {
    model,
    meta,
    batch,
    run(images, n = 1) {
      if (meta.output !== 'xywh-obj-cls') throw new Error('this export outputs raw head maps; call model.execute() instead');
      const x = images instanceof Float32Array ? tf.tensor4d(images, [n, s, s, 3]) : images;
      try {
        if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== 3) {
          throw new Error(`expected images [B, ${s}, ${s}, 3]; got [${x.shape}]`);
        }
        if (batch !== null && x.shape[0] !== batch)
          throw new Error(`this export takes a batch of ${batch} (export with dynamicBatch for any); got ${x.shape[0]}`);
        return model.execute(x, TFJS_OUTPUT) as tf.Tensor3D;
      } finally {
        if (x !== images) x.dispose();
      }
    },
    runOutputs(images, n) {
      const names = exportOutputNames(meta);
      const x = tf.tensor4d(images, [n, s, s, 3]);
      try {
        if (batch !== null && n !== batch) throw new Error(`this export takes a batch of ${batch} (export with dynamicBatch for any); got ${n}`);
        const outs = model.execute(x, names);
        const list = Array.isArray(outs) ? outs : [outs];
        const result: Record<string, { data: Float32Array; dims: number[] }> = {};
        list.forEach((t, i) => {
          result[names[i]!] = { data: t.dataSync() as Float32Array, dims: t.shape.slice() };
          t.dispose();
        });
        return result;
      } finally {
        x.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
