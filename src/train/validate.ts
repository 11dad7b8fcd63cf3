/**
 * Validation of a detector on a dataset split: letterboxed batches → raw maps →
 * decode → NMS → boxes mapped back to the original images → the shared COCO
 * evaluator (mAP50-95, mAP50) and the PR / confusion metrics (precision and
 * recall at the best-F1 confidence). Also the validation loss, with the same
 * loss as training.
 */
import * as tf from '@tensorflow/tfjs-core';
import { unletterboxBoxes } from '../data/letterbox.js';
import { type Batch, DataLoader } from '../data/loader.js';
import type { ImageRecord } from '../data/types.js';
import { type CocoDet, type CocoGt, evaluateCoco } from '../eval/coco.js';
import { type DetectionMetrics, detectionMetrics, imagesFromCoco } from '../eval/detection-metrics.js';
import type { DetectionRunner } from '../infer/runner.js';
import type { Detector } from '../models/detector.js';
import { buildTargets, gridsOfMaps } from '../tasks/detect/assign.js';
import { decodePredictions } from '../tasks/detect/decode.js';
import { detectionLoss } from '../tasks/detect/loss.js';
import { type Detection, postprocessBatch } from '../tasks/detect/nms.js';
import type { TaskEvaluation } from '../tasks/types.js';
import { ProgressBar } from '../util/progress.js';

export interface ValidateOptions {
  imgsz: number;
  batchSize: number;
  conf?: number;
  iou?: number;
  maxDet?: number;
  workers?: number;
  progress?: boolean;
  /** Keep predictions of the first batch (for the predictions-vs-labels plot). */
  keepFirstBatch?: boolean;
}

export interface ValidationResult {
  mAP50: number;
  mAP50_95: number;
  precision: number;
  recall: number;
  stats: number[];
  perClass: Record<string, { ap50_95: number; ap50: number; precision: number; recall: number; instances: number }>;
  /** Validation loss (NaN for exported models, which have no raw maps). */
  loss: { box: number; obj: number; cls: number };
  metrics: DetectionMetrics;
  speedMs: { preprocess: number; inference: number; postprocess: number };
  firstBatch?: { batch: Batch; detections: Detection[][] };
  gt: CocoGt;
  detections: CocoDet[];
}

/** COCO ground truth of a split (original-image pixels). */
export function cocoGtFromRecords(records: readonly ImageRecord[], names: readonly string[]): CocoGt {
  let annId = 1;
  return {
    images: records.map((r) => ({ id: r.id, width: r.width, height: r.height, file_name: r.file })),
    categories: names.map((name, i) => ({ id: i, name })),
    annotations: records.flatMap((r) =>
      r.annotations.map((a) => {
        const [x1, y1, x2, y2] = a.box;
        return {
          id: annId++,
          image_id: r.id,
          category_id: a.cls,
          bbox: [x1, y1, x2 - x1, y2 - y1],
          area: (x2 - x1) * (y2 - y1),
          iscrowd: a.iscrowd ? 1 : 0,
        };
      }),
    ),
  };
}

export async function validateDetector(
  model: Detector,
  records: ImageRecord[],
  names: readonly string[],
  opts: ValidateOptions,
): Promise<ValidationResult> {
  return validate({ model }, records, names, opts);
}

/** Validation of any runner (an exported ONNX or TF.js model, say); the loss is NaN without a tfjs model. */
export async function validateRunner(
  runner: DetectionRunner,
  records: ImageRecord[],
  names: readonly string[],
  opts: ValidateOptions,
): Promise<ValidationResult> {
  if (runner.detector) return validate({ model: runner.detector }, records, names, opts);
  if (!runner.anySize && opts.imgsz !== runner.imgsz) {
    throw new Error(`${runner.engine}: this model was exported for ${runner.imgsz} px inputs; validate with --imgsz ${runner.imgsz}`);
  }
  return validate({ runner }, records, names, opts);
}

async function validate(
  what: { model: Detector; runner?: undefined } | { runner: DetectionRunner; model?: undefined },
  records: ImageRecord[],
  names: readonly string[],
  opts: ValidateOptions,
): Promise<ValidationResult> {
  const model = what.model;
  const nc = model ? model.config.nc : what.runner!.nc;
  const loader = new DataLoader({ records, imgsz: opts.imgsz, batchSize: opts.batchSize, train: false, shuffle: false, workers: opts.workers ?? 0 });
  const bar = opts.progress ? new ProgressBar({ total: records.length, label: 'val', unit: 'img' }) : null;
  const detections: CocoDet[] = [];
  const speed = { preprocess: 0, inference: 0, postprocess: 0 };
  const loss = { box: 0, obj: 0, cls: 0 };
  let batches = 0;
  let firstBatch: ValidationResult['firstBatch'];
  const wasTraining = model?.training ?? false;
  model?.eval();
  try {
    let t0 = performance.now();
    for await (const batch of loader.epoch(0)) {
      const t1 = performance.now();
      speed.preprocess += t1 - t0;
      let items = { box: Number.NaN, obj: Number.NaN, cls: Number.NaN };
      let rows: Float32Array;
      if (model) {
        const decoded = tf.tidy(() => {
          const x = tf.tensor4d(batch.images, batch.shape);
          const maps = model.forward(x);
          const assignment = buildTargets(batch.targets, {
            anchors: model.config.anchors,
            strides: model.strides,
            grids: gridsOfMaps(maps),
            batchSize: batch.shape[0],
            nc,
          });
          items = detectionLoss(maps, assignment, model.config.anchors, model.strides, nc).items;
          return decodePredictions(maps, model.config.anchors, model.strides, { rule: 'scaled' });
        });
        rows = decoded.dataSync() as Float32Array;
        decoded.dispose();
      } else if (what.runner!.evaluate) {
        const r = await what.runner!.evaluate(batch.images, batch.shape, batch.targets);
        rows = r.rows;
        items = r.items;
      } else {
        rows = await what.runner!.decode(batch.images, batch.shape);
      }
      loss.box += items.box;
      loss.obj += items.obj;
      loss.cls += items.cls;
      batches++;
      const t2 = performance.now();
      speed.inference += t2 - t1;
      const dets = postprocessBatch(rows, batch.shape[0], nc, {
        confThres: opts.conf ?? 0.001,
        iouThres: opts.iou ?? 0.6,
        maxDet: opts.maxDet ?? 300,
      });
      dets.forEach((list, i) => {
        const rec = records[batch.indices[i]!]!;
        const o = batch.originals[i]!;
        for (const d of list) {
          const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = unletterboxBoxes(d.box, o, rec.width, rec.height);
          detections.push({ image_id: rec.id, category_id: d.cls, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score });
        }
      });
      if (opts.keepFirstBatch && !firstBatch) firstBatch = { batch, detections: dets };
      speed.postprocess += performance.now() - t2;
      bar?.tick(batch.shape[0]);
      t0 = performance.now();
    }
  } finally {
    bar?.finish();
    await loader.close();
    model?.train(wasTraining);
  }
  const gt = cocoGtFromRecords(records, names);
  const coco = evaluateCoco(gt, detections);
  const { images } = imagesFromCoco(gt, detections);
  const metrics = detectionMetrics(images, nc);
  const perClass: ValidationResult['perClass'] = {};
  names.forEach((name, i) => {
    const c = coco.perCategory[name];
    const m = metrics.classes[i];
    perClass[name] = { ap50_95: c?.ap ?? -1, ap50: c?.ap50 ?? -1, precision: m?.precision ?? 0, recall: m?.recall ?? 0, instances: m?.nGt ?? 0 };
  });
  const n = records.length;
  const result: ValidationResult = {
    mAP50: Math.max(0, coco.stats[1]!),
    mAP50_95: Math.max(0, coco.stats[0]!),
    precision: metrics.precision,
    recall: metrics.recall,
    stats: coco.stats,
    perClass,
    metrics,
    gt,
    detections,
    loss: { box: loss.box / Math.max(batches, 1), obj: loss.obj / Math.max(batches, 1), cls: loss.cls / Math.max(batches, 1) },
    speedMs: { preprocess: speed.preprocess / n, inference: speed.inference / n, postprocess: speed.postprocess / n },
  };
  if (firstBatch) result.firstBatch = firstBatch;
  return result;
}

/** A detection validation as the task table reports tasks: results.csv columns, the `val --json` fields and a line. */
export function detectionEvaluation(r: ValidationResult): TaskEvaluation {
  return {
    columns: {
      'metrics/precision(B)': r.precision,
      'metrics/recall(B)': r.recall,
      'metrics/mAP50(B)': r.mAP50,
      'metrics/mAP50-95(B)': r.mAP50_95,
      'val/box_loss': r.loss.box,
      'val/obj_loss': r.loss.obj,
      'val/cls_loss': r.loss.cls,
    },
    report: {
      mAP50: r.mAP50,
      mAP50_95: r.mAP50_95,
      precision: r.precision,
      recall: r.recall,
      stats: r.stats,
      per_class: r.perClass,
      speed_ms: r.speedMs,
    },
    text: `precision ${r.precision.toFixed(3)}  recall ${r.recall.toFixed(3)}  mAP50 ${r.mAP50.toFixed(3)}  mAP50-95 ${r.mAP50_95.toFixed(3)}`,
  };
}
