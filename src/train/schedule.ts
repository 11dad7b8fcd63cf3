/**
 * Learning-rate and momentum schedule (YOLOv5 style): a one-cycle cosine or a
 * linear decay from lr0 to lr0·lrf over the epochs, and a warm-up over the first
 * iterations in which every group ramps linearly to its scheduled rate — biases
 * from warmupBiasLr down, the others from 0 up — and momentum from
 * warmupMomentum to its final value.
 */
import type { GroupName } from './optimizer.js';

export interface ScheduleOptions {
  lr0: number;
  /** Final learning rate as a fraction of lr0. */
  lrf: number;
  epochs: number;
  kind: 'cosine' | 'linear';
  /** Warm-up length in optimiser steps (0 = none). */
  warmupSteps: number;
  warmupBiasLr: number;
  warmupMomentum: number;
  momentum: number;
}

/** The epoch factor λ(e) ∈ [lrf, 1]. */
export function epochFactor(epoch: number, o: Pick<ScheduleOptions, 'epochs' | 'lrf' | 'kind'>): number {
  const t = o.epochs <= 1 ? 0 : Math.min(epoch / (o.epochs - 1), 1);
  if (o.kind === 'linear') return (1 - t) * (1 - o.lrf) + o.lrf;
  return ((1 - Math.cos(t * Math.PI)) / 2) * (o.lrf - 1) + 1;
}

function lerp(x: number, x0: number, x1: number, y0: number, y1: number): number {
  if (x1 <= x0) return y1;
  const t = Math.min(Math.max((x - x0) / (x1 - x0), 0), 1);
  return y0 + t * (y1 - y0);
}

/** Learning rate per group and momentum at optimiser step `step` of epoch `epoch`. */
export function scheduleAt(step: number, epoch: number, o: ScheduleOptions): { lr: Record<GroupName, number>; momentum: number } {
  const target = o.lr0 * epochFactor(epoch, o);
  if (step >= o.warmupSteps) {
    return { lr: { weight: target, bias: target, bn: target, implicit: target }, momentum: o.momentum };
  }
  const rise = lerp(step, 0, o.warmupSteps, 0, target);
  const bias = lerp(step, 0, o.warmupSteps, o.warmupBiasLr, target);
  return {
    lr: { weight: rise, bias, bn: rise, implicit: rise },
    momentum: lerp(step, 0, o.warmupSteps, o.warmupMomentum, o.momentum),
  };
}
