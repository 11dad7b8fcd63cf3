/**
 * The run folder's pictures: results.png (losses and metrics per epoch) after
 * every epoch; at the end, the PR curve and confusion matrix of the last
 * validation, and a batch of validation predictions beside its ground truth.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeConfusionMatrixPng } from '../plot/confusion-matrix.js';
import { drawSamplesGrid, type GridItem } from '../plot/draw-boxes.js';
import { writePrCurvePng } from '../plot/pr-curve.js';
import { writeTrainingCurvesPng } from '../plot/training-curves.js';
import type { EpochRow } from './results.js';
import type { ValidationResult } from './validate.js';

/** Ground truth (left) and predictions at conf ≥ 0.25 (right) of up to 8 images of one batch. */
export function validationBatchPng(val: NonNullable<ValidationResult['firstBatch']>, names: readonly string[]): Buffer {
  const { batch, detections } = val;
  const [b, h, w] = batch.shape;
  const items: GridItem[] = [];
  for (let i = 0; i < Math.min(b, 8); i++) {
    const data = new Uint8Array(h * w * 3);
    const off = i * h * w * 3;
    for (let k = 0; k < data.length; k++) data[k] = Math.round(batch.images[off + k]! * 255);
    const image = { data, width: w, height: h };
    const gtBoxes: number[] = [];
    const gtCls: number[] = [];
    for (let r = 0; r < batch.targets.length; r += 6) {
      if (batch.targets[r] !== i) continue;
      const [cx, cy, bw, bh] = [batch.targets[r + 2]!, batch.targets[r + 3]!, batch.targets[r + 4]!, batch.targets[r + 5]!];
      gtBoxes.push(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2);
      gtCls.push(batch.targets[r + 1]!);
    }
    const dets = (detections[i] ?? []).filter((d) => d.score >= 0.25);
    items.push({ image, boxes: gtBoxes, cls: gtCls, title: `labels ${i}` });
    items.push({ image, boxes: dets.flatMap((d) => d.box), cls: dets.map((d) => d.cls), scores: dets.map((d) => d.score), title: `predictions ${i}` });
  }
  return drawSamplesGrid(items, names, 4);
}

export async function writeTrainPlots(runDir: string, rows: readonly EpochRow[], val: ValidationResult, names: readonly string[], final: boolean): Promise<void> {
  await writeTrainingCurvesPng(join(runDir, 'results.png'), rows);
  if (!final) return;
  await writePrCurvePng(join(runDir, 'PR_curve.png'), val.metrics.prCurves, names);
  await writeConfusionMatrixPng(join(runDir, 'confusion_matrix.png'), val.metrics.confusion, names, { normalize: true });
  if (val.firstBatch) await writeFileAtomic(join(runDir, 'val_batch0.png'), validationBatchPng(val.firstBatch, names));
}
