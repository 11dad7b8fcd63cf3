/**
 * Identity embeddings (JDE): an embedding map per shared level; the embedding of
 * an object is the vector at its cell. Trained with an identity classifier at
 * every positive detection cell (so it needs the detect task); validated by
 * retrieval across images (top-1 and mAP of same-identity hits).
 */
import * as tf from '@tensorflow/tfjs-core';
import { retrievalMetrics } from '../../eval/retrieval-metrics.js';
import { type Assignment, buildTargets, gridsFor, gridsOfMaps } from '../detect/assign.js';
import { ASSIGNMENT_MEMO } from '../detect/index.js';
import { type TaskEvaluator, type TaskNetwork, type TaskSpec, taskCodeOptions } from '../types.js';
import { EmbedHead } from './head.js';
import { embedLoss, gatherEmbeddings, gtEmbeddingCells, positiveEmbeddingCells } from './loss.js';

const fmt = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function classifierOf(head: EmbedHead) {
  if (!head.classifier) throw new Error("the embed head's identity classifier was dropped (a deploy model has no embedding loss)");
  return head.classifier;
}

function evaluator(net: TaskNetwork): TaskEvaluator<tf.Tensor4D[]> {
  const cfg = net.config;
  let chunks: Float32Array[] = [];
  let ids: number[] = [];
  let groups: number[] = [];
  let loss = 0;
  let batches = 0;
  let seen = 0;
  return {
    reset() {
      chunks = [];
      ids = [];
      groups = [];
      loss = 0;
      batches = 0;
      seen = 0;
    },
    process(batch, out) {
      if (!batch.identity) throw new Error('embed validation: the dataset has no identities');
      const head = net.heads.embed as EmbedHead;
      const picks = gtEmbeddingCells(batch.targets, cfg.anchors, net.strides, gridsOfMaps(out), batch.identity);
      loss += embedLoss(out, picks, classifierOf(head)).dataSync()[0]!;
      chunks.push(gatherEmbeddings(out, picks).dataSync() as Float32Array);
      for (let k = 0; k < picks.gt.length; k++) {
        ids.push(picks.identity[k]!);
        groups.push(seen + batch.targets[picks.gt[k]! * 6]!);
      }
      batches++;
      seen += batch.shape[0];
    },
    evaluate() {
      const E = cfg.embedDim;
      const all = new Float32Array(ids.length * E);
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.length;
      }
      const r = retrievalMetrics(all, E, Int32Array.from(ids), Int32Array.from(groups));
      const l = loss / Math.max(batches, 1);
      return {
        columns: { 'val/emb_loss': l, 'metrics/top1(E)': r.top1, 'metrics/mAP(E)': r.mAP },
        report: { top1: r.top1, mAP: r.mAP, queries: r.queries, loss: l },
        text: `embed: retrieval top-1 ${fmt(r.top1)}  mAP ${fmt(r.mAP)}  (${r.queries} queries)`,
      };
    },
  };
}

export const embedTask: TaskSpec<'embed', tf.Tensor4D[], EmbedHead> = {
  name: 'embed',
  description: 'identity embeddings (JDE) at detected objects: identity cross-entropy, retrieval top-1 and mAP',
  module: 'embed_head',
  labels: 'per-object identity ids',
  needsExtras: true,
  defaultWeight: 0.1,
  checkDataset(info, source) {
    if (info.numIdentities < 2) {
      throw new Error(
        `${source}: the embed task needs ${embedTask.labels}, and this dataset has ` +
          `${info.numIdentities === 0 ? 'none' : 'only one identity'} (the built-in shapes and fashion datasets have them)`,
      );
    }
  },
  checkConfig(cfg, fail) {
    if (!cfg.tasks.includes('detect')) fail('tasks', "lists embed without detect (embeddings are taken at the detected objects' cells)");
    if (cfg.numIdentities < 2)
      fail('num_identities', `must be at least 2 for the embed task (the identities of the training data), got ${cfg.numIdentities}`);
  },
  buildHead: (ctx) =>
    new EmbedHead({
      inChannels: ctx.channels,
      embedDim: ctx.config.embedDim,
      numIdentities: ctx.config.numIdentities,
      code: taskCodeOptions(ctx.config),
      ctx,
    }),
  globalCounts(net, batch, memo) {
    if (!batch.identity) return [0];
    const c = net.config;
    const [b, h, w] = batch.shape;
    const grids = gridsFor(h, w, net.strides);
    const a = memo<Assignment>(ASSIGNMENT_MEMO, () =>
      buildTargets(batch.targets, { anchors: c.anchors, strides: net.strides, grids, batchSize: b, nc: c.nc }),
    );
    return [positiveEmbeddingCells(a, grids, batch.identity).identity.length];
  },
  loss(ctx) {
    if (!ctx.batch.identity) throw new Error("the embed task needs identity ids in every batch (load the data with the task's labels)");
    const c = ctx.net.config;
    const grids = gridsOfMaps(ctx.out);
    const a = ctx.memo<Assignment>(ASSIGNMENT_MEMO, () =>
      buildTargets(ctx.batch.targets, {
        anchors: c.anchors,
        strides: ctx.net.strides,
        grids,
        batchSize: ctx.batch.shape[0],
        nc: c.nc,
      }),
    );
    const picks = positiveEmbeddingCells(a, grids, ctx.batch.identity);
    const n = picks.identity.length;
    const f = ctx.global ? (ctx.global[0]! > 0 ? n / ctx.global[0]! : 0) : 1;
    const l = embedLoss(ctx.out, picks, classifierOf(ctx.head));
    const loss = f === 1 ? l : (tf.mul(l, f) as tf.Scalar);
    return { loss, items: { embed: loss.dataSync()[0]! } };
  },
  progress: [['emb', 'embed']],
  columns: ['train/emb_loss', 'val/emb_loss', 'metrics/top1(E)', 'metrics/mAP(E)'],
  trainColumns: { 'train/emb_loss': 'embed' },
  resultsPlace: 'tail',
  fitness: (r) => r['metrics/mAP(E)'],
  fitnessRole: 'mean',
  summary: (r) => `embed loss ${fmt(r['train/emb_loss'], 4)} top-1 ${fmt(r['metrics/top1(E)'])} mAP ${fmt(r['metrics/mAP(E)'])}`,
  evaluator,
  predict(ctx) {
    if (ctx.detections.length === 0) return { value: [], json: { embeddings: [] } };
    const [H, W] = ctx.input;
    const o = ctx.letterbox;
    const dets = ctx.detections;
    const rows = new Float32Array(dets.length * 6);
    dets.forEach((d, i) => {
      const [x1, y1, x2, y2] = d.box.map((v, k) => v * o.scale + (k % 2 === 0 ? o.padX : o.padY)) as [number, number, number, number];
      rows.set(
        [
          0,
          d.cls,
          Math.min(W - 1e-3, Math.max(0, (x1 + x2) / 2)),
          Math.min(H - 1e-3, Math.max(0, (y1 + y2) / 2)),
          Math.max(x2 - x1, 1e-3),
          Math.max(y2 - y1, 1e-3),
        ],
        i * 6,
      );
    });
    const picks = gtEmbeddingCells(rows, ctx.net.config.anchors, ctx.net.strides, gridsOfMaps(ctx.out), new Int32Array(dets.length).fill(0));
    const raw = gatherEmbeddings(ctx.out, picks);
    const e = tf.div(raw, tf.add(tf.norm(raw, 'euclidean', 1, true), 1e-12));
    const flat = e.dataSync();
    const E = ctx.net.config.embedDim;
    const byGt = new Array<Float32Array>(dets.length);
    for (let k = 0; k < picks.gt.length; k++) byGt[picks.gt[k]!] = Float32Array.from(flat.subarray(k * E, (k + 1) * E));
    return { value: byGt, json: { embeddings: byGt.map((v) => Array.from(v, (x) => Number(x.toFixed(5)))) } };
  },
};
