/**
 * What a task is, as one record: the contract every task of the unified network
 * fulfils so that the model, the trainer, validation, prediction, results and the
 * data-parallel replicas can loop over the task table (tasks/registry.ts) without
 * naming a task. A task lives in its own folder (src/tasks/<name>/) and exports
 * one TaskSpec from its index.ts.
 *
 * Layering: tasks sit on nn/ (layers), eval/ (metrics) and data/ (batches); the
 * model (models/detector.ts) assembles the heads the specs build, so nothing
 * here imports models/. A ModelConfig satisfies TaskModelConfig and a Detector
 * satisfies TaskNetwork structurally.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { AlignOp, ImplicitConfig, ImplicitKind } from '../nn/implicit.js';
import type { BuildContext, Module } from '../nn/module.js';
import type { DetectionHyp } from './detect/loss.js';

/** The parts of a model config the task heads and losses read (a ModelConfig has them all). */
export interface TaskModelConfig {
  name: string;
  nc: number;
  anchors: Array<Array<[number, number]>>;
  implicit: ImplicitConfig;
  /** Each non-detection head's own implicit code at its input (none | add | mul | concat). */
  taskImplicit: AlignOp;
  numLabels: number;
  numIdentities: number;
  embedDim: number;
  dims: { imgsz: number };
  tasks: readonly string[];
}

/** Where a head sits: the shared representation's levels (the neck's outputs, finest first). */
export interface HeadBuildContext extends BuildContext {
  config: TaskModelConfig;
  channels: number[];
  strides: number[];
  /** Depth of the separable-conv stack before prediction convs the neck family asks for (BiFPN; else 0). */
  headDepth: number;
}

/** The options of a task's implicit code (the config's task_implicit, modelled as implicit.kind). */
export function taskCodeOptions(cfg: TaskModelConfig): { op: AlignOp; kind: ImplicitKind; sigma: number; concatChannels: number } {
  return { op: cfg.taskImplicit, kind: cfg.implicit.kind, sigma: cfg.implicit.sigma, concatChannels: cfg.implicit.concatChannels };
}

/** A task head: a module reading the shared feature maps (finest first) of an input of size [H, W]. */
export interface TaskHead<Out = unknown> extends Module {
  forward(features: tf.Tensor4D[], inputSize: [number, number]): Out;
}

/** The model as the losses see it: its config, output strides, task heads and learned task weights. */
export interface TaskNetwork {
  readonly config: TaskModelConfig;
  readonly strides: readonly number[];
  readonly heads: Readonly<Record<string, TaskHead | undefined>>;
  readonly taskBalance: { weigh(task: string, loss: tf.Scalar, share?: number): tf.Scalar } | null;
}

/** The labels of a batch the tasks train on (a loader Batch has these fields). */
export interface TaskBatch {
  shape: [number, number, number, number];
  /** Detection target rows [image, cls, cx, cy, w, h] (after augmentation). */
  targets: Float32Array;
  /** Image-level multi-hot labels [B × L]. */
  labels?: Float32Array;
  /** Class maps [B × H × W], 0 background, c + 1 class c. */
  semantic?: Uint8Array;
  /** Identity per target row (−1 unknown). */
  identity?: Int32Array;
}

/** A validation batch: a TaskBatch plus where each letterboxed image came from. */
export interface TaskEvalBatch extends TaskBatch {
  originals: ReadonlyArray<{ padX: number; padY: number; scale: number; width: number; height: number } | undefined>;
}

/** Options of the multi-task loss that individual tasks read. */
export interface TaskLossOptions {
  lossHyp?: Partial<DetectionHyp>;
  /** Dice weight of the segmentation loss. */
  dice?: number;
}

/**
 * The whole batch's normalisers when a batch is one data-parallel shard of it:
 * its image count and what each task counted over the whole batch (detection:
 * positives per level; embeddings: picked cells). Plain numbers, so that they
 * cross to worker threads.
 */
export interface TaskGlobalCounts {
  batch: number;
  tasks: Record<string, number[]>;
}

export interface TaskLossContext<Out, Head> {
  net: TaskNetwork;
  head: Head;
  out: Out;
  batch: TaskBatch;
  options: TaskLossOptions;
  /** This shard's share of the whole batch's images (1 without sharding). */
  share: number;
  /** The whole batch's counts of this task (sharded batches only; see globalCounts). */
  global?: number[];
  /** The whole batch's image count (sharded batches only). */
  globalBatch?: number;
  /** A value computed once per loss evaluation and shared between tasks (e.g. the detection target assignment). */
  memo<T>(key: string, make: () => T): T;
}

export interface TaskLossResult {
  /** The task's per-image loss L_T (a shard's part of the whole batch's). */
  loss: tf.Scalar;
  /** Reported parts (plain numbers), keyed as in the task's `progress` and `trainColumns`. */
  items: Record<string, number>;
}

/** What a validation pass measured for one task. */
export interface TaskEvaluation {
  /** results.csv columns: validation loss and metrics. */
  columns: Record<string, number>;
  /** `yolor val --json`'s `tasks.<name>`. */
  report: Record<string, unknown>;
  /** `yolor val`'s line for the task. */
  text: string;
}

/** Accumulates a task's predictions over a validation pass (detectron2's evaluator contract). */
export interface TaskEvaluator<Out> {
  reset(): void;
  /** One batch and the network's outputs for it (called inside a tf.tidy). */
  process(batch: TaskEvalBatch, out: Out): void;
  evaluate(): TaskEvaluation;
}

/** One image's prediction context for `yolor predict`. */
export interface TaskPredictContext<Out> {
  net: TaskNetwork;
  /** The head's output for the one letterboxed image. */
  out: Out;
  /** The letterboxed input size [H, W] and where the original image sits in it. */
  input: [number, number];
  letterbox: { padX: number; padY: number; scale: number };
  image: { width: number; height: number; data: Uint8Array };
  /** Names of the image-level labels (classes, then attributes). */
  labelNames: readonly string[];
  /** Class names. */
  names: readonly string[];
  /** The detections of the image (original pixels), when the model detects. */
  detections: ReadonlyArray<{ box: [number, number, number, number]; cls: number; score: number }>;
  /** File stem of the image, for files written beside its prediction. */
  stem: string;
  /** Probability from which an image-level label counts as present (default 0.5). */
  labelThreshold?: number;
}

/** What a task adds to `yolor predict`'s output for one image. */
export interface TaskPrediction {
  /** Fields of the image's entry in tasks.json. */
  json?: Record<string, unknown>;
  /** Files written into the output folder (name → bytes). */
  files?: Record<string, Uint8Array>;
  /** A line for the console. */
  line?: string;
  /** The raw values, for library callers. */
  value?: unknown;
}

/** What a dataset provides beyond boxes and classes. */
export interface DatasetLabelInfo {
  /** Attribute names (e.g. colours) for multi-label classification; [] when none. */
  attributes: string[];
  /** Per-instance masks (semantic segmentation). */
  masks: boolean;
  /** Distinct identity ids (embeddings); 0 when the dataset has none. */
  numIdentities: number;
}

export interface TaskSpec<Name extends string = string, Out = unknown, Head extends TaskHead<Out> = TaskHead<Out>> {
  name: Name;
  /** One line for listings. */
  description: string;
  /** State-dict name of the head module (checkpoints depend on it). */
  module: string;
  /** What the task trains on, for messages. */
  labels: string;
  /** Whether the loader must deliver image labels, class maps and identities (the multi-task extras). */
  needsExtras: boolean;
  /** Loss weight under fixed weighting. */
  defaultWeight: number;
  /** Throws when the dataset lacks the labels the task needs. */
  checkDataset?(info: DatasetLabelInfo, source: string): void;
  /** Config rules of the task (`fail(field, problem)` throws with the file and the field). */
  checkConfig?(cfg: TaskModelConfig, fail: (field: string, problem: string) => never): void;
  buildHead(ctx: HeadBuildContext): Head;
  /** The whole batch's counts the task's loss normalises by (data-parallel shards), if any. */
  globalCounts?(net: TaskNetwork, batch: TaskBatch, memo: TaskLossContext<Out, Head>['memo']): number[];
  loss(ctx: TaskLossContext<Out, Head>): TaskLossResult;
  /** Running training losses on the progress bar: [label, item key]. */
  progress: ReadonlyArray<readonly [string, string]>;
  /** results.csv columns of the task, in order. */
  columns: readonly string[];
  /** Of those, the ones that are training-loss means: column → item key. */
  trainColumns: Readonly<Record<string, string>>;
  /**
   * 'lead': the columns come right after `epoch` and are always present (NaN when the
   * task is not trained), as detection's are in Ultralytics' results.csv; 'tail':
   * after the learning rates and time, only when trained.
   */
  resultsPlace: 'lead' | 'tail';
  /** The task's fitness from a results row; 'primary' decides alone when finite, 'mean' tasks are averaged otherwise. */
  fitness(row: Readonly<Record<string, number | undefined>>): number | undefined;
  fitnessRole: 'primary' | 'mean';
  /** The one-line epoch summary. */
  summary(row: Readonly<Record<string, number | undefined>>): string;
  /**
   * The evaluator of the shared validation pass over the network's raw outputs. A task
   * without one is evaluated on decoded rows of any runner instead (detection:
   * checkpoints, exports and replica pools alike; train/validate.ts).
   */
  evaluator?(net: TaskNetwork): TaskEvaluator<Out>;
  /** What `yolor predict` writes for one image. */
  predict?(ctx: TaskPredictContext<Out>): TaskPrediction;
}
