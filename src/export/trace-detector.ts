/**
 * The graph every exporter starts from: the detector (folded by default) plus
 * the box decoder, traced at a fixed input size. Input `images`: [B, H, W, 3]
 * float32 RGB in [0, 1], letterboxed to H × W (NHWC, the tfjs layout; exporters
 * may change the layout). Output: decoded rows [B, N, 5 + nc] =
 * [cx, cy, w, h (input pixels), objectness, class scores…] (see decode.ts);
 * with `raw`, the head maps instead (one [B, ny, nx, na·(5+nc)] per level).
 *
 * A multi-task model's other heads become further outputs after
 * `detections` (see `exportOutputNames`): `labels` [B, L], the classify
 * head's label probabilities (sigmoid; classes then attributes), and
 * `segment` [B, H, W, nc + 1], the segment head's per-pixel class logits at
 * the input size (channel 0 background; argmax gives `yolor predict`'s class
 * map). The embed head is not exported. A detection-only model traces
 * exactly as before. A model without the detect head is refused.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Detector } from '../models/detector.js';
import type { FuseReport } from '../nn/fuse.js';
import type { ClassifyHead } from '../tasks/classify/head.js';
import { decodePredictions } from '../tasks/detect/decode.js';
import type { SegmentHead } from '../tasks/segment/head.js';
import { type TraceGraph, traceGraph } from './trace.js';

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
  /** Names of the classify head's labels (classes then attributes); default `names`, then label<i>. */
  labelNames?: string[];
  /** Also output the classify and segment heads (default true; they exist only in multi-task models). */
  tasks?: boolean;
  /** The exporter will relax the batch axis (checked here: the segment output cannot be). */
  dynamicBatch?: boolean;
}

/** What a multi-task export's extra outputs hold (absent for a detection-only export). */
export interface TaskOutputsMeta {
  /** `labels` [B, L]: sigmoid probability of each label; `names` has L entries (classes, then attributes). */
  labels?: { names: string[] };
  /** `segment` [B, H, W, K]: per-pixel class logits at the input size; `names` has K entries, 'background' first. */
  segment?: { names: string[] };
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
  /** Multi-task exports only: the extra outputs after `detections`. */
  tasks?: TaskOutputsMeta;
}

/** Output names of an export in order: `detections` (raw: map0, map1, …), then `labels` and `segment` when present. */
export function exportOutputNames(meta: Pick<DetectorExportMeta, 'output' | 'strides' | 'tasks'>): string[] {
  if (meta.output === 'raw') return meta.strides.map((_, i) => `map${i}`);
  return ['detections', ...(meta.tasks?.labels ? ['labels'] : []), ...(meta.tasks?.segment ? ['segment'] : [])];
}

/** Which extra heads to trace, and what their outputs are called. */
function taskOutputs(model: Detector, opts: TraceDetectorOptions, names: string[]): TaskOutputsMeta | undefined {
  if (opts.raw || opts.tasks === false) return undefined;
  const meta: TaskOutputsMeta = {};
  if (model.heads.classify) {
    const n = model.config.numLabels;
    const given = opts.labelNames ?? names;
    meta.labels = { names: Array.from({ length: n }, (_, i) => given[i] ?? `label${i}`) };
  }
  if (model.heads.segment) {
    if (opts.dynamicBatch) {
      throw new Error(
        `export: ${model.config.name}'s segment head cannot be exported with a dynamic batch (its upsampling multiplies ` +
          'the batch into a matrix product); export with a fixed batch, or without the task outputs (--no-tasks)',
      );
    }
    meta.segment = { names: ['background', ...names] };
  }
  return meta.labels || meta.segment ? meta : undefined;
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
  if (!model.head) {
    throw new Error(
      `export: ${model.config.name} has no detect head (tasks: ${model.tasks.join(', ')}); exports are detection graphs ` +
        "(a multi-task model's classify and segment heads become extra outputs), so train with detect among --tasks",
    );
  }
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
  const c = model.config;
  const names = (opts.names ?? c.names ?? Array.from({ length: c.nc }, (_, i) => `class${i}`)).slice();
  const tasks = taskOutputs(deploy, opts, names);
  const x = tf.zeros([batch, imgsz, imgsz, 3]);
  try {
    const graph = traceGraph(
      (input) => {
        if (tasks) return traceTasks(deploy, input as tf.Tensor4D, tasks);
        const maps = deploy.forward(input as tf.Tensor4D);
        if (opts.raw) return maps;
        const rows = decodePredictions(maps, deploy.config.anchors, deploy.strides, { rule: 'scaled' });
        tf.dispose(maps);
        return rows;
      },
      [x],
      ['images'],
    );
    const meta: DetectorExportMeta = {
      format: 'yolor-ts',
      model: c.name,
      names,
      nc: c.nc,
      imgsz,
      strides: deploy.strides.slice(),
      anchors: c.anchors.map((l) => l.map((a) => [a[0], a[1]])),
      letterbox: { color: 114, center: true, scaleup: true },
      output: opts.raw ? 'raw' : 'xywh-obj-cls',
      fused: deploy.deployed,
      ...(tasks ? { tasks } : {}),
    };
    return { graph, meta, fuseReport };
  } finally {
    x.dispose();
    if (deploy !== model) deploy.dispose();
    else if (wasTraining) deploy.train();
  }
}

/**
 * One pass through the shared backbone and neck into the detect head (decoded
 * rows) and the heads named in `tasks`: [detections, labels?, segment?]. The
 * embed head is left out (forwardTasks would run it for nothing).
 */
function traceTasks(model: Detector, x: tf.Tensor4D, tasks: TaskOutputsMeta): tf.Tensor[] {
  const features = model.neck.forward(model.backbone.forward(x));
  const maps = model.head!.forward(features);
  const out: tf.Tensor[] = [decodePredictions(maps, model.config.anchors, model.strides, { rule: 'scaled' })];
  tf.dispose(maps);
  if (tasks.labels) {
    const logits = (model.heads.classify as ClassifyHead).forward(features);
    out.push(tf.sigmoid(logits));
    logits.dispose();
  }
  if (tasks.segment) out.push((model.heads.segment as SegmentHead).forward(features, [x.shape[1], x.shape[2]]));
  tf.dispose(features);
  return out;
}
