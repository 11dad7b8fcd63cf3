/**
 * The run folder's tabular record: results.csv with one row per epoch and
 * column names familiar to Ultralytics users (`train/box_loss`, `metrics/mAP50(B)`…),
 * rewritten atomically after every epoch.
 */
import { writeFileAtomic } from '../io/atomic-write.js';
import { TASKS } from '../tasks/registry.js';
import type { TaskSpec } from '../tasks/types.js';

const SPECS: readonly TaskSpec[] = TASKS;

/** Columns that follow `epoch` in every results.csv (the 'lead' tasks', as Ultralytics has detection's). */
export const LEAD_COLUMNS: readonly string[] = SPECS.filter((t) => t.resultsPlace === 'lead').flatMap((t) => t.columns);

/** Columns of the other tasks (present only for the tasks trained), in task-table order. */
export const TASK_COLUMNS: readonly string[] = SPECS.filter((t) => t.resultsPlace === 'tail').flatMap((t) => t.columns);

/** One epoch of results.csv: epoch, learning rates, time and every task column (NaN where a lead task is not trained). */
export type EpochRow = {
  epoch: number;
  'lr/pg0': number;
  'lr/pg1': number;
  'lr/pg2': number;
  /** Seconds the epoch took (training + validation). */
  time: number;
} & Record<string, number>;

export const RESULT_COLUMNS: readonly string[] = ['epoch', ...LEAD_COLUMNS, 'lr/pg0', 'lr/pg1', 'lr/pg2', 'time'];

function cell(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/** The lead columns, then the task columns that any row has. */
export function columnsOf(rows: readonly EpochRow[]): string[] {
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
  return body
    .filter((l) => l.trim())
    .map((line) => {
      const v = line.split(',').map(Number);
      const row = {} as Record<string, number>;
      cols.forEach((c, i) => {
        row[c] = v[i]!;
      });
      return row as unknown as EpochRow;
    });
}

/**
 * Validation fitness used for early stopping and best-checkpoint selection: a
 * 'primary' task's fitness when it is finite (detection: 0.1·mAP50 + 0.9·mAP50-95);
 * otherwise the mean of the other tasks' (classify mAP, segment mIoU, embed mAP,
 * count accuracy), 0 when there is none.
 */
export function fitness(r: Readonly<Record<string, number | undefined>>): number {
  for (const t of SPECS) {
    if (t.fitnessRole !== 'primary') continue;
    const f = t.fitness(r);
    if (f !== undefined && Number.isFinite(f)) return f;
  }
  const main = SPECS.filter((t) => t.fitnessRole === 'mean')
    .map((t) => t.fitness(r))
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  return main.length ? main.reduce((a, b) => a + b, 0) / main.length : 0;
}
