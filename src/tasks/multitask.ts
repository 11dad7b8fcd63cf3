/**
 * The tasks of the unified network as one list: which labels each task needs,
 * the check that a dataset has them, and the multi-task loss over every head's
 * output. Per task T with per-image loss L_T (detect: box + obj + cls, YOLOv5's
 * gains; classify: BCE; segment: CE (+ Dice); embed: identity CE):
 *   fixed weights   total = B · Σ_T w_T · L_T
 *   uncertainty     total = B · Σ_T (½·exp(−s_T)·L_T + ½·s_T)   (learned s_T, heads/task-balance.ts)
 * with B the batch size (YOLOv5's convention, so detection alone is unchanged).
 * A data-parallel shard computes its part of the whole batch's total (options.global).
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseModelConfig, serializeModelConfig, TASK_NAMES, type ModelConfig, type TaskName } from '../models/config.js';
import type { Detector, TaskOutputs } from '../models/detector.js';
import { classifyLoss } from './classify/loss.js';
import { buildTargets, gridsFor, gridsOfMaps } from './detect/assign.js';
import { detectionLoss, type DetectionHyp } from './detect/loss.js';
import { embedLoss, positiveEmbeddingCells } from './embed/loss.js';
import { segmentLoss } from './segment/loss.js';

/** What a dataset provides beyond boxes and classes. */
export interface DatasetLabelInfo {
  /** Attribute names (e.g. colours) for multi-label classification; [] when none. */
  attributes: string[];
  /** Per-instance masks (semantic segmentation). */
  masks: boolean;
  /** Distinct identity ids (embeddings); 0 when the dataset has none. */
  numIdentities: number;
}

/** What each task trains on, for messages and checks. */
export const TASK_LABELS: Readonly<Record<TaskName, string>> = {
  detect: 'boxes and classes',
  classify: 'image-level labels (the classes present, plus attributes when the dataset has them)',
  segment: 'per-instance masks',
  embed: 'per-object identity ids',
};

/** The default loss weight of each task (fixed weighting). */
export const DEFAULT_TASK_WEIGHTS: Readonly<Record<TaskName, number>> = { detect: 1, classify: 1, segment: 0.5, embed: 0.1 };

/** Throws a clear error when a requested task needs labels the dataset lacks. */
export function checkTaskLabels(tasks: readonly TaskName[], info: DatasetLabelInfo, source: string): void {
  for (const t of tasks) {
    if (t === 'segment' && !info.masks) {
      throw new Error(`${source}: the segment task needs ${TASK_LABELS.segment}, and this dataset has none ` +
        `(the built-in shapes and fashion datasets have them)`);
    }
    if (t === 'embed' && info.numIdentities < 2) {
      throw new Error(`${source}: the embed task needs ${TASK_LABELS.embed}, and this dataset has ` +
        `${info.numIdentities === 0 ? 'none' : 'only one identity'} (the built-in shapes and fashion datasets have them)`);
    }
  }
}

/** Parses `detect,classify` (or a list) into canonical task order; errors name the unknown task. */
export function parseTaskList(spec: string | readonly string[]): TaskName[] {
  const list = typeof spec === 'string' ? spec.split(',').map((s) => s.trim()).filter(Boolean) : [...spec];
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
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const w = Number(v);
    if (!k || !TASK_NAMES.includes(k as TaskName) || v === undefined || v.trim() === '' || rest.length > 0 || !Number.isFinite(w) || w < 0) {
      throw new Error(`--task-weights: '${part}' is not task=weight with a task among ${TASK_NAMES.join(', ')} and a weight ≥ 0`);
    }
    out[k as TaskName] = w;
  }
  return out;
}

/** The labels of a batch the tasks train on (a loader Batch has these fields). */
export interface TaskBatch {
  shape: [number, number, number, number];
  /** Detection target rows [image, cls, cx, cy, w, h]. */
  targets: Float32Array;
  labels?: Float32Array;
  semantic?: Uint8Array;
  /** Identity per target row (−1 unknown). */
  identity?: Int32Array;
}

export interface TaskLossItems {
  /** Detection components (with gains), as the detection loss reports them. */
  box: number;
  obj: number;
  cls: number;
  /** Per-image loss of each other task present (unweighted). */
  classify?: number;
  segment?: number;
  embed?: number;
  /** The value minimised (see the module comment). */
  total: number;
}

export interface MultiTaskLossOptions {
  lossHyp?: Partial<DetectionHyp>;
  weights?: Partial<Record<TaskName, number>>;
  /** Dice weight of the segmentation loss. */
  dice?: number;
  /**
   * The whole batch's normalisers when this batch is one data-parallel shard of it
   * (see `taskGlobalCounts`): every task's loss is then this shard's part of the
   * whole batch's, so that the shards' totals and gradients add up to it.
   */
  global?: TaskGlobalCounts;
}

/** Normalisers of a whole batch: images, detection positives per level, embedding picks. */
export interface TaskGlobalCounts {
  batch: number;
  positives: number[];
  embedPicks: number;
}

/**
 * The whole batch's normalisers for data-parallel shards, from its detection
 * target assignment (each image's positives depend on its own boxes only, so the
 * shards' positives are the whole batch's, split).
 */
export function taskGlobalCounts(model: Detector, batch: TaskBatch): TaskGlobalCounts {
  const c = model.config;
  const [b, h, w] = batch.shape;
  const grids = gridsFor(h, w, model.strides);
  const a = buildTargets(batch.targets, { anchors: c.anchors, strides: model.strides, grids, batchSize: b, nc: c.nc });
  const embedPicks = c.tasks.includes('embed') && batch.identity ? positiveEmbeddingCells(a, grids, batch.identity).identity.length : 0;
  return { batch: b, positives: a.levels.map((l) => l.count), embedPicks };
}

function missing(task: TaskName, what: string): never {
  throw new Error(`the ${task} task needs ${what} in every batch (load the data with the task's labels)`);
}

/** The multi-task loss of a model's outputs on a batch (inside a gradient or tidy scope). */
export function multiTaskLoss(model: Detector, out: TaskOutputs, batch: TaskBatch, opts: MultiTaskLossOptions = {}): { total: tf.Scalar; items: TaskLossItems } {
  const cfg = model.config;
  const B = batch.shape[0];
  const G = opts.global;
  if (G && (opts.dice ?? 0) > 0) throw new Error('multiTaskLoss: the Dice term is a ratio of whole-batch sums and cannot be split across data-parallel shards');
  // A shard's share of the batch: per-image means become parts of the whole batch's mean.
  const share = G ? B / G.batch : 1;
  const part = (l: tf.Scalar, f: number): tf.Scalar => (f === 1 ? l : (tf.mul(l, f) as tf.Scalar));
  const weights = { ...DEFAULT_TASK_WEIGHTS, ...opts.weights };
  const items: TaskLossItems = { box: 0, obj: 0, cls: 0, total: 0 };
  const perTask: Array<[TaskName, tf.Scalar]> = [];
  let assignment: ReturnType<typeof buildTargets> | null = null;
  if (out.detect) {
    assignment = buildTargets(batch.targets, { anchors: cfg.anchors, strides: model.strides, grids: gridsOfMaps(out.detect), batchSize: B, nc: cfg.nc });
    const l = detectionLoss(out.detect, assignment, cfg.anchors, model.strides, cfg.nc, { ...opts.lossHyp, ...(G ? { global: { batch: G.batch, positives: G.positives } } : {}) });
    items.box = l.items.box;
    items.obj = l.items.obj;
    items.cls = l.items.cls;
    perTask.push(['detect', tf.add(tf.add(l.box, l.obj), l.cls) as tf.Scalar]);
  }
  if (out.classify) {
    if (!batch.labels) missing('classify', 'image-level labels');
    const l = part(classifyLoss(out.classify, batch.labels), share);
    items.classify = l.dataSync()[0]!;
    perTask.push(['classify', l]);
  }
  if (out.segment) {
    if (!batch.semantic) missing('segment', 'class maps from instance masks');
    const l = part(segmentLoss(out.segment, batch.semantic, { dice: opts.dice ?? 0 }), share);
    items.segment = l.dataSync()[0]!;
    perTask.push(['segment', l]);
  }
  if (out.embed) {
    if (!batch.identity) missing('embed', 'identity ids');
    if (!assignment) throw new Error('the embed task needs the detect task (embeddings are taken at detection cells)');
    const picks = positiveEmbeddingCells(assignment, gridsOfMaps(out.embed), batch.identity);
    const n = picks.identity.length;
    const l = part(embedLoss(out.embed, picks, model.embedHead!.classifier!), G ? (G.embedPicks > 0 ? n / G.embedPicks : 0) : 1);
    items.embed = l.dataSync()[0]!;
    perTask.push(['embed', l]);
  }
  const balance = model.taskBalance;
  const terms = perTask.map(([t, l]) => (balance ? balance.weigh(t, l, share) : (tf.mul(l, weights[t]) as tf.Scalar)));
  const sum = terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Scalar);
  const total = tf.mul(sum, G ? G.batch : B) as tf.Scalar;
  items.total = total.dataSync()[0]!;
  return { total, items };
}

/** What labels a loaded dataset has beyond boxes (the built-in generated datasets have all of them). */
export function datasetLabelInfo(ds: { splits: Record<string, ReadonlyArray<object>>; attributes?: string[]; numIdentities?: number }): DatasetLabelInfo {
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

/**
 * A model config for a dataset: `base` with `overrides` (config file keys; the
 * nested `implicit` fields merged, not replaced), the dataset's classes, the
 * tasks, and the label spaces they imply (classify: classes + attributes;
 * embed: the dataset's identities).
 */
export function configForDataset(
  base: ModelConfig,
  data: { names: readonly string[]; info: DatasetLabelInfo },
  opts: { tasks: readonly TaskName[]; overrides?: Record<string, unknown>; uncertainty?: boolean; widthMultiple?: number; where?: string },
): ModelConfig {
  const raw = serializeModelConfig(base);
  const overrides = opts.overrides ?? {};
  const implicit = { ...(raw['implicit'] as Record<string, unknown>), ...((overrides['implicit'] as Record<string, unknown> | undefined) ?? {}) };
  return parseModelConfig({
    ...raw, ...overrides, implicit, nc: data.names.length, names: [...data.names], tasks: [...opts.tasks],
    num_labels: data.names.length + data.info.attributes.length, num_identities: opts.tasks.includes('embed') ? data.info.numIdentities : 0,
    task_weighting: opts.uncertainty ? 'uncertainty' : 'fixed',
    ...(opts.widthMultiple !== undefined ? { width_multiple: opts.widthMultiple } : {}),
  }, opts.where ?? base.name);
}
