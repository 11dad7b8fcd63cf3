/**
 * Multi-label image classification: which classes (and attributes such as colour)
 * are in the image. Head on the coarsest shared level; sigmoid BCE per label;
 * validated by mAP over labels and micro F1 at probability 0.5.
 */
import * as tf from '@tensorflow/tfjs-core';
import { multiLabelAP, multiLabelF1 } from '../../eval/multilabel-metrics.js';
import { type TaskEvaluator, type TaskSpec, taskCodeOptions } from '../types.js';
import { ClassifyHead } from './head.js';
import { classifyLoss } from './loss.js';

const fmt = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** A label the model predicts present, most probable first. */
export interface PredictedLabel {
  index: number;
  name: string;
  score: number;
}

function evaluator(numLabels: number): TaskEvaluator<tf.Tensor2D> {
  let scores: number[] = [];
  let targets: number[] = [];
  let loss = 0;
  let batches = 0;
  return {
    reset() {
      scores = [];
      targets = [];
      loss = 0;
      batches = 0;
    },
    process(batch, out) {
      if (!batch.labels) throw new Error('classify validation: the batch has no image-level labels');
      loss += classifyLoss(out, batch.labels).dataSync()[0]!;
      scores.push(...tf.sigmoid(out).dataSync());
      targets.push(...batch.labels);
      batches++;
    },
    evaluate() {
      const L = numLabels;
      const n = scores.length / L;
      const s = Float32Array.from(scores);
      const t = Float32Array.from(targets);
      const ap = multiLabelAP(s, t, n, L);
      const f1 = multiLabelF1(s, t, n, L, 0.5);
      const l = loss / Math.max(batches, 1);
      return {
        columns: { 'val/classify_loss': l, 'metrics/mAP(C)': ap.mAP, 'metrics/F1(C)': f1.f1Micro },
        report: { mAP: ap.mAP, f1: f1.f1Micro, precision: f1.precision, recall: f1.recall, loss: l, per_label: Array.from(ap.ap) },
        text: `classify: mAP ${fmt(ap.mAP)}  F1 ${fmt(f1.f1Micro)}  precision ${fmt(f1.precision)}  recall ${fmt(f1.recall)}`,
      };
    },
  };
}

export const classifyTask: TaskSpec<'classify', tf.Tensor2D, ClassifyHead> = {
  name: 'classify',
  description: 'multi-label image classification: the classes (and attributes) present, BCE, mAP and F1',
  module: 'classify_head',
  labels: 'image-level labels (the classes present, plus attributes when the dataset has them)',
  needsExtras: true,
  defaultWeight: 1,
  buildHead: (ctx) =>
    new ClassifyHead({
      inChannels: ctx.channels[ctx.channels.length - 1]!,
      numLabels: ctx.config.numLabels,
      code: taskCodeOptions(ctx.config),
      ctx,
    }),
  loss(ctx) {
    if (!ctx.batch.labels) throw new Error("the classify task needs image-level labels in every batch (load the data with the task's labels)");
    const l = classifyLoss(ctx.out, ctx.batch.labels);
    const loss = ctx.share === 1 ? l : (tf.mul(l, ctx.share) as tf.Scalar);
    return { loss, items: { classify: loss.dataSync()[0]! } };
  },
  progress: [['mlc', 'classify']],
  columns: ['train/classify_loss', 'val/classify_loss', 'metrics/mAP(C)', 'metrics/F1(C)'],
  trainColumns: { 'train/classify_loss': 'classify' },
  resultsPlace: 'tail',
  fitness: (r) => r['metrics/mAP(C)'],
  fitnessRole: 'mean',
  summary: (r) => `classify loss ${fmt(r['train/classify_loss'], 4)} mAP ${fmt(r['metrics/mAP(C)'])} F1 ${fmt(r['metrics/F1(C)'])}`,
  evaluator: (net) => evaluator(net.config.numLabels),
  predict(ctx) {
    const p = tf.sigmoid(ctx.out).dataSync();
    const thr = ctx.labelThreshold ?? 0.5;
    const labels: PredictedLabel[] = Array.from(p, (score, index) => ({ index, name: ctx.labelNames[index] ?? `label ${index}`, score }))
      .filter((l) => l.score >= thr)
      .sort((a, b) => b.score - a.score);
    return {
      value: labels,
      json: { labels: labels.map((l) => ({ name: l.name, score: Number(l.score.toFixed(4)) })) },
      line: `labels ${labels.map((l) => `${l.name} ${l.score.toFixed(2)}`).join(', ') || '(none)'}`,
    };
  },
};
