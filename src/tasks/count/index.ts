/**
 * Object counting: the number of objects of each class in the image, from the
 * same boxes detection trains on (no extra labels). Head on the coarsest shared
 * level; Poisson likelihood; validated by the mean absolute error of the
 * per-class counts and the exact-count accuracy (the share of images whose every
 * class count is right).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type TaskEvaluator, type TaskSpec, taskCodeOptions } from '../types.js';
import { CountHead } from './head.js';
import { countLoss, countTargets, predictedCounts } from './loss.js';

const fmt = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** Mean absolute error per image × class and exact-count accuracy per image of predicted vs true counts (B × nc each). */
export function countMetrics(predicted: ArrayLike<number>, truth: ArrayLike<number>, nc: number): { mae: number; accuracy: number; images: number } {
  if (predicted.length !== truth.length || truth.length % nc !== 0)
    throw new Error(`countMetrics: ${predicted.length} predictions for ${truth.length} counts of ${nc} classes`);
  const images = truth.length / nc;
  let abs = 0;
  let exact = 0;
  for (let i = 0; i < images; i++) {
    let all = true;
    for (let c = 0; c < nc; c++) {
      const d = Math.abs(predicted[i * nc + c]! - truth[i * nc + c]!);
      abs += d;
      if (d !== 0) all = false;
    }
    if (all) exact++;
  }
  return { mae: images ? abs / truth.length : Number.NaN, accuracy: images ? exact / images : Number.NaN, images };
}

function evaluator(nc: number): TaskEvaluator<tf.Tensor2D> {
  let predicted: number[] = [];
  let truth: number[] = [];
  let loss = 0;
  let batches = 0;
  return {
    reset() {
      predicted = [];
      truth = [];
      loss = 0;
      batches = 0;
    },
    process(batch, out) {
      const counts = countTargets(batch.targets, batch.shape[0], nc);
      loss += countLoss(out, counts).dataSync()[0]!;
      predicted.push(...predictedCounts(out.dataSync()));
      truth.push(...counts);
      batches++;
    },
    evaluate() {
      const m = countMetrics(predicted, truth, nc);
      const l = loss / Math.max(batches, 1);
      return {
        columns: { 'val/count_loss': l, 'metrics/MAE(N)': m.mae, 'metrics/acc(N)': m.accuracy },
        report: { mae: m.mae, accuracy: m.accuracy, images: m.images, loss: l },
        text: `count: mean absolute error ${fmt(m.mae)} per image and class, exact-count accuracy ${fmt(m.accuracy)} (${m.images} images)`,
      };
    },
  };
}

export const countTask: TaskSpec<'count', tf.Tensor2D, CountHead> = {
  name: 'count',
  description: 'object counting: objects per class in the image, Poisson likelihood, MAE and exact-count accuracy',
  module: 'count_head',
  labels: 'boxes and classes (the counts are the boxes per class)',
  needsExtras: false,
  defaultWeight: 0.5,
  buildHead: (ctx) =>
    new CountHead({ inChannels: ctx.channels[ctx.channels.length - 1]!, nc: ctx.config.nc, code: taskCodeOptions(ctx.config), ctx }),
  loss(ctx) {
    const l = countLoss(ctx.out, countTargets(ctx.batch.targets, ctx.batch.shape[0], ctx.net.config.nc));
    const loss = ctx.share === 1 ? l : (tf.mul(l, ctx.share) as tf.Scalar);
    return { loss, items: { count: loss.dataSync()[0]! } };
  },
  progress: [['cnt', 'count']],
  columns: ['train/count_loss', 'val/count_loss', 'metrics/MAE(N)', 'metrics/acc(N)'],
  trainColumns: { 'train/count_loss': 'count' },
  resultsPlace: 'tail',
  fitness: (r) => r['metrics/acc(N)'],
  fitnessRole: 'mean',
  summary: (r) => `count loss ${fmt(r['train/count_loss'], 4)} MAE ${fmt(r['metrics/MAE(N)'])} acc ${fmt(r['metrics/acc(N)'])}`,
  evaluator: (net) => evaluator(net.config.nc),
  predict(ctx) {
    const n = predictedCounts(ctx.out.dataSync());
    const counts: Record<string, number> = {};
    n.forEach((v, c) => {
      if (v > 0) counts[ctx.names[c] ?? `class${c}`] = v;
    });
    return {
      value: n,
      json: { counts },
      line: `counts ${
        Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ') || '(none)'
      }`,
    };
  },
};
