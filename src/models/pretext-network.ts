/**
 * The network a self-supervised pretraining run trains: the shared encoder of a
 * zoo model (its backbone and neck, built exactly as models/detector.ts builds
 * them, under the same state-dict names `backbone.*` and `neck.*`) and one head
 * per pretext task (`pretext_<task>.*`, built by the task's spec). A detector
 * started from its checkpoint (`yolor train --weights`) loads the encoder by
 * name and shape and initialises its own heads.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Module } from '../nn/module.js';
import { pretextSpecs } from '../pretext/registry.js';
import type { PretextEncoder, PretextOptions, PretextSpec } from '../pretext/types.js';
import { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';
import { BACKBONE_BUILDERS, NECK_FAMILIES } from './registry.js';
import type { Backbone, Neck } from './types.js';

export interface PretextNetworkOptions {
  tasks: readonly string[];
  /** Each task's state (its spec's init(); read back from a checkpoint on resume). */
  states: Readonly<Record<string, unknown>>;
  imgsz: number;
  options: PretextOptions;
  seed?: number;
}

export class PretextNetwork extends Module implements PretextEncoder {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly specs: PretextSpec[];
  readonly heads: Record<string, Module> = {};
  readonly channels: readonly number[];
  readonly strides: readonly number[];

  constructor(
    readonly config: ModelConfig,
    readonly opts: PretextNetworkOptions,
  ) {
    super();
    // The same generator order as Detector: the encoder of PretextNetwork(cfg, seed) is the encoder of Detector(cfg, seed).
    const ctx = { rng: new Rng(opts.seed ?? 0), act: config.activation };
    this.backbone = this.addModule('backbone', BACKBONE_BUILDERS[config.backbone](config, ctx));
    this.neck = this.addModule('neck', NECK_FAMILIES[config.neck].build(config, this.backbone, ctx));
    this.channels = this.neck.outChannels.slice();
    this.strides = this.neck.outStrides.slice();
    this.specs = pretextSpecs(opts.tasks);
    const headCtx = { ...ctx, channels: this.channels, strides: this.strides, imgsz: opts.imgsz, options: opts.options };
    for (const spec of this.specs) this.heads[spec.name] = this.addModule(spec.module, spec.buildHead(headCtx, opts.states[spec.name]));
    if (config.norm === 'none') this.dropBatchNorm();
  }

  get maxStride(): number {
    return Math.max(...this.strides);
  }

  /** The shared representation: the neck's feature maps, finest first. */
  features(x: tf.Tensor4D): tf.Tensor4D[] {
    const [, h, w] = x.shape;
    const s = this.maxStride;
    if (h <= 0 || w <= 0 || h % s !== 0 || w % s !== 0)
      throw new Error(`${this.config.name}: pretext input ${h}x${w} is not a multiple of the largest stride ${s}`);
    return this.neck.forward(this.backbone.forward(x));
  }
}
