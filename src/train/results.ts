/**
 * The run folder's tabular record: results.csv with one row per epoch and
 * column names familiar to Ultralytics users (`train/box_loss`, `metrics/mAP50(B)`…),
 * rewritten atomically after every epoch.
 */
import { writeFileAtomic } from '../io/atomic-write.js';

/** Columns of the other tasks of a multi-task run (present only for the tasks trained). */
export const TASK_COLUMNS = [
  'train/classify_loss', 'val/classify_loss', 'metrics/mAP(C)', 'metrics/F1(C)',
  'train/seg_loss', 'val/seg_loss', 'metrics/mIoU(S)',
  'train/emb_loss', 'val/emb_loss', 'metrics/top1(E)', 'metrics/mAP(E)',
] as const;
export type TaskColumn = (typeof TASK_COLUMNS)[number];

export type EpochRow = DetectionEpochRow & Partial<Record<TaskColumn, number>>;

export interface DetectionEpochRow {
  epoch: number;
  'train/box_loss': number;
  'train/obj_loss': number;
  'train/cls_loss': number;
  'metrics/precision(B)': number;
  'metrics/recall(B)': number;
  'metrics/mAP50(B)': number;
  'metrics/mAP50-95(B)': number;
  'val/box_loss': number;
  'val/obj_loss': number;
  'val/cls_loss': number;
  'lr/pg0': number;
  'lr/pg1': number;
  'lr/pg2': number;
  /** Seconds the epoch took (training + validation). */
  time: number;
}

export const RESULT_COLUMNS: ReadonlyArray<keyof DetectionEpochRow> = [
  'epoch', 'train/box_loss', 'train/obj_loss', 'train/cls_loss', 'metrics/precision(B)', 'metrics/recall(B)',
  'metrics/mAP50(B)', 'metrics/mAP50-95(B)', 'val/box_loss', 'val/obj_loss', 'val/cls_loss', 'lr/pg0', 'lr/pg1', 'lr/pg2', 'time',
];

function cell(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/** The detection columns, then the task columns that any row has. */
export function columnsOf(rows: readonly EpochRow[]): Array<keyof EpochRow> {
  return [...RESULT_COLUMNS, ...TASK_COLUMNS.filter((c) => rows.some((r) => r[c] !== undefined))];
}

export function resultsCsv(rows: readonly EpochRow[]): string {
  const cols = columnsOf(rows);
  const lines = [cols.join(',')];
  for (const r of rows) lines.push(cols.map((c) => cell(r[c] ?? Number.NaN)).join(','));
  return `${lines.join('\n')}\n`;
}

export async function writeResultsCsv(path: string, rows: readonly EpochRow[]): Promise<void> {
  await writeFileAtomic(path, resultsCsv(rows));
}

/** Parses a results.csv written by resultsCsv (for --resume). */
export function parseResultsCsv(text: string): EpochRow[] {
  const [head, ...body] = text.trim().split(/\r?\n/);
  if (!head) return [];
  const cols = head.split(',');
  return body.filter((l) => l.trim()).map((line) => {
    const v = line.split(',').map(Number);
    const row = {} as Record<string, number>;
    cols.forEach((c, i) => (row[c] = v[i]!));
    return row as unknown as EpochRow;
  });
}

/**
 * Validation fitness used for early stopping and best-checkpoint selection:
 * 0.1·mAP50 + 0.9·mAP50-95 of detection; for a model without detection, the mean
 * of its tasks' main metrics (classify mAP, segment mIoU, embed mAP).
 */
export function fitness(r: Pick<EpochRow, 'metrics/mAP50(B)' | 'metrics/mAP50-95(B)'> & Partial<Record<TaskColumn, number>>): number {
  if (Number.isFinite(r['metrics/mAP50(B)'])) return 0.1 * r['metrics/mAP50(B)'] + 0.9 * r['metrics/mAP50-95(B)'];
  const main = [r['metrics/mAP(C)'], r['metrics/mIoU(S)'], r['metrics/mAP(E)']].filter((v): v is number => v !== undefined && Number.isFinite(v));
  return main.length ? main.reduce((a, b) => a + b, 0) / main.length : 0;
}
