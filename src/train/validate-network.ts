/**
 * Validation of a whole network on a split, over the task table: the tasks
 * evaluated on decoded rows (detection: COCO mAP, through a data-parallel pool
 * when one is given) and the tasks evaluated on raw outputs (validate-tasks.ts),
 * merged into one set of results.csv columns.
 */
import type { ImageRecord } from '../data/types.js';
import type { Detector } from '../models/detector.js';
import { type TaskName, taskSpecs } from '../tasks/registry.js';
import type { TaskEvaluation } from '../tasks/types.js';
import type { ReplicaPool } from './parallel/replica-pool.js';
import { detectionEvaluation, type ValidateOptions, type ValidationResult, validateDetector, validateRunner } from './validate.js';
import { type TaskValidationResult, validateTasks } from './validate-tasks.js';

export interface NetworkValidation {
  /** Every task's validation columns (losses and metrics), for results.csv. */
  columns: Record<string, number>;
  /** Each task's evaluation. */
  evaluations: Partial<Record<TaskName, TaskEvaluation>>;
  /** Of those, the tasks evaluated on the network's raw outputs (all but detection). */
  outputTasks: TaskValidationResult;
  /** The detection validation in full (PR curve, confusion matrix, first batch), when the network detects. */
  detection: ValidationResult | null;
}

export async function validateNetwork(
  model: Detector,
  records: ImageRecord[],
  names: readonly string[],
  opts: ValidateOptions & { pool?: ReplicaPool | null },
): Promise<NetworkValidation> {
  const specs = taskSpecs(model.config.tasks);
  const evaluations: Partial<Record<TaskName, TaskEvaluation>> = {};
  let detection: ValidationResult | null = null;
  // Tasks without an output evaluator are evaluated on the decoded rows of the model (or its replicas).
  const decoded = specs.filter((s) => !s.evaluator);
  if (decoded.length > 0 && model.head) {
    detection = opts.pool
      ? await validateRunner(opts.pool.runner(model, [...names]), records, names, opts)
      : await validateDetector(model, records, names, opts);
    for (const s of decoded) evaluations[s.name as TaskName] = detectionEvaluation(detection);
  }
  const outputTasks = await validateTasks(model, records, opts);
  Object.assign(evaluations, outputTasks);
  const columns: Record<string, number> = {};
  for (const e of Object.values(evaluations)) Object.assign(columns, e!.columns);
  return { columns, evaluations, outputTasks, detection };
}
