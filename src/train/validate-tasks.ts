/**
 * Validation of the non-detection tasks of a multi-task model on a dataset split,
 * in one pass over letterboxed batches (loaded with the tasks' labels):
 *   classify  mAP over labels (average precision per label, labels without positives
 *             excluded) and micro F1 at probability 0.5;
 *   segment   mIoU over background + classes (and pixel accuracy) from a confusion
 *             matrix of argmax predictions at the input size (padding excluded);
 *   embed     retrieval across images: every ground-truth object's embedding (its
 *             centre cell on its best-fitting level) queries the objects of the other
 *             images by cosine similarity; top-1 accuracy and mAP of same-identity hits;
 * plus each task's validation loss (the training loss on unaugmented images).
 * Detection keeps its own validation (validate.ts: COCO mAP).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader } from '../data/loader.js';
import type { ImageRecord } from '../data/types.js';
import { multiLabelAP, multiLabelF1 } from '../eval/multilabel-metrics.js';
import { retrievalMetrics } from '../eval/retrieval-metrics.js';
import { SegmentationConfusion } from '../eval/segmentation-metrics.js';
import type { Detector } from '../models/detector.js';
import { classifyLoss } from '../tasks/classify/loss.js';
import { gridsOfMaps } from '../tasks/detect/assign.js';
import { embedLoss, gatherEmbeddings, gtEmbeddingCells } from '../tasks/embed/loss.js';
import { segmentLoss } from '../tasks/segment/loss.js';
import { ProgressBar } from '../util/progress.js';

export interface TaskValidationOptions {
  imgsz: number;
  batchSize: number;
  workers?: number;
  progress?: boolean;
}

export interface TaskValidationResult {
  classify?: { mAP: number; f1: number; precision: number; recall: number; loss: number; perLabel: number[] };
  segment?: { mIoU: number; pixelAccuracy: number; iou: number[]; loss: number };
  embed?: { top1: number; mAP: number; queries: number; loss: number };
}

/** Metrics of every non-detection task of `model` on `records` (nothing for a detection-only model). */
export async function validateTasks(model: Detector, records: ImageRecord[], opts: TaskValidationOptions): Promise<TaskValidationResult> {
  const cfg = model.config;
  const want = { classify: !!model.classifyHead, segment: !!model.segmentHead, embed: !!model.embedHead };
  if (!want.classify && !want.segment && !want.embed) return {};
  const loader = new DataLoader({
    records, imgsz: opts.imgsz, batchSize: opts.batchSize, train: false, shuffle: false, workers: opts.workers ?? 0,
    extras: true, numClasses: cfg.nc,
  });
  const bar = opts.progress ? new ProgressBar({ total: records.length, label: 'val tasks', unit: 'img' }) : null;
  const scores: number[] = [];
  const targets: number[] = [];
  const confusion = want.segment ? new SegmentationConfusion(cfg.nc + 1) : null;
  const embChunks: Float32Array[] = [];
  const embIds: number[] = [];
  const embGroups: number[] = [];
  const loss = { classify: 0, segment: 0, embed: 0 };
  let batches = 0;
  let seen = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of loader.epoch(0)) {
      const [B, H, W] = batch.shape;
      tf.tidy(() => {
        const out = model.forwardTasks(tf.tensor4d(batch.images, batch.shape));
        if (out.classify) {
          if (!batch.labels) throw new Error('classify validation: the batch has no image-level labels');
          loss.classify += classifyLoss(out.classify, batch.labels).dataSync()[0]!;
          scores.push(...tf.sigmoid(out.classify).dataSync());
          targets.push(...batch.labels);
        }
        if (out.segment) {
          if (!batch.semantic) throw new Error('segment validation: the dataset has no masks');
          loss.segment += segmentLoss(out.segment, batch.semantic).dataSync()[0]!;
          const pred = tf.argMax(out.segment, -1).dataSync();
          // Only the image area: letterbox padding has no labels.
          for (let i = 0; i < B; i++) {
            const o = batch.originals[i];
            const x0 = o ? Math.max(0, Math.floor(o.padX)) : 0;
            const y0 = o ? Math.max(0, Math.floor(o.padY)) : 0;
            const x1 = o ? Math.min(W, Math.ceil(o.padX + o.width * o.scale)) : W;
            const y1 = o ? Math.min(H, Math.ceil(o.padY + o.height * o.scale)) : H;
            for (let y = y0; y < y1; y++) {
              const off = (i * H + y) * W;
              confusion!.add(pred.subarray(off + x0, off + x1), batch.semantic.subarray(off + x0, off + x1));
            }
          }
        }
        if (out.embed) {
          if (!batch.identity) throw new Error('embed validation: the dataset has no identities');
          const grids = gridsOfMaps(out.embed);
          const picks = gtEmbeddingCells(batch.targets, cfg.anchors, model.strides, grids, batch.identity);
          loss.embed += embedLoss(out.embed, picks, model.embedHead!.classifier!).dataSync()[0]!;
          embChunks.push(gatherEmbeddings(out.embed, picks).dataSync() as Float32Array);
          for (let k = 0; k < picks.gt.length; k++) {
            embIds.push(picks.identity[k]!);
            embGroups.push(seen + batch.targets[picks.gt[k]! * 6]!);
          }
        }
      });
      batches++;
      seen += B;
      bar?.tick(B);
    }
  } finally {
    bar?.finish();
    await loader.close();
    model.train(wasTraining);
  }
  const result: TaskValidationResult = {};
  const per = (v: number): number => v / Math.max(batches, 1);
  if (want.classify) {
    const L = cfg.numLabels;
    const n = scores.length / L;
    const s = Float32Array.from(scores);
    const t = Float32Array.from(targets);
    const ap = multiLabelAP(s, t, n, L);
    const f1 = multiLabelF1(s, t, n, L, 0.5);
    result.classify = { mAP: ap.mAP, f1: f1.f1Micro, precision: f1.precision, recall: f1.recall, loss: per(loss.classify), perLabel: Array.from(ap.ap) };
  }
  if (confusion) {
    result.segment = { mIoU: confusion.mIoU(), pixelAccuracy: confusion.pixelAccuracy(), iou: Array.from(confusion.iou()), loss: per(loss.segment) };
  }
  if (want.embed) {
    const E = cfg.embedDim;
    const all = new Float32Array(embIds.length * E);
    let o = 0;
    for (const c of embChunks) {
      all.set(c, o);
      o += c.length;
    }
    const r = retrievalMetrics(all, E, Int32Array.from(embIds), Int32Array.from(embGroups));
    result.embed = { top1: r.top1, mAP: r.mAP, queries: r.queries, loss: per(loss.embed) };
  }
  return result;
}
