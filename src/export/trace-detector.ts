/**
 * The graph every exporter starts from: the detector (folded by default) plus
 * the box decoder, traced at a fixed input size. Input `images`: [B, H, W, 3]
 * float32 RGB in [0, 1], letterboxed to H × W (NHWC, the tfjs layout; exporters
 * may change the layout). Output: decoded rows [B, N, 5 + nc] =
 * [cx, cy, w, h (input pixels), objectness, class scores…] (see decode.ts);
 * with `raw`, the head maps instead (one [B, ny, nx, na·(5+nc)] per level).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Detector } from '../models/detector.js';
import type { FuseReport } from '../nn/fuse.js';
import { decodePredictions } from '../tasks/detect/decode.js';
import { traceGraph, type TraceGraph } from './trace.js';

export interface TraceDetectorOptions {
  /** Square input size (a multiple of the largest stride); default: the model's. */
  imgsz?: number;
  /** Batch size traced (default 1). */
  batch?: number;
  /** Fold batch norm and implicit knowledge first (default true). */
  fuse?: boolean;
  /** Raw head maps instead of decoded rows (default false). */
  raw?: boolean;
  /** Class names for the metadata (default: the config's, else class0…). */
  names?: string[];
}

/** What a deployed model needs to know about its input and output; exporters store it as metadata. */
export interface DetectorExportMeta {
  format: 'yolor-ts';
  model: string;
  names: string[];
  nc: number;
  imgsz: number;
  strides: number[];
  anchors: number[][][];
  /** Input: RGB scaled to [0, 1], letterboxed (aspect kept, centred, padded with grey 114/255). */
  letterbox: { color: number; center: true; scaleup: boolean };
  /** Output rows: [cx, cy, w, h, obj, cls…] in input pixels, scores after sigmoid. */
  output: 'xywh-obj-cls' | 'raw';
  fused: boolean;
}

export interface TracedDetector {
  graph: TraceGraph;
  meta: DetectorExportMeta;
  /** The folds made (null when not fused). */
  fuseReport: FuseReport | null;
}

export function traceDetector(model: Detector, opts: TraceDetectorOptions = {}): TracedDetector {
  const imgsz = opts.imgsz ?? model.config.dims.imgsz;
  const batch = opts.batch ?? 1;
  model.checkInputSize(imgsz, imgsz);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`export: batch must be a positive integer; got ${batch}`);
  const fuse = opts.fuse ?? true;
  let deploy = model;
  let fuseReport: FuseReport | null = null;
  if (fuse && !model.deployed) {
    const f = model.fuse();
    deploy = f.model;
    fuseReport = f.report;
  }
  const wasTraining = deploy.training;
  deploy.eval();
  const x = tf.zeros([batch, imgsz, imgsz, 3]);
  try {
    const graph = traceGraph((input) => {
      const maps = deploy.forward(input as tf.Tensor4D);
      if (opts.raw) return maps;
      const rows = decodePredictions(maps, deploy.config.anchors, deploy.strides, { rule: 'scaled' });
      tf.dispose(maps);
      return rows;
    }, [x], ['images']);
    const c = model.config;
    const meta: DetectorExportMeta = {
      format: 'yolor-ts', model: c.name, names: (opts.names ?? c.names ?? Array.from({ length: c.nc }, (_, i) => `class${i}`)).slice(), nc: c.nc, imgsz, strides: deploy.strides.slice(),
      anchors: c.anchors.map((l) => l.map((a) => [a[0], a[1]])),
      letterbox: { color: 114, center: true, scaleup: true },
      output: opts.raw ? 'raw' : 'xywh-obj-cls', fused: deploy.deployed,
    };
    return { graph, meta, fuseReport };
  } finally {
    x.dispose();
    if (deploy !== model) deploy.dispose();
    else if (wasTraining) deploy.train();
  }
}
