/**
 * A unified multi-task model assembled from its config: one shared backbone →
 * neck representation and a head per task — detect (the YOLO head), classify
 * (multi-label), segment (semantic) and embed (JDE embeddings) — each non-detection
 * head with its own task-specific implicit code at its input (`task_implicit`).
 * `forward` returns the raw detection maps (one per level); `forwardTasks` returns
 * every task's raw output. Decoding, losses, NMS and metrics belong to the tasks.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { newFuseReport, type FuseReport } from '../nn/fuse.js';
import { Module } from '../nn/module.js';
import { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';
import { DetectHead } from './head.js';
import { ClassifyHead } from './heads/classify-head.js';
import { EmbedHead } from './heads/embed-head.js';
import { SegmentHead } from './heads/segment-head.js';
import { TaskBalance } from './heads/task-balance.js';
import type { TaskName } from './config.js';
import { BACKBONE_BUILDERS, NECK_BUILDERS } from './registry.js';
import type { Backbone, Neck } from './types.js';

/** Raw outputs of every task head of a model (absent: the model has no such head). */
export interface TaskOutputs {
  /** Detection maps, one per level: [B, h, w, anchors·(5 + nc)]. */
  detect?: tf.Tensor4D[];
  /** Label logits [B, numLabels]. */
  classify?: tf.Tensor2D;
  /** Per-pixel logits [B, H, W, nc + 1] at the input size (channel 0: background). */
  segment?: tf.Tensor4D;
  /** Embedding maps [B, h, w, E], one per level (the detection levels). */
  embed?: tf.Tensor4D[];
}

export class Detector extends Module {
  readonly backbone: Backbone;
  readonly neck: Neck;
  /** The detection head (null for a model without the detect task). */
  readonly head: DetectHead | null;
  readonly classifyHead: ClassifyHead | null = null;
  readonly segmentHead: SegmentHead | null = null;
  readonly embedHead: EmbedHead | null = null;
  /** Learned task weights (task_weighting: uncertainty); training only. */
  taskBalance: TaskBalance | null = null;
  /** Stride of each output level. */
  readonly strides: number[];

  /** Builds the model; `seed` makes the initial weights reproducible. */
  constructor(readonly config: ModelConfig, seed = 0) {
    super();
    const ctx = { rng: new Rng(seed), act: config.activation };
    this.backbone = this.addModule('backbone', BACKBONE_BUILDERS[config.backbone](config, ctx));
    this.neck = this.addModule('neck', NECK_BUILDERS[config.neck](config, this.backbone, ctx));
    this.strides = this.neck.outStrides.slice();
    if (config.anchors.length !== this.strides.length) {
      throw new Error(`${config.name}: ${config.anchors.length} anchor levels for ${this.strides.length} output levels`);
    }
    const na = config.anchors[0]!.length;
    if (!config.anchors.every((l) => l.length === na)) throw new Error(`${config.name}: every level needs the same number of anchors`);
    const tasks = config.tasks;
    this.head = tasks.includes('detect') ? this.addModule('head', new DetectHead({
      inChannels: this.neck.outChannels, strides: this.strides, nc: config.nc, anchorsPerLevel: na,
      depth: config.neck === 'bifpn' ? config.dims.headDepth : 0, imgsz: config.dims.imgsz, implicit: config.implicit, ctx,
    })) : null;
    const code = { op: config.taskImplicit, kind: config.implicit.kind, sigma: config.implicit.sigma, concatChannels: config.implicit.concatChannels };
    const ch = this.neck.outChannels;
    if (tasks.includes('classify')) {
      this.classifyHead = this.addModule('classify_head', new ClassifyHead({ inChannels: ch[ch.length - 1]!, numLabels: config.numLabels, code, ctx }));
    }
    if (tasks.includes('segment')) {
      this.segmentHead = this.addModule('segment_head', new SegmentHead({ inChannels: ch[0]!, nc: config.nc, code, ctx }));
    }
    if (tasks.includes('embed')) {
      this.embedHead = this.addModule('embed_head', new EmbedHead({
        inChannels: ch, embedDim: config.embedDim, numIdentities: config.numIdentities, code, ctx,
      }));
    }
    if (config.taskWeighting === 'uncertainty' && tasks.length > 1) this.taskBalance = this.addModule('task_balance', new TaskBalance(tasks));
    if (config.norm === 'none') this.dropBatchNorm();
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
    if (!this.head) throw new Error(`${this.config.name}: this model has no detection head (tasks: ${this.config.tasks.join(', ')})`);
    this.checkInputSize(x.shape[1], x.shape[2]);
    return this.head.forward(this.neck.forward(this.backbone.forward(x)));
  }

  /** Every task head's raw output from one pass through the shared backbone and neck. */
  forwardTasks(x: tf.Tensor4D): TaskOutputs {
    this.checkInputSize(x.shape[1], x.shape[2]);
    const features = this.neck.forward(this.backbone.forward(x));
    const out: TaskOutputs = {};
    if (this.head) out.detect = this.head.forward(features);
    if (this.classifyHead) out.classify = this.classifyHead.forward(features);
    if (this.segmentHead) out.segment = this.segmentHead.forward(features, [x.shape[1], x.shape[2]]);
    if (this.embedHead) out.embed = this.embedHead.forward(features);
    return out;
  }

  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    if (this.taskBalance) {
      this.removeModule('task_balance');
      this.taskBalance = null;
    }
  }
}
