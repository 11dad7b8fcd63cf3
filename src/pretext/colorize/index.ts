/**
 * Colourisation (Zhang, Isola & Efros, "Colorful Image Colorization", ECCV 2016):
 * the network sees only the lightness of each image (CIE L*, scaled to 0–1 and
 * replicated into three channels) and predicts its colour, the CIE a*b* channels,
 * at stride 4 (the paper's output resolution, a quarter of the input side): a
 * PixelDecoder on the finest shared level (stride 8, which already carries the
 * neck's top-down path) decodes each cell to its 2×2 stride-4 cells. The ab
 * target of a stride-4 cell is the mean ab of its 4×4 pixels.
 *
 * Variant 'classify' (default, the paper's): ab is quantised on the grid of step
 * 10 to the Q in-gamut bins (Q = 262 computed from sRGB, see bins.ts for why not
 * 313); the target is the soft encoding on the 5 nearest bins (Gaussian, σ = 5);
 * each cell's cross-entropy is weighted by the rebalancing weight of its nearest
 * bin, from the empirical bin distribution smoothed (σ = 5) and mixed with uniform
 * (λ = 0.5), normalised so E_p̃[w] = 1. The distribution is the histogram of the
 * nearest bins of the first 100 batches of the run (each of them also trained
 * with the histogram so far, itself included), then frozen. It is the task's
 * state, updated in place by the loss: the pretraining loop stores that object in
 * its checkpoints, so a resumed run continues it. Reports acc, the per-cell top-1
 * bin accuracy against the nearest bin.
 *
 * Variant 'regress' (`--colorize regress`): predicts ab / 110 (about [−1, 1])
 * directly, smooth L1 with β = 0.1 (≈ 11 ab units: quadratic for small errors,
 * linear beyond); no acc (the state is kept but unused).
 *
 * Cost: the Lab conversion runs in JS over every pixel (table-driven transfer
 * curve, three cube roots), the soft encoding over the stride-4 cells only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PixelDecoder } from '../heads.js';
import type { PretextSpec } from '../types.js';
import { abBins, rebalanceWeights, SOFT_NEIGHBOURS, SoftEncoder } from './bins.js';
import { labPlanes } from './lab.js';

/** The histogram of nearest bins over the first PRIOR_BATCHES batches. */
export interface ColorizeState {
  counts: number[];
  batches: number;
}

export const PRIOR_BATCHES = 100;
/** Output stride of the prediction (when the finest shared stride is a multiple of it). */
export const TARGET_STRIDE = 4;
export const AB_SCALE = 110;
export const SMOOTH_L1_BETA = 0.1;

let encoder: SoftEncoder | null = null;
const softEncoder = (): SoftEncoder => {
  encoder ??= new SoftEncoder(abBins());
  return encoder;
};
const weightCache = new WeakMap<ColorizeState, { batches: number; weights: Float64Array }>();

/** Adds the nearest bins to the histogram while it is still open; the rebalancing weights of the histogram. */
export function priorWeights(state: ColorizeState, nearest: Int32Array): Float64Array {
  if (state.batches < PRIOR_BATCHES) {
    for (const q of nearest) state.counts[q]! += 1;
    state.batches++;
  }
  const hit = weightCache.get(state);
  if (hit && hit.batches === state.batches) return hit.weights;
  const { weights } = rebalanceWeights(state.counts, abBins());
  weightCache.set(state, { batches: state.batches, weights });
  return weights;
}

/** Mean smooth L1 (Huber with threshold β, divided by β) of NHWC maps; rows first, then overall, for float32 accuracy. */
export function smoothL1(pred: tf.Tensor4D, target: tf.Tensor4D, beta = SMOOTH_L1_BETA): tf.Scalar {
  return tf.tidy(() => {
    // 0.5·m²/β + (|d| − m) with m = min(|d|, β): quadratic below β, linear above (differentiable ops only).
    const d = tf.abs(tf.sub(pred, target));
    const m = tf.minimum(d, beta);
    const l = tf.add(tf.div(tf.mul(0.5, tf.square(m)), beta), tf.sub(d, m));
    return tf.mean(tf.mean(l, [2, 3])) as tf.Scalar;
  });
}

export const colorizeTask: PretextSpec<'colorize', PixelDecoder, ColorizeState> = {
  name: 'colorize',
  description: 'colourisation: the L channel in, its ab colours out at stride 4 (soft-encoded in-gamut bins with class rebalancing, or regression)',
  reference: 'Zhang, Isola, Efros, ECCV 2016 (Colorful Image Colorization)',
  module: 'pretext_colorize',
  defaultWeight: 1,
  reportsAccuracy: true,
  init: () => ({ counts: new Array<number>(abBins().length / 2).fill(0), batches: 0 }),
  checkState(state, where) {
    const q = abBins().length / 2;
    const s = state as Partial<ColorizeState> | null;
    const ok =
      s !== null &&
      typeof s === 'object' &&
      Array.isArray(s.counts) &&
      s.counts.length === q &&
      s.counts.every((c) => typeof c === 'number' && Number.isFinite(c) && c >= 0) &&
      Number.isInteger(s.batches) &&
      s.batches! >= 0;
    if (!ok) throw new Error(`${where}: not a colorize state (expected { counts: ${q} bin counts ≥ 0, batches: an integer ≥ 0 })`);
    return { counts: s.counts!.slice(), batches: s.batches! };
  },
  buildHead: (ctx) => {
    const s = ctx.strides[0]!;
    const factor = s % TARGET_STRIDE === 0 ? s / TARGET_STRIDE : 1;
    const out = ctx.options.colorize === 'regress' ? 2 : abBins().length / 2;
    return new PixelDecoder(ctx.channels[0]!, factor, out, ctx);
  },
  loss({ encoder: enc, head, batch, state, options }) {
    const [b, h, w] = batch.shape;
    const cell = enc.strides[0]! / head.stride;
    const { grey, ab } = labPlanes(batch, cell);
    const out = head.forward(enc.features(tf.tensor4d(grey, [b, h, w, 3]))[0]!);
    if (options.colorize === 'regress') {
      const loss = smoothL1(out, tf.div(tf.tensor4d(ab, [b, h / cell, w / cell, 2]), AB_SCALE) as tf.Tensor4D);
      return { loss, items: { loss: loss.dataSync()[0]! } };
    }
    const se = softEncoder();
    const n = ab.length / 2;
    const k = SOFT_NEIGHBOURS;
    const idx = new Int32Array(n * k);
    const wts = new Float32Array(n * k);
    const nearest = new Int32Array(n);
    for (let p = 0; p < n; p++) nearest[p] = se.encode(ab[2 * p]!, ab[2 * p + 1]!, idx, wts, p * k);
    const weights = priorWeights(state, nearest);
    for (let p = 0; p < n; p++) {
      const v = weights[nearest[p]!]!;
      for (let j = 0; j < k; j++) {
        wts[p * k + j]! *= v;
        idx[p * k + j]! += p * se.q;
      }
    }
    const logits = tf.reshape(out, [n, se.q]) as tf.Tensor2D;
    const logp = tf.reshape(tf.logSoftmax(logits), [n * se.q]);
    const picked = tf.mul(tf.gather(logp, tf.tensor1d(idx, 'int32')), tf.tensor1d(wts));
    // Per cell, then per row, then overall: a flat float32 sum over every cell drowns the loss's changes in rounding.
    const perCell = tf.neg(tf.sum(tf.reshape(picked, [n, k]), 1));
    const loss = tf.mean(tf.mean(tf.reshape(perCell, [n / (w / cell), w / cell]), 1)) as tf.Scalar;
    const pred = tf.argMax(logits, 1).dataSync();
    let right = 0;
    for (let p = 0; p < n; p++) if (pred[p] === nearest[p]) right++;
    return { loss, items: { loss: loss.dataSync()[0]!, acc: right / n } };
  },
};
