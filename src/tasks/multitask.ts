/**
 * The multi-task loss and the task-list helpers, over the task table
 * (tasks/registry.ts). Per task T with per-image loss L_T (each task's spec):
 *   fixed weights   total = B · Σ_T w_T · L_T
 *   uncertainty     total = B · Σ_T (½·exp(−s_T)·L_T + ½·s_T)   (learned s_T, tasks/task-balance.ts)
 * with B the batch size (YOLOv5's convention, so detection alone is unchanged).
 * A data-parallel shard computes its part of the whole batch's total (options.global).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TASK_NAMES, TASKS, type TaskName, type TaskOutputs, taskSpecs } from './registry.js';
import type { DatasetLabelInfo, TaskBatch, TaskGlobalCounts, TaskLossOptions, TaskNetwork, TaskSpec } from './types.js';

export type { DatasetLabelInfo, TaskBatch, TaskGlobalCounts } from './types.js';

/** What each task trains on, for messages and checks. */
export const TASK_LABELS: Readonly<Record<TaskName, string>> = Object.fromEntries(TASKS.map((t) => [t.name, t.labels])) as Record<TaskName, string>;

/** The default loss weight of each task (fixed weighting). */
export const DEFAULT_TASK_WEIGHTS: Readonly<Record<TaskName, number>> = Object.fromEntries(TASKS.map((t) => [t.name, t.defaultWeight])) as Record<
  TaskName,
  number
>;

/** Throws a clear error when a requested task needs labels the dataset lacks. */
export function checkTaskLabels(tasks: readonly TaskName[], info: DatasetLabelInfo, source: string): void {
  for (const spec of taskSpecs(tasks)) spec.checkDataset?.(info, source);
}

/** Parses `detect,classify` (or a list) into canonical task order; errors name the unknown task. */
export function parseTaskList(spec: string | readonly string[]): TaskName[] {
  const list =
    typeof spec === 'string'
      ? spec
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...spec];
  if (list.length === 0) throw new Error(`--tasks: give at least one of ${TASK_NAMES.join(', ')}`);
  for (const t of list) {
    if (!TASK_NAMES.includes(t as TaskName)) throw new Error(`--tasks: unknown task '${t}' (known: ${TASK_NAMES.join(', ')})`);
  }
  return TASK_NAMES.filter((t) => list.includes(t));
}

/** Parses `segment=0.5,embed=0.1` into weights (the rest keep their defaults). */
export function parseTaskWeights(spec: string | undefined): Partial<Record<TaskName, number>> {
  const out: Partial<Record<TaskName, number>> = {};
  if (!spec) return out;
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const w = Number(v);
    if (!k || !TASK_NAMES.includes(k as TaskName) || v === undefined || v.trim() === '' || rest.length > 0 || !Number.isFinite(w) || w < 0) {
      throw new Error(`--task-weights: '${part}' is not task=weight with a task among ${TASK_NAMES.join(', ')} and a weight ≥ 0`);
    }
    out[k as TaskName] = w;
  }
  return out;
}

/** Loss items of a batch: each task's reported parts (detection: box, obj, cls; others: their loss) and the total. */
export interface TaskLossItems {
  /** The value minimised (see the module comment). */
  total: number;
  [part: string]: number;
}

export interface MultiTaskLossOptions extends TaskLossOptions {
  weights?: Partial<Record<TaskName, number>>;
  /**
   * The whole batch's normalisers when this batch is one data-parallel shard of it
   * (see `taskGlobalCounts`): every task's loss is then this shard's part of the
   * whole batch's, so that the shards' totals and gradients add up to it.
   */
  global?: TaskGlobalCounts;
}

/** A per-evaluation memo (values such as the detection target assignment, computed once and shared). */
function memoTable(): <T>(key: string, make: () => T) => T {
  const m = new Map<string, unknown>();
  return <T>(key: string, make: () => T): T => {
    if (!m.has(key)) m.set(key, make());
    return m.get(key) as T;
  };
}

/**
 * The whole batch's normalisers for data-parallel shards: its image count and
 * each task's counts (detection: positives per level; embeddings: picked cells),
 * from the target assignment, which depends on each image's own boxes only.
 */
export function taskGlobalCounts(net: TaskNetwork, batch: TaskBatch): TaskGlobalCounts {
  const memo = memoTable();
  const tasks: Record<string, number[]> = {};
  for (const spec of taskSpecs(net.config.tasks)) {
    if (spec.globalCounts) tasks[spec.name] = spec.globalCounts(net, batch, memo);
  }
  return { batch: batch.shape[0], tasks };
}

/** The multi-task loss of a model's outputs on a batch (inside a gradient or tidy scope). */
export function multiTaskLoss(
  net: TaskNetwork,
  out: TaskOutputs,
  batch: TaskBatch,
  opts: MultiTaskLossOptions = {},
): { total: tf.Scalar; items: TaskLossItems } {
  const B = batch.shape[0];
  const G = opts.global;
  if (G && (opts.dice ?? 0) > 0)
    throw new Error('multiTaskLoss: the Dice term is a ratio of whole-batch sums and cannot be split across data-parallel shards');
  // A shard's share of the batch: per-image means become parts of the whole batch's mean.
  const share = G ? B / G.batch : 1;
  const weights: Record<string, number> = { ...DEFAULT_TASK_WEIGHTS, ...opts.weights };
  const items: TaskLossItems = { total: 0 };
  const memo = memoTable();
  const perTask: Array<[string, tf.Scalar]> = [];
  for (const spec of TASKS as readonly TaskSpec[]) {
    const o = (out as Record<string, unknown>)[spec.name];
    if (o === undefined) continue;
    const head = net.heads[spec.name];
    if (!head) throw new Error(`multiTaskLoss: outputs of the ${spec.name} task but the model has no ${spec.name} head`);
    const global = G?.tasks[spec.name];
    const r = spec.loss({
      net,
      head,
      out: o,
      batch,
      options: opts,
      share,
      memo,
      ...(G ? { globalBatch: G.batch } : {}),
      ...(global ? { global } : {}),
    });
    Object.assign(items, r.items);
    perTask.push([spec.name, r.loss]);
  }
  if (perTask.length === 0) throw new Error('multiTaskLoss: no task outputs');
  const balance = net.taskBalance;
  const terms = perTask.map(([t, l]) => (balance ? balance.weigh(t, l, share) : (tf.mul(l, weights[t]!) as tf.Scalar)));
  const sum = terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Scalar);
  const total = tf.mul(sum, G ? G.batch : B) as tf.Scalar;
  items.total = total.dataSync()[0]!;
  return { total, items };
}

/** What labels a loaded dataset has beyond boxes (the built-in generated datasets have all of them). */
export function datasetLabelInfo(ds: {
  splits: Record<string, ReadonlyArray<object>>;
  attributes?: string[];
  numIdentities?: number;
}): DatasetLabelInfo {
  const first = Object.values(ds.splits).find((s) => s.length > 0)?.[0] as { rle?: unknown } | undefined;
  return {
    attributes: ds.attributes ?? [],
    masks: first !== undefined && Array.isArray(first.rle),
    numIdentities: ds.numIdentities ?? 0,
  };
}

/** Whether a model's tasks are anything but detection alone. */
export function isMultiTask(tasks: readonly TaskName[]): boolean {
  return tasks.length !== 1 || tasks[0] !== 'detect';
}
