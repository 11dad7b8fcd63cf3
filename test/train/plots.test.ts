/** results.png's panels from a run's results.csv rows (train/plots.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainingCurvePanels } from '../../src/train/plots.js';
import type { EpochRow } from '../../src/train/results.js';

const DETECTION = [
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

function row(epoch: number, extra: Partial<EpochRow> = {}): EpochRow {
  return {
    epoch,
    'train/box_loss': 0.1 * epoch,
    'train/obj_loss': 0.2,
    'train/cls_loss': 0.3,
    'metrics/precision(B)': 0.4,
    'metrics/recall(B)': 0.5,
    'metrics/mAP50(B)': 0.6,
    'metrics/mAP50-95(B)': 0.7,
    'val/box_loss': 0.8,
    'val/obj_loss': 0.9,
    'val/cls_loss': 1,
    'lr/pg0': 0.01,
    'lr/pg1': 0.01,
    'lr/pg2': 0.01,
    time: 1,
    ...extra,
  };
}

test('a detection run: the ten detection panels, one point per epoch', () => {
  const panels = trainingCurvePanels([row(1), row(2), row(3)]);
  assert.deepEqual(
    panels.map((p) => p.title),
    DETECTION,
  );
  assert.deepEqual(panels[0], { title: 'train/box_loss', x: [1, 2, 3], y: [0.1, 0.2, 0.1 * 3] });
  assert.deepEqual(
    trainingCurvePanels([]).map((p) => p.title),
    DETECTION,
    'before the first epoch',
  );
});

test('the other tasks: the columns some row has, after detection; a missing value is a gap', () => {
  const rows = [row(1, { 'train/seg_loss': 2 }), row(2, { 'train/seg_loss': 1, 'metrics/mIoU(S)': 0.3 })];
  const panels = trainingCurvePanels(rows);
  assert.deepEqual(
    panels.map((p) => p.title),
    [...DETECTION, 'train/seg_loss', 'metrics/mIoU(S)'],
  );
  assert.deepEqual(panels.at(-1)!.y, [Number.NaN, 0.3]);
  const noDetect = trainingCurvePanels([row(1, { 'train/box_loss': Number.NaN, 'train/classify_loss': 0.5, 'metrics/mAP(C)': 0.2 })]);
  assert.deepEqual(
    noDetect.map((p) => p.title),
    ['train/classify_loss', 'metrics/mAP(C)'],
  );
});
