/**
 * Validation of the tasks that are evaluated on a network's raw outputs (every
 * task whose spec has an evaluator: classify, segment, embed, count, …), in one
 * pass over letterboxed batches loaded with the tasks' labels: each batch goes
 * through `forwardTasks` once and every evaluator processes its task's output.
 * Detection keeps its own validation (validate.ts: decoded rows of any runner,
 * COCO mAP).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader } from '../data/loader.js';
import type { ImageRecord } from '../data/types.js';
import type { Detector } from '../models/detector.js';
import { type TaskName, taskSpecs } from '../tasks/registry.js';
import type { TaskEvaluation, TaskEvaluator } from '../tasks/types.js';
import { ProgressBar } from '../util/progress.js';

export interface TaskValidationOptions {
  imgsz: number;
  batchSize: number;
  workers?: number;
  progress?: boolean;
}

/** Each output-evaluated task's evaluation (results columns, the `val --json` report, a line). */
export type TaskValidationResult = Partial<Record<TaskName, TaskEvaluation>>;

/** The tasks of `model` that `validateTasks` evaluates. */
export function outputEvaluatedTasks(model: Detector): TaskName[] {
  return taskSpecs(model.config.tasks)
    .filter((s) => s.evaluator)
    .map((s) => s.name as TaskName);
}

/** Metrics of every output-evaluated task of `model` on `records` (nothing when it has none). */
export async function validateTasks(model: Detector, records: ImageRecord[], opts: TaskValidationOptions): Promise<TaskValidationResult> {
  const specs = taskSpecs(model.config.tasks).filter((s) => s.evaluator);
  if (specs.length === 0) return {};
  const evaluators = specs.map((s) => [s.name, s.evaluator!(model)] as [string, TaskEvaluator<unknown>]);
  for (const [, e] of evaluators) e.reset();
  const loader = new DataLoader({
    records,
    imgsz: opts.imgsz,
    batchSize: opts.batchSize,
    train: false,
    shuffle: false,
    workers: opts.workers ?? 0,
    extras: specs.some((s) => s.needsExtras),
    numClasses: model.config.nc,
  });
  const bar = opts.progress ? new ProgressBar({ total: records.length, label: 'val tasks', unit: 'img' }) : null;
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of loader.epoch(0)) {
      tf.tidy(() => {
        const out = model.forwardTasks(tf.tensor4d(batch.images, batch.shape)) as Record<string, unknown>;
        for (const [name, e] of evaluators) e.process(batch, out[name]);
      });
      bar?.tick(batch.shape[0]);
    }
  } finally {
    bar?.finish();
    await loader.close();
    model.train(wasTraining);
  }
  const result: TaskValidationResult = {};
  for (const [name, e] of evaluators) result[name as TaskName] = e.evaluate();
  return result;
}
