/**
 * The run folder's tabular record: results.csv with one row per epoch and
 * column names familiar to Ultralytics users (`train/box_loss`, `metrics/mAP50(B)`…),
 * rewritten atomically after every epoch.
 */
import { writeFileAtomic } from '../io/atomic-write.js';

export interface EpochRow {
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

export const RESULT_COLUMNS: ReadonlyArray<keyof EpochRow> = [
  'epoch', 'train/box_loss', 'train/obj_loss', 'train/cls_loss', 'metrics/precision(B)', 'metrics/recall(B)',
  'metrics/mAP50(B)', 'metrics/mAP50-95(B)', 'val/box_loss', 'val/obj_loss', 'val/cls_loss', 'lr/pg0', 'lr/pg1', 'lr/pg2', 'time',
];

function cell(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

export function resultsCsv(rows: readonly EpochRow[]): string {
  const lines = [RESULT_COLUMNS.join(',')];
  for (const r of rows) lines.push(RESULT_COLUMNS.map((c) => cell(r[c])).join(','));
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

/** Validation fitness used for early stopping and best.pt selection: 0.1·mAP50 + 0.9·mAP50-95. */
export function fitness(r: Pick<EpochRow, 'metrics/mAP50(B)' | 'metrics/mAP50-95(B)'>): number {
  return 0.1 * r['metrics/mAP50(B)'] + 0.9 * r['metrics/mAP50-95(B)'];
}
