/**
 * `yolor val` as a library call: weights (a checkpoint, an exported ONNX or
 * TF.js model) validated on a dataset split — the image check first, then
 * detection on the decoded rows of any runner (data parallel for checkpoints)
 * and, for a checkpoint, every output-evaluated task of the task table.
 */
import { datasetSplit, loadDetectionDatasetAsync } from '../data/resolve.js';
import { applyImageReport, describeImageReport, verifyImages } from '../data/verify.js';
import { loadRunner } from '../export/runner-loaders.js';
import { runnerImageSize } from '../infer/runner.js';
import type { TaskName } from '../tasks/registry.js';
import type { TaskEvaluation } from '../tasks/types.js';
import { defaultReplicas, ReplicaPool } from './parallel/replica-pool.js';
import { type ValidationResult, validateRunner } from './validate.js';
import { validateNetwork } from './validate-network.js';

export interface ValidateWeightsOptions {
  data: string;
  split: string;
  /** Image size (default: the training size recorded in the checkpoint; exports: their size). */
  imgsz?: number;
  batch: number;
  conf: number;
  iou: number;
  /** Replicas for a checkpoint and threads of the image check (default: the number of cores, capped by the batch). */
  workers?: number;
  skipBad: boolean;
  progress: boolean;
  /** Where notes and warnings go (default: nowhere). */
  log?: (line: string) => void;
}

export interface WeightsValidation {
  /** Detection's full validation (null for a model without detection). */
  detection: ValidationResult | null;
  /** The other tasks' evaluations (checkpoints of multi-task models). */
  tasks: Partial<Record<TaskName, TaskEvaluation>>;
  /** What ran the model. */
  engine: string;
}

export async function validateWeights(weights: string, opts: ValidateWeightsOptions): Promise<WeightsValidation> {
  const log = opts.log ?? ((): void => undefined);
  const runner = await loadRunner(weights);
  let pool: ReplicaPool | null = null;
  try {
    const ds = await loadDetectionDatasetAsync(opts.data);
    if (ds.names.length !== runner.nc) throw new Error(`${weights}: the model has ${runner.nc} classes but ${ds.source} has ${ds.names.length}`);
    const workers = opts.workers ?? defaultReplicas(opts.batch);
    const check = await verifyImages(datasetSplit(ds, opts.split), { workers, progress: opts.progress, label: `check ${opts.split}`, log });
    if (opts.progress) log(`image check, ${opts.split}: ${describeImageReport(check)}`);
    const records = applyImageReport(opts.split, check, opts.skipBad, log);
    const imgsz = runnerImageSize(runner, opts.imgsz, log);
    const vopts = { imgsz, batchSize: opts.batch, conf: opts.conf, iou: opts.iou, progress: opts.progress };
    const model = runner.detector;
    if (!model) {
      const detection = await validateRunner(runner, records, ds.names, vopts);
      return { detection, tasks: {}, engine: runner.engine };
    }
    const replicas = Math.min(workers, opts.batch);
    if (replicas > 1 && model.head) pool = await ReplicaPool.start(model, { replicas });
    const v = await validateNetwork(model, records, ds.names, { ...vopts, pool });
    return { detection: v.detection, tasks: v.outputTasks, engine: pool ? pool.engine : runner.engine };
  } finally {
    await pool?.close();
    await runner.dispose();
  }
}
