/**
 * A unified multi-task model assembled from its config: one shared backbone →
 * neck representation and a head per task of the config, each built by its task's
 * spec (tasks/registry.ts) — detect (the YOLO head), classify, segment, embed,
 * count, … — the non-detection heads with their own task-specific implicit code
 * at their input (`task_implicit`). `forward` returns the raw detection maps (one
 * per level); `forwardTasks` returns every task's raw output. Decoding, losses,
 * NMS and metrics belong to the tasks.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type FuseReport, newFuseReport } from '../nn/fuse.js';
import { Module } from '../nn/module.js';
import type { DetectHead } from '../tasks/detect/head.js';
import { type TaskName, type TaskOutputs, taskSpecs } from '../tasks/registry.js';
import { TaskBalance } from '../tasks/task-balance.js';
import type { TaskHead } from '../tasks/types.js';
import { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';
import { BACKBONE_BUILDERS, NECK_FAMILIES } from './registry.js';
import type { Backbone, Neck } from './types.js';

export type { TaskOutputs } from '../tasks/registry.js';

export class Detector extends Module {
  readonly backbone: Backbone;
  readonly neck: Neck;
  /** The head of each task of the config (state-dict names from the specs: `head`, `classify_head`, …). */
  readonly heads: Partial<Record<TaskName, TaskHead>> = {};
  /** Learned task weights (task_weighting: uncertainty); training only. */
  taskBalance: TaskBalance | null = null;
  /** Stride of each output level. */
  readonly strides: number[];

  /** Builds the model; `seed` makes the initial weights reproducible. */
  constructor(
    readonly config: ModelConfig,
    seed = 0,
  ) {
    super();
    const ctx = { rng: new Rng(seed), act: config.activation };
    this.backbone = this.addModule('backbone', BACKBONE_BUILDERS[config.backbone](config, ctx));
    const neck = NECK_FAMILIES[config.neck];
    this.neck = this.addModule('neck', neck.build(config, this.backbone, ctx));
    this.strides = this.neck.outStrides.slice();
    if (config.anchors.length !== this.strides.length) {
      throw new Error(`${config.name}: ${config.anchors.length} anchor levels for ${this.strides.length} output levels`);
    }
    const na = config.anchors[0]!.length;
    if (!config.anchors.every((l) => l.length === na)) throw new Error(`${config.name}: every level needs the same number of anchors`);
    const headCtx = { ...ctx, config, channels: this.neck.outChannels, strides: this.strides, headDepth: neck.headDepth(config.dims) };
    for (const spec of taskSpecs(config.tasks)) {
      this.heads[spec.name as TaskName] = this.addModule(spec.module, spec.buildHead(headCtx));
    }
    if (config.taskWeighting === 'uncertainty' && config.tasks.length > 1)
      this.taskBalance = this.addModule('task_balance', new TaskBalance(config.tasks));
    if (config.norm === 'none') this.dropBatchNorm();
  }

  /** The detection head (null for a model without the detect task): detection-specific code (decoding, export) reads it. */
  get head(): DetectHead | null {
    return (this.heads.detect as DetectHead | undefined) ?? null;
  }

  /** True for a deploy model made by `fuse()` (batch norm folded: it cannot be trained). */
  deployed = false;

  /**
   * The deploy model: a copy with batch norm folded into the convolutions and the
   * implicit knowledge folded into its neighbours (see nn/fuse.ts), in eval mode.
   * The report lists every fold and every layer kept as a constant op, with why.
   */
  fuse(): { model: Detector; report: FuseReport } {
    const copy = new Detector(this.config);
    copy.loadStateDict(this.stateDict());
    copy.eval();
    const report = newFuseReport();
    copy.fuseInPlace(report);
    copy.deployed = true;
    return { model: copy, report };
  }

  override train(mode = true): this {
    if (mode && this.deployed) throw new Error(`${this.config.name}: a fused (deploy) model cannot be trained`);
    return super.train(mode);
  }

  get maxStride(): number {
    return Math.max(...this.strides);
  }

  /** Throws a clear error unless height and width are positive multiples of the largest stride. */
  checkInputSize(h: number, w: number): void {
    const s = this.maxStride;
    if (h <= 0 || w <= 0 || h % s !== 0 || w % s !== 0) {
      throw new Error(`${this.config.name}: input size ${h}x${w} is not a multiple of the largest stride ${s}`);
    }
  }

  get tasks(): TaskName[] {
    return this.config.tasks;
  }

  /** The raw detection maps; an error for a model without the detect task. */
  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    const head = this.head;
    if (!head) throw new Error(`${this.config.name}: this model has no detection head (tasks: ${this.config.tasks.join(', ')})`);
    this.checkInputSize(x.shape[1], x.shape[2]);
    return head.forward(this.neck.forward(this.backbone.forward(x)));
  }

  /** The shared representation: the neck's feature maps, finest first. */
  features(x: tf.Tensor4D): tf.Tensor4D[] {
    this.checkInputSize(x.shape[1], x.shape[2]);
    return this.neck.forward(this.backbone.forward(x));
  }

  /** Every task head's raw output from one pass through the shared backbone and neck. */
  forwardTasks(x: tf.Tensor4D): TaskOutputs {
    const features = this.features(x);
    const out: Record<string, unknown> = {};
    for (const [name, head] of Object.entries(this.heads)) out[name] = head!.forward(features, [x.shape[1], x.shape[2]]);
    return out as TaskOutputs;
  }

  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    if (this.taskBalance) {
      this.removeModule('task_balance');
      this.taskBalance = null;
    }
  }
}
