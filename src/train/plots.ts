/**
 * The run folder's pictures: results.png (losses and metrics per epoch) after
 * every epoch; at the end, the PR curve and confusion matrix of the last
 * validation, and a batch of validation predictions beside its ground truth.
 */
import { join } from 'node:path';
import { batchItem } from '../data/loader.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeConfusionMatrixPng } from '../plot/confusion-matrix.js';
import { drawSamplesGrid, type GridItem } from '../plot/draw-boxes.js';
import { writePrCurvePng } from '../plot/pr-curve.js';
import { type CurvePanel, writeCurvesPng } from '../plot/training-curves.js';
import { type EpochRow, TASK_COLUMNS } from './results.js';
import type { ValidationResult } from './validate.js';

/** results.png's detection panels, in the order drawn (five to a row). */
const DETECTION_PANELS: Array<keyof EpochRow> = [
  'train/box_loss',
  'train/obj_loss',
  'train/cls_loss',
  'metrics/precision(B)',
  'metrics/recall(B)',
  'val/box_loss',
  'val/obj_loss',
  'val/cls_loss',
  'metrics/mAP50(B)',
  'metrics/mAP50-95(B)',
];

/**
 * results.png's panels: the detection losses and metrics (when the model
 * detects, or before the first epoch), then the other tasks' columns that any
 * row has; one point per epoch, a missing value a gap.
 */
export function trainingCurvePanels(rows: readonly EpochRow[]): CurvePanel[] {
  const has = (k: keyof EpochRow): boolean => rows.some((r) => r[k] !== undefined && Number.isFinite(r[k]));
  const keys: Array<keyof EpochRow> = [...(has('train/box_loss') || rows.length === 0 ? DETECTION_PANELS : []), ...TASK_COLUMNS.filter(has)];
  const x = rows.map((r) => r.epoch);
  return keys.map((key) => ({ title: key, x, y: rows.map((r) => r[key] ?? Number.NaN) }));
}

/** Ground truth (left) and predictions at conf ≥ 0.25 (right) of up to 8 images of one batch. */
export function validationBatchPng(val: NonNullable<ValidationResult['firstBatch']>, names: readonly string[]): Buffer {
  const { batch, detections } = val;
  const items: GridItem[] = [];
  for (let i = 0; i < Math.min(batch.shape[0], 8); i++) {
    const { image, boxes: gtBoxes, cls: gtCls } = batchItem(batch, i);
    const dets = (detections[i] ?? []).filter((d) => d.score >= 0.25);
    items.push({ image, boxes: gtBoxes, cls: gtCls, title: `labels ${i}` });
    items.push({
      image,
      boxes: dets.flatMap((d) => d.box),
      cls: dets.map((d) => d.cls),
      scores: dets.map((d) => d.score),
      title: `predictions ${i}`,
    });
  }
  return drawSamplesGrid(items, names, 4);
}

export async function writeTrainPlots(
  runDir: string,
  rows: readonly EpochRow[],
  val: ValidationResult | null,
  names: readonly string[],
  final: boolean,
): Promise<void> {
  await writeCurvesPng(join(runDir, 'results.png'), trainingCurvePanels(rows));
  if (!final || !val) return;
  await writePrCurvePng(join(runDir, 'PR_curve.png'), val.metrics.prCurves, names);
  await writeConfusionMatrixPng(join(runDir, 'confusion_matrix.png'), val.metrics.confusion, names, { normalize: true });
  if (val.firstBatch) await writeFileAtomic(join(runDir, 'val_batch0.png'), validationBatchPng(val.firstBatch, names));
}
