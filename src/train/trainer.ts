/**
 * `yolor train`: data → model → detection loss → optimiser, with warm-up,
 * cosine/linear decay, gradient accumulation to a nominal batch of 64, EMA,
 * gradient-norm clipping, per-epoch validation on the EMA weights, early
 * stopping on fitness (0.1·mAP50 + 0.9·mAP50-95), atomic last/best checkpoints,
 * exact resume, Ctrl-C checkpointing and a diagnosis of non-finite losses.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { AugmentHyp } from '../data/augment/pipeline.js';
import { type Batch, DataLoader } from '../data/loader.js';
import { datasetSplit, loadDetectionDatasetAsync } from '../data/resolve.js';
import { computeDatasetStats } from '../data/stats.js';
import { type BadInput, boxSizesAtImageSize, type ImageRecord } from '../data/types.js';
import { applyImageReport, describeImageReport, verifyImages } from '../data/verify.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { MODEL_JSON } from '../io/file-handler.js';
import type { TaskName } from '../models/config.js';
import { type ModelConfig, parseModelConfig } from '../models/config.js';
import { configForDataset } from '../models/dataset-config.js';
import { Detector } from '../models/detector.js';
import { fitImageSize, maxStrideOf } from '../models/image-size.js';
import { resolveModelConfig } from '../models/zoo.js';
import { withTrace } from '../nn/module.js';
import { plotDatasetStats } from '../plot/data-stats.js';
import { autoAnchor } from '../tasks/detect/anchors.js';
import type { DetectionHyp } from '../tasks/detect/loss.js';
import { checkTaskLabels, datasetLabelInfo, isMultiTask, multiTaskLoss, type TaskLossItems } from '../tasks/multitask.js';
import { taskSpecs } from '../tasks/registry.js';
import type { TaskSpec } from '../tasks/types.js';
import { ProgressBar } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { loadTrainState, STATE_JSON, saveTrainCheckpoint, type TrainMeta } from './checkpoint.js';
import { ModelEma } from './ema.js';
import { clipGradNorm, GroupedOptimizer, type OptimizerName } from './optimizer.js';
import { ReplicaPool } from './parallel/replica-pool.js';
import { writeTrainPlots } from './plots.js';
import { type EpochRow, fitness, LEAD_COLUMNS, writeResultsCsv } from './results.js';
import { scheduleAt } from './schedule.js';
import type { ValidationResult } from './validate.js';
import { validateNetwork } from './validate-network.js';

export interface TrainOptions {
  data: string;
  model: string;
  epochs: number;
  batch: number;
  imgsz?: number;
  weights?: string;
  /** Run directory (or true: the latest run in project) to resume. */
  resume?: string | true;
  project: string;
  name: string;
  seed: number;
  /**
   * Compute threads. 0: everything on the main thread; 1: the model on the main
   * thread, data loading in one worker thread; N ≥ 2: N model replicas in worker
   * threads (data parallel; capped by the batch) and data loading on the main
   * thread, which is otherwise idle while they compute.
   */
  workers: number;
  /** With N ≥ 2 replicas: batch-norm statistics over the whole batch instead of each replica's shard. */
  syncBn?: boolean;
  /** 'auto' (Ultralytics' rule): AdamW for short runs (≤ 10 000 optimiser steps), SGD for long ones. */
  optimizer: OptimizerName | 'auto';
  lr0?: number;
  patience: number;
  cache: boolean;
  /** Split to validate on (BCCD is validated on 'test'). */
  valSplit: string;
  /** Skip (and count) missing or corrupt images instead of aborting. */
  skipBad?: boolean;
  /** Nominal batch size: gradients are accumulated over round(nbs / batch) batches (default 64). */
  nbs?: number;
  hyp?: Partial<AugmentHyp>;
  /** Loss hyper-parameters (gains box 0.05, obj 1.0, cls 0.5; box loss kind; label smoothing …). */
  lossHyp?: Partial<DetectionHyp>;
  /** Task heads to train (default: the model config's, detect for the zoo). */
  tasks?: TaskName[];
  /** Fixed loss weight per task (defaults: tasks/multitask.ts DEFAULT_TASK_WEIGHTS). */
  taskWeights?: Partial<Record<TaskName, number>>;
  /** Learn the task weights by homoscedastic uncertainty instead of fixed weights. */
  uncertainty?: boolean;
  /** Dice weight added to the segmentation cross-entropy (default 0). */
  dice?: number;
  /** Model config fields to override (config file keys, e.g. { implicit: { align: 'mul' } }): ablations. */
  modelOverrides?: Record<string, unknown>;
  /** Freeze the first N encoder stages (1: stem and stage1, 2: … stage2, …, 5: the backbone, 6: and the neck). */
  freeze?: number;
  /** Use only the first N training / validation images (quick runs, ablation smoke tests). */
  limitTrain?: number;
  limitVal?: number;
  /** Stop after this many training batches in total (tests; simulating an interruption). */
  maxBatches?: number;
  quiet?: boolean;
}

export interface TrainResult {
  runDir: string;
  rows: EpochRow[];
  best: { epoch: number; fitness: number };
  stoppedEarly: boolean;
  interrupted: boolean;
  /** Images of the train and validation splits that the pre-flight check skipped (--skip-bad), with their problems. */
  skippedImages: BadInput[];
}

function uniqueRunDir(project: string, name: string): string {
  let dir = resolve(project, name);
  for (let k = 2; existsSync(dir); k++) dir = resolve(project, `${name}${k}`);
  return dir;
}

function log(quiet: boolean | undefined, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

class NonFiniteLoss extends Error {}

/** Finds the first layer whose activations, or the first parameter whose gradients, are not finite. */
function diagnoseNonFinite(model: Detector, batch: Batch): string {
  const x = tf.tensor4d(batch.images, batch.shape);
  const { layers } = withTrace(
    () =>
      tf.tidy(() => {
        model.forwardTasks(x);
      }),
    { checkFinite: true },
  );
  x.dispose();
  const bad = layers.find((l) => l.finite === false);
  if (bad) return `first non-finite activation: ${bad.name} (${bad.type})`;
  const p = model.parameters().find((q) => q.group !== 'buffer' && !tf.tidy(() => tf.all(tf.isFinite(q.variable)).dataSync()[0]));
  return p ? `first non-finite parameter: ${p.name}` : 'activations and parameters are finite: the loss itself overflowed';
}

/** Running sums of a batch's loss items over an epoch (`n`: batches). */
type LossSums = Record<string, number> & { n: number };

/** The running losses shown on the progress bar: each task's reported parts. */
function progressLosses(specs: readonly TaskSpec[], s: LossSums): Record<string, string> {
  const n = Math.max(s.n, 1);
  const out: Record<string, string> = {};
  for (const spec of specs) for (const [label, key] of spec.progress) out[label] = ((s[key] ?? 0) / n).toFixed(4);
  return out;
}

/** results.csv columns of an epoch: each task's training-loss means (NaN for a lead task not trained) and validation columns. */
function taskColumns(specs: readonly TaskSpec[], val: Record<string, number>, s: LossSums): Record<string, number> {
  const n = Math.max(s.n, 1);
  const out: Record<string, number> = {};
  for (const c of LEAD_COLUMNS) out[c] = Number.NaN;
  for (const spec of specs) for (const [column, key] of Object.entries(spec.trainColumns)) out[column] = (s[key] ?? 0) / n;
  return Object.assign(out, val);
}

/** The one-line per-epoch summary: every task's losses and main metrics. */
function epochSummary(r: EpochRow, specs: readonly TaskSpec[]): string {
  return specs.map((spec) => spec.summary(r)).join(' | ');
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  // ---- resume: the run directory, its args and its training state
  let resumeDir: string | null = null;
  if (opts.resume) {
    resumeDir = opts.resume === true ? latestRun(resolve(opts.project)) : resumableRun(opts.resume);
    const saved = parseYaml(readFileSync(join(resumeDir, 'args.yaml'), 'utf8')) as Partial<TrainOptions>;
    opts = { ...opts, ...saved, resume: resumeDir, maxBatches: opts.maxBatches, quiet: opts.quiet };
  }
  // ---- data
  const ds = await loadDetectionDatasetAsync(opts.data);
  const say = (line: string): void => log(opts.quiet, line);
  const first = (records: ImageRecord[], n: number | undefined): ImageRecord[] => (n === undefined ? records : records.slice(0, n));
  // Every image decoded once before training (verdicts cached by path, size and mtime): bad ones abort the run or are skipped.
  const skippedImages: BadInput[] = [];
  const checked = async (split: string, records: ImageRecord[]): Promise<ImageRecord[]> => {
    const report = await verifyImages(records, { workers: opts.workers, progress: !opts.quiet, label: `check ${split}`, log: say });
    say(`image check, ${split}: ${describeImageReport(report)}`);
    const kept = applyImageReport(split, report, opts.skipBad ?? false, say);
    skippedImages.push(...report.bad);
    return kept;
  };
  const trainRecords = await checked('train', first(datasetSplit(ds, 'train'), opts.limitTrain));
  const valRecords = await checked(opts.valSplit, first(datasetSplit(ds, opts.valSplit), opts.limitVal));
  const fatal = ds.bad.filter((b) => b.action === 'fatal');
  if (fatal.length) throw new Error(`${ds.source}: ${fatal.length} unusable inputs, first: ${fatal[0]!.file}: ${fatal[0]!.problem}`);
  // ---- model config: classes from the data; anchors checked against its boxes
  let cfg: ModelConfig = resolveModelConfig(opts.model);
  const labelInfo = datasetLabelInfo(ds);
  const tasks = opts.tasks ?? cfg.tasks;
  checkTaskLabels(tasks, labelInfo, ds.source);
  cfg = configForDataset(
    cfg,
    { names: ds.names, info: labelInfo },
    { tasks, overrides: opts.modelOverrides ?? {}, uncertainty: opts.uncertainty ?? false },
  );
  const multi = isMultiTask(cfg.tasks);
  const specs = taskSpecs(cfg.tasks);
  const fitted = fitImageSize(opts.imgsz ?? cfg.dims.imgsz, maxStrideOf(cfg), cfg.name);
  if (fitted.warning) say(`warning: ${fitted.warning}`);
  const imgsz = fitted.imgsz;
  // Recorded in the checkpoints: where the validation images are (serve-demo opens on a few of them).
  const valData = { source: existsSync(resolve(opts.data)) ? resolve(opts.data) : opts.data, split: opts.valSplit };
  const runDir = resumeDir ?? uniqueRunDir(opts.project, opts.name);
  mkdirSync(join(runDir, 'weights'), { recursive: true });
  const state = resumeDir ? await loadTrainState(join(resumeDir, 'weights', 'last')) : null;
  if (state) {
    cfg = parseModelConfig(
      (JSON.parse(readFileSync(join(resumeDir!, 'weights', 'last', 'model.json'), 'utf8')) as { userDefinedMetadata: { config: unknown } })
        .userDefinedMetadata.config,
      'checkpoint',
    );
  } else {
    const aa = autoAnchor(boxSizesAtImageSize(trainRecords, imgsz), cfg.anchors, { rng: new Rng(opts.seed) });
    log(
      opts.quiet,
      `autoanchor: best possible recall ${aa.before.bpr.toFixed(4)}, anchors above threshold ${aa.before.aat.toFixed(2)}` +
        (aa.changed ? ` → ${aa.after.bpr.toFixed(4)} / ${aa.after.aat.toFixed(2)} with new anchors` : ' (kept)'),
    );
    if (aa.changed) cfg = { ...cfg, anchors: aa.anchors };
    await writeFileAtomic(join(runDir, 'args.yaml'), toYaml({ ...opts, resume: undefined, maxBatches: undefined, quiet: undefined, imgsz }));
    // The label distribution of the training split (class counts, box sizes, boxes per image).
    await plotDatasetStats(computeDatasetStats(ds, trainRecords, 'train'), join(runDir, 'labels.png'));
  }
  const model = new Detector(cfg, opts.seed);
  if (opts.weights && !state) {
    // By name and shape: an encoder from `yolor pretrain`, a detector of another class count, … (what is not matched keeps its initialisation).
    const { loadMatchingWeights, describeMatchedLoad } = await import('../models/checkpoint.js');
    const { resolveWeights } = await import('../models/pretrained.js');
    const dir = resolveWeights(opts.weights);
    const r = await loadMatchingWeights(model, dir);
    if (!r.loaded.length)
      throw new Error(`--weights ${opts.weights}: no tensor of ${dir} matches ${cfg.name} by name and shape (another architecture?)`);
    say(describeMatchedLoad(r, opts.weights));
  }
  const frozen = frozenPrefixes(opts.freeze ?? 0);
  if (frozen.length) say(`freeze: ${frozen.join(', ')} (not updated; their batch norm statistics still follow the data)`);
  // ---- optimiser, schedule, EMA
  const nbs = opts.nbs ?? 64;
  const accumulate = Math.max(Math.round(nbs / opts.batch), 1);
  const choice = chooseOptimizer(opts.optimizer, {
    steps: opts.epochs * Math.ceil(trainRecords.length / Math.max(opts.batch, nbs)),
    nc: cfg.nc,
    lr0: opts.lr0,
  });
  if (opts.optimizer === 'auto' && !state) log(opts.quiet, `optimizer: auto → ${choice.name} (lr0 ${choice.lr0}, momentum ${choice.momentum})`);
  const lr0 = choice.lr0;
  const optimizer = new GroupedOptimizer(model, {
    frozen: (name) => frozen.some((p) => name === p || name.startsWith(`${p}.`)),
    name: choice.name,
    lr: lr0,
    momentum: choice.momentum,
    weightDecay: (5e-4 * (opts.batch * accumulate)) / nbs,
  });
  const ema = new ModelEma(model);
  let replicas = Math.max(1, Math.min(opts.workers, opts.batch));
  if (multi && replicas > 1 && (opts.dice ?? 0) > 0) {
    log(opts.quiet, '--dice: the Dice term is a ratio of whole-batch sums, which data-parallel shards cannot split: training on one model replica');
    replicas = 1;
  }
  const loaderWorkers = replicas > 1 ? 0 : Math.min(opts.workers, 1);
  const loader = new DataLoader({
    records: trainRecords,
    imgsz,
    batchSize: opts.batch,
    train: true,
    seed: opts.seed,
    workers: loaderWorkers,
    cache: opts.cache,
    hyp: opts.hyp ?? {},
    extras: specs.some((t) => t.needsExtras),
    numClasses: cfg.nc,
  });
  const nb = loader.batchesPerEpoch;
  const totalSteps = Math.ceil((opts.epochs * nb) / accumulate);
  const warmupSteps = Math.min(Math.max(Math.round((3 * nb) / accumulate), 3), Math.floor(totalSteps * 0.3));
  // Biases warm up from a higher rate with SGD (YOLOv5's 0.1); with AdamW a step moves every
  // parameter by about the learning rate whatever its gradient, so 0.1 would throw the biases
  // (and the objectness/class priors) far off: they ramp up from 0 like the other groups.
  const warmupBiasLr = choice.name === 'sgd' ? 0.1 : 0;
  const sched = {
    lr0,
    lrf: 0.01,
    epochs: opts.epochs,
    kind: 'cosine' as const,
    warmupSteps,
    warmupBiasLr,
    warmupMomentum: 0.8,
    momentum: choice.momentum,
  };

  let meta: TrainMeta = { epoch: 0, batch: 0, step: 0, emaUpdates: 0, bestFitness: -1, bestEpoch: -1 };
  let rows: EpochRow[] = [];
  if (state) {
    model.loadStateDict(state.model);
    ema.loadState(state.ema, state.meta.emaUpdates);
    optimizer.loadState(state.optimizer, state.meta.step);
    meta = state.meta;
    rows = (meta.rows as EpochRow[] | undefined) ?? [];
    state.dispose();
    log(opts.quiet, `resuming ${runDir} at epoch ${meta.epoch + 1}, batch ${meta.batch}`);
  }
  const names = ds.names;
  const evalModel = new Detector(cfg);
  let pool: ReplicaPool | null = null;
  if (replicas > 1) {
    pool = await ReplicaPool.start(model, {
      replicas,
      syncBn: opts.syncBn ?? false,
      lossHyp: opts.lossHyp ?? {},
      ...(multi ? { taskLoss: { weights: opts.taskWeights ?? {}, dice: 0 } } : {}),
    });
    log(opts.quiet, `data parallel: ${replicas} replicas (worker threads), ${opts.syncBn ? 'synchronised' : 'per-replica'} batch norm`);
  }
  let publishNeeded = true;
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  const saveLast = async (extra: Partial<TrainMeta>): Promise<void> => {
    await saveTrainCheckpoint(join(runDir, 'weights', 'last'), {
      model,
      ema: ema.state(),
      optimizer: optimizer.state(),
      meta: { ...meta, ...extra, emaUpdates: ema.updates, step: optimizer.step, rows },
      modelMeta: { names, attributes: labelInfo.attributes, epoch: meta.epoch, imgsz, data: valData },
    });
  };
  let stoppedEarly = false;
  let batchesRun = 0;
  let lastVal: ValidationResult | null = null;
  const taskLossOpts = { lossHyp: opts.lossHyp ?? {}, weights: opts.taskWeights ?? {}, dice: opts.dice ?? 0 };
  try {
    for (let epoch = meta.epoch; epoch < opts.epochs; epoch++) {
      const startBatch = epoch === meta.epoch ? meta.batch : 0;
      meta.epoch = epoch;
      const t0 = performance.now();
      const bar = opts.quiet ? null : new ProgressBar({ total: nb, label: `epoch ${epoch + 1}/${opts.epochs}`, unit: 'batch' });
      // Running loss sums of the epoch; restored when resuming inside it so that its row is complete.
      const sums: LossSums = startBatch > 0 && meta.partial ? { ...(meta.partial as LossSums) } : { n: 0 };
      let acc: Record<string, tf.Tensor> | null = null;
      let inAcc = 0;
      let bi = 0;
      let images = 0;
      model.train();
      for await (const batch of loader.epoch(epoch)) {
        if (bi < startBatch) {
          bi++;
          continue;
        }
        let items: TaskLossItems = { total: 0 };
        let grads: Record<string, tf.Tensor>;
        if (pool) {
          if (publishNeeded) pool.publish();
          publishNeeded = false;
          ({ grads, items } = await pool.step(batch.images, batch.shape, batch.targets, batch));
        } else {
          // Detection alone is the same loss (B·(box + obj + cls), weight 1) as detectionLoss's total.
          const r = tf.variableGrads(() => {
            const out = model.forwardTasks(tf.tensor4d(batch.images, batch.shape));
            const l = multiTaskLoss(model, out, batch, taskLossOpts);
            items = l.items;
            return l.total;
          }, optimizer.variables);
          r.value.dispose();
          grads = r.grads;
        }
        if (!Number.isFinite(items.total)) {
          tf.dispose(Object.values(grads));
          throw new NonFiniteLoss(
            `non-finite loss at epoch ${epoch + 1}, batch ${bi} (optimiser step ${optimizer.step}); ` +
              `images: ${batch.files.slice(0, 4).join(', ')}${batch.files.length > 4 ? ', …' : ''}; ${diagnoseNonFinite(model, batch)}`,
          );
        }
        if (acc === null) acc = grads;
        else {
          for (const k of Object.keys(grads)) {
            const sum = tf.add(acc[k]!, grads[k]!);
            acc[k]!.dispose();
            grads[k]!.dispose();
            acc[k] = sum;
          }
        }
        inAcc++;
        bi++;
        batchesRun++;
        images += batch.shape[0];
        for (const [k, v] of Object.entries(items)) if (k !== 'total') sums[k] = (sums[k] ?? 0) + v;
        sums.n++;
        const lastOfEpoch = bi === nb;
        if (inAcc >= accumulate || lastOfEpoch) {
          const s = scheduleAt(optimizer.step, epoch, sched);
          Object.assign(optimizer.lr, s.lr);
          optimizer.momentum = s.momentum;
          clipGradNorm(acc!, 10);
          optimizer.apply(acc!);
          publishNeeded = true;
          tf.dispose(Object.values(acc!));
          acc = null;
          inAcc = 0;
          ema.update();
          if (interrupted || (opts.maxBatches !== undefined && batchesRun >= opts.maxBatches)) {
            await saveLast({ epoch, batch: bi, partial: { ...sums } });
            interrupted = true;
            break;
          }
        }
        bar?.tick(1, progressLosses(specs, sums));
      }
      bar?.finish();
      if (acc) tf.dispose(Object.values(acc));
      if (interrupted) {
        log(opts.quiet, `interrupted: saved ${join(runDir, 'weights', 'last')} (resume with 'yolor train --resume ${runDir}')`);
        break;
      }
      // ---- validate the EMA weights
      ema.copyTo(evalModel);
      const valOpts = { imgsz, batchSize: opts.batch, workers: loaderWorkers, progress: !opts.quiet, keepFirstBatch: true, pool };
      const v = await validateNetwork(evalModel, valRecords, names, valOpts);
      if (pool && v.detection) publishNeeded = true;
      lastVal = v.detection;
      const lr = optimizer.lr;
      const row: EpochRow = {
        ...taskColumns(specs, v.columns, sums),
        epoch: epoch + 1,
        'lr/pg0': lr.weight,
        'lr/pg1': lr.bn,
        'lr/pg2': lr.bias,
        time: (performance.now() - t0) / 1000,
      };
      rows.push(row);
      const fit = fitness(row);
      const improved = fit > meta.bestFitness;
      if (improved) {
        meta.bestFitness = fit;
        meta.bestEpoch = epoch;
      }
      meta.epoch = epoch + 1;
      meta.batch = 0;
      await saveLast({});
      if (improved) {
        await saveTrainCheckpoint(join(runDir, 'weights', 'best'), {
          model,
          ema: ema.state(),
          optimizer: optimizer.state(),
          meta: { ...meta, emaUpdates: ema.updates, step: optimizer.step, rows },
          modelMeta: { names, attributes: labelInfo.attributes, epoch: epoch + 1, fitness: fit, imgsz, data: valData },
        });
      }
      await writeResultsCsv(join(runDir, 'results.csv'), rows);
      await writeTrainPlots(runDir, rows, lastVal, names, false);
      log(
        opts.quiet,
        `epoch ${epoch + 1}/${opts.epochs}: ${epochSummary(row, specs)} | ` +
          `${(images / ((performance.now() - t0) / 1000)).toFixed(1)} img/s, ${row.time.toFixed(0)} s`,
      );
      if (epoch - meta.bestEpoch >= opts.patience) {
        stoppedEarly = true;
        log(opts.quiet, `early stop: no fitness improvement for ${opts.patience} epochs (best epoch ${meta.bestEpoch + 1})`);
        break;
      }
    }
    if (!interrupted && rows.length) await writeTrainPlots(runDir, rows, lastVal, names, true);
  } catch (err) {
    if (err instanceof NonFiniteLoss) {
      log(opts.quiet, `stopped: ${err.message}; the last good checkpoint is ${join(runDir, 'weights', 'last')}`);
    }
    const msg = (err as Error).message ?? '';
    if (/Aborted\(\)|memory access out of bounds|Cannot enlarge memory|out of memory/i.test(msg)) {
      throw new Error(
        `the WebAssembly heap ran out of memory training ${cfg.name} at batch ${opts.batch} × ${imgsz} px ` +
          `(reduce --batch or --imgsz; the last good checkpoint is ${join(runDir, 'weights', 'last')})`,
      );
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await pool?.close();
    await loader.close();
    optimizer.dispose();
    ema.dispose();
    model.dispose();
    evalModel.dispose();
  }
  return { runDir, rows, best: { epoch: meta.bestEpoch + 1, fitness: meta.bestFitness }, stoppedEarly, interrupted, skippedImages };
}

/** The encoder's stages in order, as `--freeze N` counts them (stage 1 includes the stem). */
export const FREEZE_STAGES: readonly (readonly string[])[] = [
  ['backbone.stem', 'backbone.stage1'],
  ['backbone.stage2'],
  ['backbone.stage3'],
  ['backbone.stage4'],
  ['backbone.stage5'],
  ['neck'],
];

/** The module prefixes `--freeze n` freezes. */
export function frozenPrefixes(n: number): string[] {
  if (!Number.isInteger(n) || n < 0 || n > FREEZE_STAGES.length)
    throw new Error(`--freeze ${n}: expected 0 to ${FREEZE_STAGES.length} (stages 1–5 of the backbone, 6 the neck)`);
  return FREEZE_STAGES.slice(0, n).flat();
}

/**
 * The optimiser, initial learning rate and momentum. 'auto' follows Ultralytics:
 * SGD (lr 0.01, momentum 0.937) when the run has more than 10 000 optimiser steps,
 * otherwise AdamW with lr = 0.002·5 / (4 + nc) and β₁ = 0.9 — adaptive steps make
 * much faster progress in the few hundred steps of a short run. An explicit `lr0`
 * always wins.
 */
export function chooseOptimizer(
  requested: OptimizerName | 'auto',
  run: { steps: number; nc: number; lr0?: number },
): { name: OptimizerName; lr0: number; momentum: number } {
  let name: OptimizerName;
  if (requested === 'auto') name = run.steps > 10_000 ? 'sgd' : 'adamw';
  else name = requested;
  if (name === 'sgd') return { name, lr0: run.lr0 ?? 0.01, momentum: 0.937 };
  const fit = Math.round(((0.002 * 5) / (4 + run.nc)) * 1e6) / 1e6;
  return { name, lr0: run.lr0 ?? (requested === 'auto' ? fit : 0.001), momentum: requested === 'auto' ? 0.9 : 0.937 };
}

/**
 * The run directory that `--resume PATH` names — the run folder, or its
 * weights/last checkpoint — checked for what resuming reads, with an error
 * naming what is missing.
 */
function resumableRun(path: string): string {
  let dir = resolve(path);
  if (!existsSync(dir)) throw new Error(`--resume ${path}: no such run directory (${dir})`);
  if (!statSync(dir).isDirectory()) throw new Error(`--resume ${path}: not a directory; give the run folder (e.g. runs/train/exp)`);
  if (existsSync(join(dir, STATE_JSON)) && basename(dir) === 'last' && basename(dirname(dir)) === 'weights') dir = dirname(dirname(dir));
  if (!existsSync(join(dir, 'args.yaml'))) throw new Error(`--resume ${path}: ${dir} is not a training run folder (no args.yaml)`);
  const last = join(dir, 'weights', 'last');
  for (const f of [STATE_JSON, MODEL_JSON]) {
    if (!existsSync(join(last, f))) throw new Error(`--resume ${path}: the run has no resumable checkpoint (${join(last, f)} is missing)`);
  }
  return dir;
}

/** The most recently modified run directory under `project` that has a last checkpoint. */
function latestRun(project: string): string {
  if (!existsSync(project)) throw new Error(`--resume: no runs under ${project} (the directory does not exist)`);
  const runs = readdirSync(project)
    .map((d) => join(project, d))
    .filter((d) => existsSync(join(d, 'weights', 'last', 'state.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!runs[0]) throw new Error(`--resume: no run with a last checkpoint under ${project}`);
  return runs[0];
}
