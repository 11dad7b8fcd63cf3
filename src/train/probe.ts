/**
 * The linear-evaluation protocol (`yolor probe`): how much class information a
 * frozen encoder (backbone → neck) carries at each depth.
 *
 * Features. The network is in eval mode (batch norm uses its running
 * statistics). For every chosen layer (`stage1` … `stage5`, `neck`;
 * models/probe-layers.ts) each feature map is average pooled over space —
 * globally (pool 1) or to a fixed k × k grid (adaptive average pooling, bins
 * [⌊i·H/k⌋, ⌈(i+1)·H/k⌉)) — and flattened; the neck's levels are pooled
 * separately and concatenated. Train and test features are computed once per model.
 *
 * Linear probe, per layer: batch norm without affine parameters — every feature
 * standardised with the training features' mean and variance (ε = 1e-5) — then a
 * linear classifier (zero-initialised) trained with softmax cross-entropy by
 * mini-batch SGD: batch 256, momentum 0.9 (v ← 0.9·v + g + λ·w; w ← w − lr·v, as
 * PyTorch), weight decay λ = 5e-4 on the weights (not the biases), learning rate
 * 0.1 decayed per step by a cosine to 0 over the epochs (lr_t = 0.1·½(1 + cos(π·t/T)),
 * T = epochs × ⌈n/256⌉ steps), the training set reshuffled every epoch (seeded). The
 * top-1 accuracy of the final classifier on the test split is reported (no early
 * stopping, nothing tuned on the test split). Plain JavaScript over Float32Arrays:
 * the problem is small (d ≤ a few thousand, ≤ 100 classes) and exactly reproducible.
 *
 * kNN (Wu et al. 2018, "Unsupervised feature learning via non-parametric
 * instance discrimination"): the pooled features L2-normalised; each test item's
 * k nearest training items by cosine similarity (tf.matMul against the
 * transposed bank, batched) vote for their class with weight exp(sim/τ), τ = 0.07;
 * the class with the largest total wins. By default it runs at each model's best
 * linear layer (`knnAll`: every layer); `knnBank` caps the bank at the first N
 * training items of a seeded shuffle (cost is test × bank × d).
 *
 * Rows (same protocol each):
 *   - the checkpoint (a pretext or a detector / multi-task checkpoint);
 *   - random: the same architecture with fresh weights (Detector(config, seed));
 *   - random-rescaled: the same random network, data-dependently rescaled — the
 *     first `rescaleImages` training items of a seeded shuffle go through it in
 *     training mode, in batches; in each pass every batch-norm layer normalises
 *     with that batch's statistics, so every layer sees inputs normalised by all
 *     the layers before it (layer by layer in order, in one pass). Each layer's
 *     running mean and variance are then set to the mean and population variance
 *     of its inputs over all the calibration images and pixels (the batches
 *     combined exactly: momentum 1 over the calibration set), and the network
 *     goes back to eval mode. Without batch norm (norm: none) there is nothing
 *     to rescale and the row is left out;
 *   - supervised (optional upper bound, `supervisedEpochs` > 0): the same random
 *     network plus a linear classifier on the globally pooled coarsest neck level,
 *     trained end to end on the probe's training split with cross-entropy and
 *     AdamW (lr 1e-3, β 0.9/0.999, decoupled weight decay 0.05 on conv/linear
 *     weights; YOLO-style cosine decay to 0.01·lr over the epochs after a linear
 *     warm-up of min(100, one epoch) steps; batch 64, random horizontal flips),
 *     then probed like the others (its own classifier's test top-1 is reported too).
 *
 * Outputs in <project>/<name>/ (name exp, exp2, … when taken): probe.md (the
 * table), probe.json (everything), probe.csv (one line per model and layer) and
 * probe.png (top-1 per layer per model). Deterministic for a seed.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type ClassificationData,
  type ClassificationSplit,
  classificationBatch,
  isFashionMnistSpec,
  limitIndices,
  loadClassificationData,
  splitLabels,
} from '../data/classification.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { ModelConfig } from '../models/config.js';
import { Detector } from '../models/detector.js';
import { fitImageSize, maxStrideOf } from '../models/image-size.js';
import { type EncoderModel, loadEncoderModel } from '../models/pretext-checkpoint.js';
import { encoderLayers, probeLayerNames } from '../models/probe-layers.js';
import { BACKBONE_BUILDERS, NECK_FAMILIES } from '../models/registry.js';
import type { Backbone, Neck } from '../models/types.js';
import { resolveModelConfig } from '../models/zoo.js';
import { BatchNorm2d } from '../nn/conv.js';
import { kaimingUniform, Module } from '../nn/module.js';
import { drawAxes, font, newCanvas, paletteColor, savePng } from '../plot/canvas.js';
import { ProgressBar } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { GroupedOptimizer } from './optimizer.js';
import { scheduleAt } from './schedule.js';

// ---------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------

export const PROBE_DEFAULTS = {
  pool: 1,
  epochs: 30,
  lr: 0.1,
  batch: 256,
  momentum: 0.9,
  weightDecay: 5e-4,
  knn: 20,
  knnTemperature: 0.07,
  rescaleImages: 1024,
  supervisedEpochs: 0,
  supervisedBatch: 64,
  supervisedLr: 1e-3,
  supervisedWeightDecay: 0.05,
  seed: 0,
  project: 'runs/probe',
  name: 'exp',
} as const;

// ---------------------------------------------------------------------------
// Features
// ---------------------------------------------------------------------------

/** n rows of `dim` features, row-major. */
export interface FeatureMatrix {
  n: number;
  dim: number;
  data: Float32Array;
}

/** Average pooling of NHWC maps to a k × k grid (adaptive bins), flattened to [batch, k·k·C] (bin-major). */
export function poolFeatures(x: tf.Tensor4D, k: number): tf.Tensor2D {
  const [b, h, w, c] = x.shape;
  if (k === 1) return tf.mean(x, [1, 2]) as tf.Tensor2D;
  const bins: tf.Tensor2D[] = [];
  for (let i = 0; i < k; i++) {
    const y0 = Math.floor((i * h) / k);
    const y1 = Math.max(y0 + 1, Math.ceil(((i + 1) * h) / k));
    for (let j = 0; j < k; j++) {
      const x0 = Math.floor((j * w) / k);
      const x1 = Math.max(x0 + 1, Math.ceil(((j + 1) * w) / k));
      bins.push(tf.mean(tf.slice(x, [0, y0, x0, 0], [b, y1 - y0, x1 - x0, c]), [1, 2]) as tf.Tensor2D);
    }
  }
  return tf.concat(bins, 1) as tf.Tensor2D;
}

function defaultBatch(imgsz: number): number {
  return Math.max(8, Math.min(256, Math.round((256 * 32 * 32) / (imgsz * imgsz))));
}

/**
 * The pooled features of every item of `split` at each of `layers` (model in
 * eval mode; see the module comment), with a progress bar when `label` is given.
 */
export async function extractFeatures(
  model: EncoderModel,
  split: ClassificationSplit,
  opts: { layers: readonly string[]; pool: number; size: number; batch: number; label?: string },
): Promise<Map<string, FeatureMatrix>> {
  const n = split.count;
  const out = new Map<string, FeatureMatrix>();
  const bar = opts.label ? new ProgressBar({ total: n, label: opts.label, unit: 'img' }) : null;
  const s = opts.size;
  for (let lo = 0; lo < n; lo += opts.batch) {
    const idx = Array.from({ length: Math.min(opts.batch, n - lo) }, (_, k) => lo + k);
    const pixels = await classificationBatch(split, idx);
    const pooled = tf.tidy(() => {
      const x = tf.tensor4d(pixels, [idx.length, s, s, 3]);
      return encoderLayers(model, x, opts.layers).map(({ name, maps }) => {
        const parts = maps.map((m) => poolFeatures(m, opts.pool));
        return [name, parts.length === 1 ? parts[0]! : (tf.concat(parts, 1) as tf.Tensor2D)] as const;
      });
    });
    for (const [name, t] of pooled) {
      const dim = t.shape[1];
      let m = out.get(name);
      if (!m) {
        m = { n, dim, data: new Float32Array(n * dim) };
        out.set(name, m);
      }
      m.data.set(await t.data(), lo * dim);
      t.dispose();
    }
    bar?.tick(idx.length);
  }
  bar?.finish();
  return out;
}

// ---------------------------------------------------------------------------
// Linear probe
// ---------------------------------------------------------------------------

export interface LinearProbeSettings {
  epochs: number;
  lr: number;
  batch: number;
  momentum: number;
  weightDecay: number;
  seed: number;
}

export interface LinearClassifier {
  dim: number;
  classes: number;
  /** classes × dim, row-major (one weight vector per class). */
  weight: Float32Array;
  bias: Float32Array;
  /** Mean cross-entropy over the last epoch. */
  loss: number;
}

/** Per-feature mean and standard deviation √(var + ε) of `x` (ε = 1e-5; biased variance, float64 sums). */
export function featureStats(x: FeatureMatrix, eps = 1e-5): { mean: Float32Array; std: Float32Array } {
  const { n, dim, data } = x;
  const s1 = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let d = 0; d < dim; d++) s1[d]! += data[o + d]!;
  }
  const mean = Float32Array.from(s1, (v) => v / Math.max(n, 1));
  const s2 = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let d = 0; d < dim; d++) {
      const v = data[o + d]! - mean[d]!;
      s2[d]! += v * v;
    }
  }
  return { mean, std: Float32Array.from(s2, (v) => Math.sqrt(v / Math.max(n, 1) + eps)) };
}

/** (x − mean) / std, a new matrix (batch norm without affine, with fixed statistics). */
export function standardize(x: FeatureMatrix, stats: { mean: Float32Array; std: Float32Array }): FeatureMatrix {
  const { n, dim, data } = x;
  const out = new Float32Array(data.length);
  const inv = Float32Array.from(stats.std, (v) => 1 / v);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let d = 0; d < dim; d++) out[o + d] = (data[o + d]! - stats.mean[d]!) * inv[d]!;
  }
  return { n, dim, data: out };
}

/** logits[i][c] = b[c] + x_i · W_c for the `m` rows of `x` (row-major m × dim) into `out` (m × classes). */
function logitsInto(
  x: Float32Array,
  m: number,
  clf: { dim: number; classes: number; weight: Float32Array; bias: Float32Array },
  out: Float32Array,
): void {
  const { dim: D, classes: C, weight: W, bias } = clf;
  for (let i = 0; i < m; i++) {
    const xo = i * D;
    let c = 0;
    // Two classes per sweep over the row (shares the loads of x).
    for (; c + 1 < C; c += 2) {
      const w0 = c * D;
      const w1 = w0 + D;
      let s0 = 0;
      let s1 = 0;
      for (let d = 0; d < D; d++) {
        const v = x[xo + d]!;
        s0 += v * W[w0 + d]!;
        s1 += v * W[w1 + d]!;
      }
      out[i * C + c] = bias[c]! + s0;
      out[i * C + c + 1] = bias[c + 1]! + s1;
    }
    if (c < C) {
      const w0 = c * D;
      let s0 = 0;
      for (let d = 0; d < D; d++) s0 += x[xo + d]! * W[w0 + d]!;
      out[i * C + c] = bias[c]! + s0;
    }
  }
}

/** Trains the linear classifier of the probe on (standardised) features (see the module comment). */
export function trainLinearClassifier(x: FeatureMatrix, labels: Int32Array, classes: number, s: LinearProbeSettings): LinearClassifier {
  const { n, dim: D } = x;
  const C = classes;
  if (labels.length !== n) throw new Error(`linear probe: ${n} feature rows for ${labels.length} labels`);
  if (n === 0) throw new Error('linear probe: no training items');
  const clf: LinearClassifier = { dim: D, classes: C, weight: new Float32Array(D * C), bias: new Float32Array(C), loss: Number.NaN };
  const { weight: W, bias } = clf;
  const vW = new Float32Array(D * C);
  const vb = new Float32Array(C);
  const B = Math.min(s.batch, n);
  const steps = Math.ceil(n / B);
  const T = Math.max(1, s.epochs * steps);
  const rng = new Rng(s.seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const xb = new Float32Array(B * D);
  const g = new Float32Array(B * C);
  const gW = new Float32Array(D * C);
  const gb = new Float64Array(C);
  let t = 0;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    let lossSum = 0;
    for (let step = 0; step < steps; step++) {
      const lo = step * B;
      const m = Math.min(B, n - lo);
      for (let i = 0; i < m; i++) xb.set(x.data.subarray(order[lo + i]! * D, (order[lo + i]! + 1) * D), i * D);
      logitsInto(xb, m, clf, g);
      // g ← (softmax − onehot) / m
      gb.fill(0);
      for (let i = 0; i < m; i++) {
        const o = i * C;
        let mx = -Infinity;
        for (let c = 0; c < C; c++) mx = Math.max(mx, g[o + c]!);
        let z = 0;
        for (let c = 0; c < C; c++) {
          const e = Math.exp(g[o + c]! - mx);
          g[o + c] = e;
          z += e;
        }
        const y = labels[order[lo + i]!]!;
        lossSum += -Math.log(Math.max(g[o + y]! / z, 1e-30));
        for (let c = 0; c < C; c++) {
          const v = (g[o + c]! / z - (c === y ? 1 : 0)) / m;
          g[o + c] = v;
          gb[c]! += v;
        }
      }
      gW.fill(0);
      for (let i = 0; i < m; i++) {
        const xo = i * D;
        let c = 0;
        for (; c + 1 < C; c += 2) {
          const g0 = g[i * C + c]!;
          const g1 = g[i * C + c + 1]!;
          const w0 = c * D;
          const w1 = w0 + D;
          for (let d = 0; d < D; d++) {
            const v = xb[xo + d]!;
            gW[w0 + d]! += g0 * v;
            gW[w1 + d]! += g1 * v;
          }
        }
        if (c < C) {
          const g0 = g[i * C + c]!;
          const w0 = c * D;
          for (let d = 0; d < D; d++) gW[w0 + d]! += g0 * xb[xo + d]!;
        }
      }
      const lr = s.lr * 0.5 * (1 + Math.cos((Math.PI * t) / T));
      t++;
      const mu = s.momentum;
      const wd = s.weightDecay;
      for (let k = 0; k < D * C; k++) {
        const v = mu * vW[k]! + gW[k]! + wd * W[k]!;
        vW[k] = v;
        W[k]! -= lr * v;
      }
      for (let c = 0; c < C; c++) {
        const v = mu * vb[c]! + gb[c]!;
        vb[c] = v;
        bias[c]! -= lr * v;
      }
    }
    clf.loss = lossSum / n;
  }
  return clf;
}

/** The classifier's predicted class for every row of `x`. */
export function predictLinear(clf: LinearClassifier, x: FeatureMatrix): Int32Array {
  if (x.dim !== clf.dim) throw new Error(`linear probe: features have ${x.dim} dimensions, the classifier ${clf.dim}`);
  const C = clf.classes;
  const chunk = 1024;
  const logits = new Float32Array(chunk * C);
  const pred = new Int32Array(x.n);
  for (let lo = 0; lo < x.n; lo += chunk) {
    const m = Math.min(chunk, x.n - lo);
    logitsInto(x.data.subarray(lo * x.dim, (lo + m) * x.dim), m, clf, logits);
    for (let i = 0; i < m; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + best]!) best = c;
      pred[lo + i] = best;
    }
  }
  return pred;
}

/** Fraction of predictions equal to the labels. */
export function accuracy(pred: Int32Array, labels: Int32Array): number {
  if (pred.length === 0) return Number.NaN;
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
  return ok / pred.length;
}

export interface LinearProbeResult {
  top1: number;
  trainTop1: number;
  loss: number;
}

/** The whole linear protocol on one layer's features: standardise with the train statistics, train, test. */
export function linearProbe(
  train: FeatureMatrix,
  trainLabels: Int32Array,
  test: FeatureMatrix,
  testLabels: Int32Array,
  classes: number,
  s: LinearProbeSettings,
): LinearProbeResult {
  const stats = featureStats(train);
  const tr = standardize(train, stats);
  const clf = trainLinearClassifier(tr, trainLabels, classes, s);
  return {
    top1: accuracy(predictLinear(clf, standardize(test, stats)), testLabels),
    trainTop1: accuracy(predictLinear(clf, tr), trainLabels),
    loss: clf.loss,
  };
}

// ---------------------------------------------------------------------------
// kNN
// ---------------------------------------------------------------------------

function l2Normalize(x: FeatureMatrix): Float32Array {
  const { n, dim, data } = x;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[o + d]! * data[o + d]!;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let d = 0; d < dim; d++) out[o + d] = data[o + d]! * inv;
  }
  return out;
}

export interface KnnSettings {
  k: number;
  temperature: number;
}

/** Weighted kNN predictions (see the module comment) of every row of `queries` against `bank`. */
export async function knnPredict(
  bank: FeatureMatrix,
  bankLabels: Int32Array,
  queries: FeatureMatrix,
  classes: number,
  s: KnnSettings,
): Promise<Int32Array> {
  if (bank.dim !== queries.dim) throw new Error(`kNN: bank has ${bank.dim} dimensions, queries ${queries.dim}`);
  if (bank.n === 0) throw new Error('kNN: empty training bank');
  const k = Math.min(s.k, bank.n);
  const bankT = tf.tidy(() => tf.transpose(tf.tensor2d(l2Normalize(bank), [bank.n, bank.dim])));
  const q = l2Normalize(queries);
  const chunk = Math.max(1, Math.min(1024, Math.floor(2 ** 25 / bank.n)));
  const pred = new Int32Array(queries.n);
  const votes = new Float64Array(classes);
  try {
    for (let lo = 0; lo < queries.n; lo += chunk) {
      const m = Math.min(chunk, queries.n - lo);
      const { values, indices } = tf.tidy(() =>
        tf.topk(tf.matMul(tf.tensor2d(q.subarray(lo * queries.dim, (lo + m) * queries.dim), [m, queries.dim]), bankT), k),
      );
      const [sim, idx] = [await values.data(), await indices.data()];
      tf.dispose([values, indices]);
      for (let i = 0; i < m; i++) {
        votes.fill(0);
        for (let j = 0; j < k; j++) votes[bankLabels[idx[i * k + j]!]!]! += Math.exp(sim[i * k + j]! / s.temperature);
        let best = 0;
        for (let c = 1; c < classes; c++) if (votes[c]! > votes[best]!) best = c;
        pred[lo + i] = best;
      }
    }
  } finally {
    bankT.dispose();
  }
  return pred;
}

// ---------------------------------------------------------------------------
// Data-dependent rescaling of a random network
// ---------------------------------------------------------------------------

function batchNorms(m: Module, out: BatchNorm2d[] = []): BatchNorm2d[] {
  if (m instanceof BatchNorm2d) out.push(m);
  for (const [, c] of m.childModules()) batchNorms(c, out);
  return out;
}

/**
 * Sets every batch-norm layer of the encoder (backbone and neck) to the
 * statistics of the data, then puts the model in eval mode: the batches go
 * through the network in training mode (each batch norm normalising with the
 * batch's own statistics, so every layer sees inputs normalised by all the layers
 * before it), and each layer's running mean and variance become the mean and
 * population variance of its inputs over every calibration image and pixel
 * (batches combined exactly, in float64): momentum 1 over the calibration set.
 * Returns how many layers were rescaled and from how many images.
 */
export async function rescaleBatchNorm(
  model: EncoderModel,
  batches: Iterable<tf.Tensor4D> | AsyncIterable<tf.Tensor4D>,
): Promise<{ layers: number; images: number }> {
  const bns = [...batchNorms(model.backbone as Backbone & Module), ...batchNorms(model.neck as Neck & Module)].filter(
    (bn) => !(bn as { activationOnly?: boolean }).activationOnly,
  );
  const acc = bns.map((bn) => ({ n: 0, mean: new Float64Array(bn.channels), m2: new Float64Array(bn.channels) }));
  let pending: Array<{ i: number; mean: tf.Tensor; variance: tf.Tensor; count: number }> = [];
  // Each layer's input is read where it enters the batch norm (its public forward / forwardAct), once per call.
  type Entry = Record<'forward' | 'forwardAct', (y: tf.Tensor4D, ...rest: unknown[]) => tf.Tensor4D>;
  const depth = new Array<number>(bns.length).fill(0);
  bns.forEach((bn, i) => {
    const e = bn as unknown as Entry;
    for (const key of ['forward', 'forwardAct'] as const) {
      const orig = e[key];
      e[key] = (y: tf.Tensor4D, ...rest: unknown[]) => {
        if (depth[i] === 0) {
          const { mean, variance } = tf.moments(y, [0, 1, 2]);
          pending.push({ i, mean: tf.keep(mean), variance: tf.keep(variance), count: y.size / y.shape[3] });
        }
        depth[i]!++;
        try {
          return orig.call(bn, y, ...rest);
        } finally {
          depth[i]!--;
        }
      };
    }
  });
  let images = 0;
  model.train(true);
  try {
    for await (const x of batches) {
      tf.tidy(() => {
        model.features(x);
      });
      for (const p of pending) {
        const [m, v] = [await p.mean.data(), await p.variance.data()];
        const a = acc[p.i]!;
        const n = a.n + p.count;
        for (let c = 0; c < m.length; c++) {
          const delta = m[c]! - a.mean[c]!;
          a.mean[c]! += (delta * p.count) / n;
          a.m2[c]! += v[c]! * p.count + (delta * delta * a.n * p.count) / n;
        }
        a.n = n;
      }
      tf.dispose(pending.flatMap((p) => [p.mean, p.variance]));
      pending = [];
      images += x.shape[0];
    }
  } finally {
    tf.dispose(pending.flatMap((p) => [p.mean, p.variance]));
    for (const bn of bns) {
      delete (bn as unknown as Partial<Entry>).forward;
      delete (bn as unknown as Partial<Entry>).forwardAct;
    }
    model.eval();
  }
  if (images === 0) throw new Error('rescaling: no calibration batches');
  bns.forEach((bn, i) => {
    const a = acc[i]!;
    if (a.n === 0) return; // not on the path features() takes
    tf.tidy(() => {
      bn.runningMean.assign(tf.tensor1d(Float32Array.from(a.mean)));
      bn.runningVar.assign(tf.tensor1d(Float32Array.from(a.m2, (v) => v / a.n)));
    });
  });
  return { layers: acc.filter((a) => a.n > 0).length, images };
}

// ---------------------------------------------------------------------------
// Supervised upper bound
// ---------------------------------------------------------------------------

/** The encoder of Detector(config, seed) (same generator order) and a linear classifier on the pooled coarsest neck level. */
export class SupervisedClassifier extends Module implements EncoderModel {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly fcWeight: tf.Variable;
  readonly fcBias: tf.Variable;

  constructor(
    readonly config: ModelConfig,
    readonly classes: number,
    seed = 0,
  ) {
    super();
    const ctx = { rng: new Rng(seed), act: config.activation };
    this.backbone = this.addModule('backbone', BACKBONE_BUILDERS[config.backbone](config, ctx));
    this.neck = this.addModule('neck', NECK_FAMILIES[config.neck].build(config, this.backbone, ctx));
    const c = this.neck.outChannels[this.neck.outChannels.length - 1]!;
    this.fcWeight = this.addParam('fc.weight', kaimingUniform(ctx.rng, [c, classes], c), 'weight');
    this.fcBias = this.addParam('fc.bias', kaimingUniform(ctx.rng, [classes], c), 'bias');
    if (config.norm === 'none') this.dropBatchNorm();
  }

  features(x: tf.Tensor4D): tf.Tensor4D[] {
    const s = Math.max(...this.neck.outStrides);
    const [, h, w] = x.shape;
    if (h % s !== 0 || w % s !== 0) throw new Error(`${this.config.name}: input size ${h}x${w} is not a multiple of the largest stride ${s}`);
    return this.neck.forward(this.backbone.forward(x));
  }

  logits(x: tf.Tensor4D): tf.Tensor2D {
    const f = this.features(x);
    return tf.add(tf.matMul(tf.mean(f[f.length - 1]!, [1, 2]) as tf.Tensor2D, this.fcWeight as tf.Tensor2D), this.fcBias) as tf.Tensor2D;
  }
}

function flipRows(pixels: Float32Array, n: number, s: number, flip: boolean[]): void {
  for (let i = 0; i < n; i++) {
    if (!flip[i]) continue;
    for (let y = 0; y < s; y++) {
      const row = (i * s + y) * s * 3;
      for (let x = 0; x < s >> 1; x++) {
        const a = row + x * 3;
        const b = row + (s - 1 - x) * 3;
        for (let c = 0; c < 3; c++) {
          const t = pixels[a + c]!;
          pixels[a + c] = pixels[b + c]!;
          pixels[b + c] = t;
        }
      }
    }
  }
}

export interface SupervisedSettings {
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  seed: number;
  progress: boolean;
}

/** Trains the supervised upper bound end to end on `data.train` (see the module comment); returns it in eval mode. */
export async function trainSupervised(config: ModelConfig, data: ClassificationData, s: SupervisedSettings): Promise<SupervisedClassifier> {
  const net = new SupervisedClassifier(config, data.names.length, s.seed);
  const n = data.train.count;
  const B = Math.min(s.batch, n);
  const steps = Math.floor(n / B);
  if (steps === 0 || B < 2) throw new Error(`supervised training needs at least 2 training items (has ${n})`);
  const labels = splitLabels(data.train);
  const optimizer = new GroupedOptimizer(net, { name: 'adamw', lr: s.lr, momentum: 0.9, weightDecay: s.weightDecay });
  const sched = {
    lr0: s.lr,
    lrf: 0.01,
    epochs: s.epochs,
    kind: 'cosine' as const,
    warmupSteps: Math.min(100, steps),
    warmupBiasLr: 0,
    warmupMomentum: 0.9,
    momentum: 0.9,
  };
  const rng = new Rng((s.seed ^ 0x5eed) >>> 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const size = data.size;
  try {
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      net.train();
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      const bar = s.progress ? new ProgressBar({ total: steps, label: `supervised ${epoch + 1}/${s.epochs}`, unit: 'batch' }) : null;
      let lossSum = 0;
      let correct = 0;
      for (let step = 0; step < steps; step++) {
        const idx = order.subarray(step * B, (step + 1) * B);
        const pixels = await classificationBatch(data.train, idx);
        flipRows(
          pixels,
          B,
          size,
          Array.from({ length: B }, () => rng.next() < 0.5),
        );
        const y = Int32Array.from(idx, (i) => labels[i]!);
        let logitsData: Float32Array | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const logits = net.logits(tf.tensor4d(pixels, [B, size, size, 3]));
          logitsData = logits.dataSync() as Float32Array;
          const onehot = tf.oneHot(tf.tensor1d(y, 'int32'), data.names.length);
          return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
        }, optimizer.variables);
        const loss = (await value.data())[0]!;
        value.dispose();
        if (!Number.isFinite(loss)) {
          tf.dispose(Object.values(grads));
          throw new Error(`supervised training: non-finite loss at epoch ${epoch + 1}, batch ${step}`);
        }
        const sc = scheduleAt(optimizer.step, epoch, sched);
        Object.assign(optimizer.lr, sc.lr);
        optimizer.momentum = sc.momentum;
        optimizer.apply(grads);
        tf.dispose(Object.values(grads));
        const C = data.names.length;
        const ld = logitsData as Float32Array | null;
        if (ld) {
          for (let i = 0; i < B; i++) {
            let best = 0;
            for (let c = 1; c < C; c++) if (ld[i * C + c]! > ld[i * C + best]!) best = c;
            if (best === y[i]) correct++;
          }
        }
        lossSum += loss;
        bar?.tick(1, { loss: lossSum / (step + 1), acc: correct / ((step + 1) * B) });
      }
      bar?.finish();
    }
  } finally {
    optimizer.dispose();
  }
  net.eval();
  return net;
}

/** Top-1 of the supervised model's own classifier on a split. */
async function ownClassifierTop1(net: SupervisedClassifier, split: ClassificationSplit, size: number, batch: number): Promise<number> {
  let ok = 0;
  for (let lo = 0; lo < split.count; lo += batch) {
    const idx = Array.from({ length: Math.min(batch, split.count - lo) }, (_, k) => lo + k);
    const pixels = await classificationBatch(split, idx);
    const pred = tf.tidy(() => tf.argMax(net.logits(tf.tensor4d(pixels, [idx.length, size, size, 3])), 1));
    const p = await pred.data();
    pred.dispose();
    idx.forEach((i, k) => {
      if (p[k] === split.label(i)) ok++;
    });
  }
  return split.count ? ok / split.count : Number.NaN;
}

// ---------------------------------------------------------------------------
// The protocol
// ---------------------------------------------------------------------------

export interface ProbeOptions {
  /** A checkpoint directory (pretext, detector or multi-task), or 'random' (then only the baselines). */
  weights: string;
  /** Zoo name or config file of the architecture, with weights 'random' (default yolor-n). */
  model?: string;
  /** `fashion-mnist`, a folder of Fashion-MNIST IDX files, a class-per-folder directory, or (with `crops`) any detection dataset. */
  data: string;
  crops?: boolean;
  cropMargin?: number;
  fashionDir?: string;
  /** Input size (default: the checkpoint's recorded size, else 32 for Fashion-MNIST, else 128). */
  imgsz?: number;
  /** Layers to probe (default: every layer the model offers: stage1 … stage5, neck). */
  layers?: readonly string[];
  /** Spatial pooling grid k × k (default 1: global average pooling). */
  pool?: number;
  /** Linear-probe epochs (default 30), learning rate (0.1), batch (256), momentum (0.9), weight decay (5e-4). */
  epochs?: number;
  lr?: number;
  probeBatch?: number;
  momentum?: number;
  weightDecay?: number;
  /** kNN neighbours (default 20; 0: no kNN), temperature (0.07), at every layer instead of the best one, bank cap. */
  knn?: number;
  knnTemperature?: number;
  knnAll?: boolean;
  knnBank?: number;
  /** Random and random-rescaled rows next to a checkpoint (default true; always with weights 'random'). */
  baselines?: boolean;
  /** Training images for the rescaled baseline (default 1024). */
  rescaleImages?: number;
  /** Epochs of the supervised upper bound (default 0: none), its batch (64), learning rate (1e-3), weight decay (0.05). */
  supervisedEpochs?: number;
  supervisedBatch?: number;
  supervisedLr?: number;
  supervisedWeightDecay?: number;
  limitTrain?: number;
  limitTest?: number;
  /** Seed of the random networks, the limits, the shuffles (default 0). */
  seed?: number;
  /** Images per feature-extraction batch (default 256·(32/imgsz)², 8 … 256). */
  batch?: number;
  project?: string;
  name?: string;
  /** Progress bars on stderr (default true). */
  progress?: boolean;
  log?: (line: string) => void;
}

export type ProbeRowKind = 'checkpoint' | 'random' | 'random-rescaled' | 'supervised';

export interface ProbeLayerResult {
  dim: number;
  linear: LinearProbeResult;
  /** kNN top-1 (at the best layer, or every layer with knnAll). */
  knn?: number;
}

export interface ProbeRow {
  model: string;
  kind: ProbeRowKind;
  layers: Record<string, ProbeLayerResult>;
  best: { layer: string; top1: number };
  knn?: { layer: string; k: number; top1: number };
  /** Supervised rows: the test top-1 of the model's own classifier. */
  endToEndTop1?: number;
  /** Random-rescaled rows: how many batch-norm layers were rescaled from how many images. */
  rescaled?: { layers: number; images: number };
  seconds: number;
}

export interface ProbeResult {
  dir: string;
  files: { md: string; json: string; csv: string; png: string };
  json: ProbeJson;
  markdown: string;
}

export interface ProbeJson {
  weights: string;
  model: string;
  data: {
    spec: string;
    kind: string;
    source: string;
    classes: number;
    names: string[];
    train: number;
    test: number;
    full: { train: number; test: number };
    split: string;
  };
  imgsz: number;
  pool: number;
  layers: string[];
  protocol: {
    linear: LinearProbeSettings & { schedule: string; standardize: string };
    knn: (KnnSettings & { layers: 'best' | 'all'; bank: number }) | null;
    rescale: { images: number } | null;
    supervised: Omit<SupervisedSettings, 'progress' | 'seed'> | null;
  };
  chance: number;
  rows: ProbeRow[];
  seconds: number;
}

function uniqueRunDir(project: string, name: string): string {
  let dir = resolve(project, name);
  for (let k = 2; existsSync(dir); k++) dir = resolve(project, `${name}${k}`);
  return dir;
}

function positiveInt(v: number | undefined, what: string, fallback: number, min = 1): number {
  const x = v ?? fallback;
  if (!(Number.isInteger(x) && x >= min)) throw new Error(`${what} must be an integer ≥ ${min}, got ${x}`);
  return x;
}

/** Runs the protocol (see the module comment) and writes its report. */
export async function probe(opts: ProbeOptions): Promise<ProbeResult> {
  const t00 = performance.now();
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const progress = opts.progress ?? true;
  const seed = opts.seed ?? PROBE_DEFAULTS.seed;
  const pool = positiveInt(opts.pool, 'pool', PROBE_DEFAULTS.pool);
  const settings: LinearProbeSettings = {
    epochs: positiveInt(opts.epochs, 'probe epochs', PROBE_DEFAULTS.epochs),
    lr: opts.lr ?? PROBE_DEFAULTS.lr,
    batch: positiveInt(opts.probeBatch, 'probe batch', PROBE_DEFAULTS.batch),
    momentum: opts.momentum ?? PROBE_DEFAULTS.momentum,
    weightDecay: opts.weightDecay ?? PROBE_DEFAULTS.weightDecay,
    seed,
  };
  const knnK = positiveInt(opts.knn, 'knn', PROBE_DEFAULTS.knn, 0);
  const knn: KnnSettings = { k: knnK, temperature: opts.knnTemperature ?? PROBE_DEFAULTS.knnTemperature };
  const supervisedEpochs = positiveInt(opts.supervisedEpochs, 'supervised epochs', PROBE_DEFAULTS.supervisedEpochs, 0);
  const rescaleImages = positiveInt(opts.rescaleImages, 'rescale images', PROBE_DEFAULTS.rescaleImages, 2);

  // The network (and the size it was trained at).
  const random = opts.weights === 'random';
  let checkpoint: { model: EncoderModel; imgsz?: number } | null = null;
  let config: ModelConfig;
  if (random) {
    config = resolveModelConfig(opts.model ?? 'yolor-n');
  } else {
    if (opts.model !== undefined) throw new Error('a model name is only for weights "random" (a checkpoint carries its own config)');
    const r = await loadEncoderModel(opts.weights);
    checkpoint = r;
    config = r.model.config;
    r.model.eval();
  }
  try {
    const stride = maxStrideOf(config);
    const fashion = !opts.crops && isFashionMnistSpec(opts.data);
    const fitted = fitImageSize(opts.imgsz ?? checkpoint?.imgsz ?? (fashion ? 32 : 128), stride, config.name);
    if (fitted.warning) log(`warning: ${fitted.warning}`);
    const imgsz = fitted.imgsz;
    const batch = positiveInt(opts.batch, 'batch', defaultBatch(imgsz));

    const data = await loadClassificationData(opts.data, {
      size: imgsz,
      seed,
      ...(opts.crops ? { crops: true } : {}),
      ...(opts.cropMargin !== undefined ? { cropMargin: opts.cropMargin } : {}),
      ...(opts.fashionDir !== undefined ? { fashionDir: opts.fashionDir } : {}),
      ...(opts.limitTrain !== undefined ? { limitTrain: opts.limitTrain } : {}),
      ...(opts.limitTest !== undefined ? { limitTest: opts.limitTest } : {}),
    });
    const C = data.names.length;
    if (C < 2) throw new Error(`${data.source}: ${C} class; a probe needs at least 2`);
    const trainLabels = splitLabels(data.train);
    const testLabels = splitLabels(data.test);
    log(
      `probe: ${random ? `random ${config.name}` : opts.weights} on ${opts.data} (${data.kind}: ${data.train.count} train / ${data.test.count} test items, ${C} classes) at ${imgsz} px`,
    );

    // Layers (checked on a network of the architecture before any work).
    const layerProbe = checkpoint?.model ?? new Detector(config, seed);
    const offered = probeLayerNames(layerProbe);
    const layers = opts.layers ? [...opts.layers] : offered;
    for (const l of layers) if (!offered.includes(l)) throw new Error(`${config.name}: no layer '${l}' to probe (has: ${offered.join(', ')})`);
    if (layers.length === 0) throw new Error('no layers to probe');
    if (!checkpoint) layerProbe.dispose();

    const knnBankIdx = opts.knnBank !== undefined ? limitIndices(data.train.count, positiveInt(opts.knnBank, 'knn bank', 1), seed + 7) : null;
    const rows: ProbeRow[] = [];

    const evaluate = async (model: EncoderModel, name: string, kind: ProbeRowKind, extra: Partial<ProbeRow> = {}): Promise<void> => {
      const t0 = performance.now();
      model.eval();
      const ex = { layers, pool, size: imgsz, batch };
      const train = await extractFeatures(model, data.train, { ...ex, ...(progress ? { label: `${name} train` } : {}) });
      const test = await extractFeatures(model, data.test, { ...ex, ...(progress ? { label: `${name} test` } : {}) });
      const results: Record<string, ProbeLayerResult> = {};
      for (const l of layers) {
        const r = linearProbe(train.get(l)!, trainLabels, test.get(l)!, testLabels, C, settings);
        results[l] = { dim: train.get(l)!.dim, linear: r };
      }
      let best = layers[0]!;
      for (const l of layers) if (results[l]!.linear.top1 > results[best]!.linear.top1) best = l;
      const row: ProbeRow = { model: name, kind, layers: results, best: { layer: best, top1: results[best]!.linear.top1 }, seconds: 0, ...extra };
      if (knn.k > 0) {
        for (const l of opts.knnAll ? layers : [best]) {
          const tr = train.get(l)!;
          const bank = knnBankIdx ? gatherRows(tr, knnBankIdx) : tr;
          const bankLabels = knnBankIdx ? Int32Array.from(knnBankIdx, (i) => trainLabels[i]!) : trainLabels;
          results[l]!.knn = accuracy(await knnPredict(bank, bankLabels, test.get(l)!, C, knn), testLabels);
        }
        row.knn = { layer: best, k: knn.k, top1: results[best]!.knn! };
      }
      row.seconds = (performance.now() - t0) / 1000;
      rows.push(row);
      log(
        `${name}: ${layers.map((l) => `${l} ${pct(results[l]!.linear.top1)}`).join(', ')}; best ${best}${row.knn ? `; kNN ${pct(row.knn.top1)}` : ''} (${row.seconds.toFixed(1)} s)`,
      );
    };

    if (checkpoint) await evaluate(checkpoint.model, opts.weights, 'checkpoint');
    const baselines = random || (opts.baselines ?? true);
    if (baselines) {
      const net = new Detector(config, seed);
      try {
        await evaluate(net, 'random', 'random');
        if (config.norm === 'none') {
          log('random-rescaled: left out (the model has no batch norm to rescale)');
        } else {
          const idx = limitIndices(data.train.count, Math.min(rescaleImages, data.train.count), seed + 11);
          const per = Math.max(2, Math.min(batch, idx.length));
          const rescaled = await rescaleBatchNorm(net, calibrationBatches(data.train, idx, per, imgsz));
          log(`random-rescaled: ${rescaled.layers} batch-norm layers set to the statistics of ${rescaled.images} training images`);
          await evaluate(net, 'random-rescaled', 'random-rescaled', { rescaled });
        }
      } finally {
        net.dispose();
      }
    }
    const supervisedSettings: SupervisedSettings = {
      epochs: supervisedEpochs,
      batch: positiveInt(opts.supervisedBatch, 'supervised batch', PROBE_DEFAULTS.supervisedBatch, 2),
      lr: opts.supervisedLr ?? PROBE_DEFAULTS.supervisedLr,
      weightDecay: opts.supervisedWeightDecay ?? PROBE_DEFAULTS.supervisedWeightDecay,
      seed,
      progress,
    };
    if (supervisedEpochs > 0) {
      const t0 = performance.now();
      const net = await trainSupervised(config, data, supervisedSettings);
      try {
        const own = await ownClassifierTop1(net, data.test, imgsz, batch);
        log(
          `supervised: trained ${supervisedEpochs} epochs in ${((performance.now() - t0) / 1000).toFixed(1)} s; its own classifier: test top-1 ${pct(own)}`,
        );
        await evaluate(net, `supervised (${supervisedEpochs} ep)`, 'supervised', { endToEndTop1: own });
      } finally {
        net.dispose();
      }
    }

    const json: ProbeJson = {
      weights: opts.weights,
      model: config.name,
      data: {
        spec: opts.data,
        kind: data.kind,
        source: data.source,
        classes: C,
        names: data.names,
        train: data.train.count,
        test: data.test.count,
        full: data.full,
        split: data.splitNote,
      },
      imgsz,
      pool,
      layers,
      protocol: {
        linear: {
          ...settings,
          schedule: 'cosine per step from lr to 0',
          standardize: 'batch norm without affine: training-set mean and variance, eps 1e-5',
        },
        knn: knn.k > 0 ? { ...knn, layers: opts.knnAll ? 'all' : 'best', bank: knnBankIdx?.length ?? data.train.count } : null,
        rescale: baselines && config.norm !== 'none' ? { images: Math.min(rescaleImages, data.train.count) } : null,
        supervised:
          supervisedEpochs > 0
            ? { epochs: supervisedEpochs, batch: supervisedSettings.batch, lr: supervisedSettings.lr, weightDecay: supervisedSettings.weightDecay }
            : null,
      },
      chance: 1 / C,
      rows,
      seconds: (performance.now() - t00) / 1000,
    };
    const dir = uniqueRunDir(opts.project ?? PROBE_DEFAULTS.project, opts.name ?? PROBE_DEFAULTS.name);
    const files = { md: join(dir, 'probe.md'), json: join(dir, 'probe.json'), csv: join(dir, 'probe.csv'), png: join(dir, 'probe.png') };
    const markdown = probeMarkdown(json);
    await writeFileAtomic(files.md, markdown);
    await writeFileAtomic(files.json, `${JSON.stringify(json, null, 2)}\n`);
    await writeFileAtomic(files.csv, probeCsv(json));
    await writeProbeChart(files.png, json);
    return { dir, files, json, markdown };
  } finally {
    checkpoint?.model.dispose();
  }
}

function gatherRows(x: FeatureMatrix, idx: Int32Array): FeatureMatrix {
  const data = new Float32Array(idx.length * x.dim);
  idx.forEach((i, k) => {
    data.set(x.data.subarray(i * x.dim, (i + 1) * x.dim), k * x.dim);
  });
  return { n: idx.length, dim: x.dim, data };
}

async function* calibrationBatches(split: ClassificationSplit, idx: Int32Array, per: number, size: number): AsyncGenerator<tf.Tensor4D> {
  // Full batches only: a batch of one image has no spread at 1×1 maps.
  for (let lo = 0; lo + per <= idx.length; lo += per) {
    const pixels = await classificationBatch(split, idx.subarray(lo, lo + per));
    const x = tf.tensor4d(pixels, [per, size, size, 3]);
    try {
      yield x;
    } finally {
      x.dispose();
    }
  }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : (v * 100).toFixed(1);
}

/** The results table (Markdown, columns padded so it also reads in a terminal). */
export function probeTable(j: ProbeJson): string {
  const knn = j.protocol.knn;
  const head = ['model', ...j.layers, 'best', ...(knn ? [knn.layers === 'all' ? 'kNN (best layer)' : 'kNN@best'] : [])];
  const body = j.rows.map((r) => [
    r.model,
    ...j.layers.map((l) => {
      const lr = r.layers[l]!;
      return knn?.layers === 'all' && lr.knn !== undefined ? `${pct(lr.linear.top1)} / ${pct(lr.knn)}` : pct(lr.linear.top1);
    }),
    `${r.best.layer} ${pct(r.best.top1)}`,
    ...(knn ? [pct(r.knn?.top1)] : []),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, 3, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...body.map(line)].join('\n');
}

export function probeMarkdown(j: ProbeJson): string {
  const p = j.protocol;
  const lines = [
    `# Linear probe: ${j.weights === 'random' ? `random ${j.model}` : j.weights}`,
    '',
    `Data: ${j.data.spec} (${j.data.kind}, ${j.data.source}): ${j.data.train} train / ${j.data.test} test items, ${j.data.classes} classes (chance ${pct(j.chance)} %); ${j.data.split}.`,
    `Input ${j.imgsz}×${j.imgsz}; features average pooled to ${j.pool}×${j.pool} per map (neck: its levels concatenated).`,
    '',
    `Top-1 accuracy (%) on the test split.${p.knn?.layers === 'all' ? ' Cells: linear / kNN.' : ''}`,
    '',
    probeTable(j),
    '',
    `Linear: ${p.linear.standardize}; linear classifier, SGD momentum ${p.linear.momentum}, weight decay ${p.linear.weightDecay}, batch ${p.linear.batch}, lr ${p.linear.lr} (${p.linear.schedule}), ${p.linear.epochs} epochs.`,
  ];
  if (p.knn)
    lines.push(
      `kNN: k = ${p.knn.k}, cosine similarity of L2-normalised features, votes weighted exp(sim/${p.knn.temperature}), bank ${p.knn.bank} training items, at ${p.knn.layers === 'all' ? 'every layer' : "each model's best linear layer"}.`,
    );
  if (p.rescale)
    lines.push(
      `random-rescaled: the random network with every batch-norm layer's statistics set from ${p.rescale.images} training images (training-mode passes, momentum 1), then eval mode.`,
    );
  for (const r of j.rows)
    if (r.endToEndTop1 !== undefined) lines.push(`${r.model}: its own classifier (end to end) reaches ${pct(r.endToEndTop1)} % top-1.`);
  if (p.supervised)
    lines.push(
      `supervised: trained end to end on the probe's training split (AdamW lr ${p.supervised.lr}, weight decay ${p.supervised.weightDecay}, batch ${p.supervised.batch}, ${p.supervised.epochs} epochs), then probed frozen.`,
    );
  lines.push('', `Seed ${p.linear.seed}; ${j.seconds.toFixed(1)} s.`, '');
  return lines.join('\n');
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function probeCsv(j: ProbeJson): string {
  const lines = ['model,kind,layer,dim,linear_top1,train_top1,knn_top1'];
  for (const r of j.rows) {
    for (const l of j.layers) {
      const x = r.layers[l]!;
      lines.push(
        [
          csvField(r.model),
          r.kind,
          l,
          x.dim,
          x.linear.top1.toFixed(5),
          x.linear.trainTop1.toFixed(5),
          x.knn === undefined ? '' : x.knn.toFixed(5),
        ].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Grouped bars: test top-1 per layer (x) per model (colour), with the chance level dashed. */
export async function writeProbeChart(path: string, j: ProbeJson): Promise<void> {
  const L = j.layers.length;
  const M = Math.max(1, j.rows.length);
  const groupW = Math.max(90, 22 * M + 30);
  const plotW = groupW * L;
  const { canvas, ctx } = newCanvas(Math.max(plotW + 110, 720), 460);
  const rect = { x: 80, y: 50, w: plotW, h: 330 };
  const axes = drawAxes(ctx, rect, {
    title: `Linear probe: ${j.weights === 'random' ? `random ${j.model}` : j.weights}`.slice(0, 90),
    yLabel: 'test top-1 (%)',
    xRange: [0, L],
    yRange: [0, 100],
    xTicks: [],
    yTicks: [0, 20, 40, 60, 80, 100],
    fontSize: 14,
  });
  const barW = (groupW - 30) / M;
  j.rows.forEach((r, m) => {
    ctx.fillStyle = paletteColor(m * 3);
    j.layers.forEach((l, i) => {
      const v = (r.layers[l]?.linear.top1 ?? 0) * 100;
      const x = rect.x + i * groupW + 15 + m * barW;
      const y = axes.py(v);
      ctx.fillRect(x, y, Math.max(1, barW - 2), rect.y + rect.h - y);
    });
  });
  ctx.fillStyle = '#000';
  ctx.font = font(13);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  j.layers.forEach((l, i) => {
    ctx.fillText(l, rect.x + (i + 0.5) * groupW, rect.y + rect.h + 8);
  });
  ctx.strokeStyle = '#555';
  ctx.setLineDash([6, 4]);
  ctx.beginPath();
  ctx.moveTo(rect.x, axes.py(j.chance * 100));
  ctx.lineTo(rect.x + rect.w, axes.py(j.chance * 100));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.font = font(12);
  let lx = rect.x;
  j.rows.forEach((r, m) => {
    ctx.fillStyle = paletteColor(m * 3);
    ctx.fillRect(lx, rect.y + rect.h + 40, 12, 12);
    ctx.fillStyle = '#000';
    const label = r.model.length > 40 ? `…${r.model.slice(-39)}` : r.model;
    ctx.fillText(label, lx + 16, rect.y + rect.h + 46);
    lx += 16 + ctx.measureText(label).width + 18;
  });
  ctx.fillStyle = '#555';
  ctx.fillText('chance', rect.x + rect.w + 4, axes.py(j.chance * 100));
  await savePng(canvas, path);
}
