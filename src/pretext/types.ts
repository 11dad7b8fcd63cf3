/**
 * What a self-supervised pretext task is, as one record: the contract every
 * pretext task fulfils so that the pretraining loop (train/pretrain.ts), the
 * pretext network (models/pretext-network.ts), checkpoints and the conformance
 * suite can loop over the pretext table (pretext/registry.ts) without naming a
 * task. A pretext task lives in its own folder (src/pretext/<name>/) and exports
 * one PretextSpec from its index.ts.
 *
 * A pretext task sees pixels only: its loss gets a batch of unlabelled images
 * (NHWC, values 0–1) and makes its own inputs and targets from them (rotated
 * copies, tiles, masked regions, augmented views …), runs them through the
 * shared encoder (backbone → neck) and its own head. No label of any dataset
 * reaches this layer: PretextBatch has no field for one.
 *
 * Layering: pretext sits on nn/ (layers) and util/; the network that owns the
 * encoder and the heads is assembled in models/, so nothing here imports models/.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BuildContext, Module } from '../nn/module.js';
import type { Rng } from '../util/rng.js';

/** Unlabelled images as the network receives them: NHWC float32, values in [0, 1], square. */
export interface PretextBatch {
  images: Float32Array;
  shape: [number, number, number, number];
}

/** The shared representation as the pretext heads see it. */
export interface PretextEncoder {
  /** The neck's feature maps, finest first, for any input whose sides are multiples of `maxStride`. */
  features(x: tf.Tensor4D): tf.Tensor4D[];
  readonly channels: readonly number[];
  readonly strides: readonly number[];
  readonly maxStride: number;
}

/** Options every pretext task may read (each documents which), with their defaults in pretext/options.ts. */
export interface PretextOptions {
  /** Jigsaw: size of the permutation set (default 100; the paper's 1000 is an option). */
  jigsawPermutations: number;
  /** Contrastive: NT-Xent temperature (default 0.5). */
  temperature: number;
  /** Counting: margin of the contrastive term (default 10). */
  countMargin: number;
  /** Denoising: standard deviation of the Gaussian noise on 0–1 pixels (default 0.1). */
  noiseStd: number;
  /** Inpainting: 'l2' (default) or 'l1' reconstruction loss. */
  inpaintLoss: 'l2' | 'l1';
  /** Colourisation: 'classify' (313 ab bins with class rebalancing, default) or 'regress' (ab by smooth L1). */
  colorize: 'classify' | 'regress';
}

export interface PretextHeadContext extends BuildContext {
  /** Channels and strides of the shared feature maps (finest first). */
  channels: readonly number[];
  strides: readonly number[];
  /** The pretraining image size. */
  imgsz: number;
  options: PretextOptions;
}

export interface PretextLossContext<Head, State> {
  encoder: PretextEncoder;
  head: Head;
  batch: PretextBatch;
  /** Draws this batch's random choices (rotations, tiles, crops, noise): seeded, so a run is reproducible. */
  rng: Rng;
  state: State;
  options: PretextOptions;
}

export interface PretextLossResult {
  /** The task's loss (mean over the batch). */
  loss: tf.Scalar;
  /** Reported parts, plain numbers: `loss` always; `acc` for the classification pretexts. */
  items: { loss: number; acc?: number };
}

export interface PretextSpec<Name extends string = string, Head extends Module = Module, State = unknown> {
  name: Name;
  /** One line for listings. */
  description: string;
  /** Where it comes from (paper), for listings and docs. */
  reference: string;
  /** State-dict name of the head module (`pretext_<name>`). */
  module: string;
  /** Loss weight in a multi-task pretraining run (`--task-weights` overrides). */
  defaultWeight: number;
  /** Whether `items.acc` is reported (a results.csv column `train/<name>_acc`). */
  reportsAccuracy: boolean;
  /**
   * State made once at the start of a run and stored with its checkpoints (JSON),
   * e.g. the jigsaw permutation set; absent for tasks without one.
   */
  init?(options: PretextOptions, rng: Rng): State;
  /** Throws with a clear message when the state read from a checkpoint is not one this task wrote. */
  checkState?(state: unknown, where: string): State;
  buildHead(ctx: PretextHeadContext, state: State): Head;
  /** Makes the task's inputs and targets from the batch, runs the encoder and the head, returns the loss (inside tf.variableGrads). */
  loss(ctx: PretextLossContext<Head, State>): PretextLossResult;
}
