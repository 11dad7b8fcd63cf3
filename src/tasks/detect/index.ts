/**
 * The detection task: the YOLO head on every level of the shared representation,
 * target assignment and the CIoU + objectness + class loss (YOLOv5's gains), and
 * COCO mAP. Its validation runs on the decoded rows of any runner — a checkpoint,
 * an exported ONNX or TF.js model, data-parallel replicas — in train/validate.ts,
 * so the spec has no output evaluator; its results.csv columns lead the file, as
 * in Ultralytics' (always present, NaN for a model without detection).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TaskSpec } from '../types.js';
import { type Assignment, buildTargets, gridsFor, gridsOfMaps } from './assign.js';
import { DetectHead } from './head.js';
import { detectionLoss } from './loss.js';

export const DETECT_COLUMNS = [
  'train/box_loss',
  'train/obj_loss',
  'train/cls_loss',
  'metrics/precision(B)',
  'metrics/recall(B)',
  'metrics/mAP50(B)',
  'metrics/mAP50-95(B)',
  'val/box_loss',
  'val/obj_loss',
  'val/cls_loss',
] as const;

/** The detection target assignment of a batch, shared by the tasks that use it (memo key). */
export const ASSIGNMENT_MEMO = 'detect:assignment';

const fmt = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

export const detectTask: TaskSpec<'detect', tf.Tensor4D[], DetectHead> = {
  name: 'detect',
  description: 'object detection: anchored YOLO head on every level, CIoU + objectness + class BCE, COCO mAP',
  module: 'head',
  labels: 'boxes and classes',
  needsExtras: false,
  defaultWeight: 1,
  buildHead: (ctx) =>
    new DetectHead({
      inChannels: ctx.channels,
      strides: ctx.strides,
      nc: ctx.config.nc,
      anchorsPerLevel: ctx.config.anchors[0]!.length,
      depth: ctx.headDepth,
      imgsz: ctx.config.dims.imgsz,
      implicit: ctx.config.implicit,
      ctx,
    }),
  globalCounts(net, batch, memo) {
    const c = net.config;
    const [b, h, w] = batch.shape;
    const a = memo<Assignment>(ASSIGNMENT_MEMO, () =>
      buildTargets(batch.targets, {
        anchors: c.anchors,
        strides: net.strides,
        grids: gridsFor(h, w, net.strides),
        batchSize: b,
        nc: c.nc,
      }),
    );
    return a.levels.map((l) => l.count);
  },
  loss(ctx) {
    const c = ctx.net.config;
    const a = ctx.memo<Assignment>(ASSIGNMENT_MEMO, () =>
      buildTargets(ctx.batch.targets, {
        anchors: c.anchors,
        strides: ctx.net.strides,
        grids: gridsOfMaps(ctx.out),
        batchSize: ctx.batch.shape[0],
        nc: c.nc,
      }),
    );
    const global = ctx.global && ctx.globalBatch !== undefined ? { global: { batch: ctx.globalBatch, positives: ctx.global } } : {};
    const l = detectionLoss(ctx.out, a, c.anchors, ctx.net.strides, c.nc, { ...ctx.options.lossHyp, ...global });
    return { loss: tf.add(tf.add(l.box, l.obj), l.cls) as tf.Scalar, items: { box: l.items.box, obj: l.items.obj, cls: l.items.cls } };
  },
  progress: [
    ['box', 'box'],
    ['obj', 'obj'],
    ['cls', 'cls'],
  ],
  columns: DETECT_COLUMNS,
  trainColumns: { 'train/box_loss': 'box', 'train/obj_loss': 'obj', 'train/cls_loss': 'cls' },
  resultsPlace: 'lead',
  fitness: (r) => {
    const m50 = r['metrics/mAP50(B)'];
    const m = r['metrics/mAP50-95(B)'];
    return m50 !== undefined && m !== undefined && Number.isFinite(m50) ? 0.1 * m50 + 0.9 * m : undefined;
  },
  fitnessRole: 'primary',
  summary: (r) =>
    `box ${fmt(r['train/box_loss'], 4)} obj ${fmt(r['train/obj_loss'], 4)} cls ${fmt(r['train/cls_loss'], 4)} | ` +
    `P ${fmt(r['metrics/precision(B)'])} R ${fmt(r['metrics/recall(B)'])} mAP50 ${fmt(r['metrics/mAP50(B)'])} mAP50-95 ${fmt(r['metrics/mAP50-95(B)'])}`,
};
