/**
 * Semantic segmentation: per-pixel classes (background + the detection classes)
 * from the instance masks. Head on the finest shared level, upsampled to the
 * input; softmax cross-entropy (optionally + Dice); validated by mIoU over
 * background and classes inside the letterboxed image area.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SegmentationConfusion } from '../../eval/segmentation-metrics.js';
import { imageCanvas } from '../../plot/draw-boxes.js';
import { type TaskEvaluator, type TaskSpec, taskCodeOptions } from '../types.js';
import { unletterboxClassMap } from './class-map.js';
import { SegmentHead } from './head.js';
import { segmentLoss } from './loss.js';

const fmt = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function evaluator(classes: number): TaskEvaluator<tf.Tensor4D> {
  let confusion = new SegmentationConfusion(classes);
  let loss = 0;
  let batches = 0;
  return {
    reset() {
      confusion = new SegmentationConfusion(classes);
      loss = 0;
      batches = 0;
    },
    process(batch, out) {
      if (!batch.semantic) throw new Error('segment validation: the dataset has no masks');
      const [B, H, W] = batch.shape;
      loss += segmentLoss(out, batch.semantic).dataSync()[0]!;
      const pred = tf.argMax(out, -1).dataSync();
      // Only the image area: letterbox padding has no labels.
      for (let i = 0; i < B; i++) {
        const o = batch.originals[i];
        const x0 = o ? Math.max(0, Math.floor(o.padX)) : 0;
        const y0 = o ? Math.max(0, Math.floor(o.padY)) : 0;
        const x1 = o ? Math.min(W, Math.ceil(o.padX + o.width * o.scale)) : W;
        const y1 = o ? Math.min(H, Math.ceil(o.padY + o.height * o.scale)) : H;
        for (let y = y0; y < y1; y++) {
          const off = (i * H + y) * W;
          confusion.add(pred.subarray(off + x0, off + x1), batch.semantic.subarray(off + x0, off + x1));
        }
      }
      batches++;
    },
    evaluate() {
      const l = loss / Math.max(batches, 1);
      const mIoU = confusion.mIoU();
      const iou = Array.from(confusion.iou());
      const pixelAccuracy = confusion.pixelAccuracy();
      return {
        columns: { 'val/seg_loss': l, 'metrics/mIoU(S)': mIoU },
        report: { mIoU, pixel_accuracy: pixelAccuracy, iou, loss: l },
        text: `segment: mIoU ${fmt(mIoU)}  pixel accuracy ${fmt(pixelAccuracy)}  IoU per class ${iou.map((v) => fmt(v)).join(' ')} (background first)`,
      };
    },
  };
}

export const segmentTask: TaskSpec<'segment', tf.Tensor4D, SegmentHead> = {
  name: 'segment',
  description: 'semantic segmentation: background + classes per pixel from instance masks, cross-entropy (+ Dice), mIoU',
  module: 'segment_head',
  labels: 'per-instance masks',
  needsExtras: true,
  defaultWeight: 0.5,
  checkDataset(info, source) {
    if (!info.masks) {
      throw new Error(
        `${source}: the segment task needs ${segmentTask.labels}, and this dataset has none ` +
          '(the built-in shapes and fashion datasets have them)',
      );
    }
  },
  buildHead: (ctx) => new SegmentHead({ inChannels: ctx.channels[0]!, nc: ctx.config.nc, code: taskCodeOptions(ctx.config), ctx }),
  loss(ctx) {
    if (!ctx.batch.semantic)
      throw new Error("the segment task needs class maps from instance masks in every batch (load the data with the task's labels)");
    const l = segmentLoss(ctx.out, ctx.batch.semantic, { dice: ctx.options.dice ?? 0 });
    const loss = ctx.share === 1 ? l : (tf.mul(l, ctx.share) as tf.Scalar);
    return { loss, items: { segment: loss.dataSync()[0]! } };
  },
  progress: [['seg', 'segment']],
  columns: ['train/seg_loss', 'val/seg_loss', 'metrics/mIoU(S)'],
  trainColumns: { 'train/seg_loss': 'segment' },
  resultsPlace: 'tail',
  fitness: (r) => r['metrics/mIoU(S)'],
  fitnessRole: 'mean',
  summary: (r) => `segment loss ${fmt(r['train/seg_loss'], 4)} mIoU ${fmt(r['metrics/mIoU(S)'])}`,
  evaluator: (net) => evaluator(net.config.nc + 1),
  predict(ctx) {
    const [H, W] = ctx.input;
    const semantic = unletterboxClassMap(tf.argMax(ctx.out, -1).dataSync(), W, H, ctx.letterbox, ctx.image.width, ctx.image.height);
    const present = [...new Set(semantic)].filter((c) => c > 0).sort((a, b) => a - b);
    const masks = present.map((c) => Uint8Array.from(semantic, (v) => (v === c ? 1 : 0)));
    const png = imageCanvas(ctx.image, { boxes: [], cls: present.map((c) => c - 1), masks }, 0.55).toBuffer('image/png');
    const file = `${ctx.stem}_seg.png`;
    return { value: semantic, json: { segmentation: file }, files: { [file]: png } };
  },
};
