/**
 * Interfaces between the parts of a detection model. A backbone turns an image
 * batch into feature maps at increasing strides; a neck mixes them (FPN, PAN,
 * BiFPN) and may add coarser levels; heads predict per level. All NHWC.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module.js';

export interface Backbone extends Module {
  /** Channels of each returned feature map (P3, P4, P5 by default). */
  readonly outChannels: number[];
  /** Stride of each returned feature map relative to the input (8, 16, 32 by default). */
  readonly outStrides: number[];
  forward(x: tf.Tensor4D): tf.Tensor4D[];
  /**
   * Optional: the output of every stage, in order and named (`stage1` … `stage5`
   * for CSP-Darknet), for layer-wise analysis such as the linear probe
   * (models/probe-layers.ts). The maps `forward` returns are the last
   * `outChannels.length` entries, in the same order, so one pass gives both.
   */
  stageFeatures?(x: tf.Tensor4D): Array<[string, tf.Tensor4D]>;
  /** The names `stageFeatures` gives, in its order (present with it). */
  readonly stageNames?: readonly string[];
}

export interface Neck extends Module {
  readonly outChannels: number[];
  readonly outStrides: number[];
  forward(features: tf.Tensor4D[]): tf.Tensor4D[];
}

export type { BuildContext } from '../nn/module.js';

/** Channel count scaled by a width multiple and rounded up to a multiple of 8 (at least 8). */
export function scaleWidth(channels: number, widthMultiple: number): number {
  return Math.max(8, Math.ceil((channels * widthMultiple) / 8) * 8);
}

/** Block repeats scaled by a depth multiple (at least 1). */
export function scaleDepth(repeats: number, depthMultiple: number): number {
  return repeats > 1 ? Math.max(Math.round(repeats * depthMultiple), 1) : repeats;
}
