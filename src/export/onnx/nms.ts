/**
 * In-graph post-processing appended after the decoded rows: ONNX
 * NonMaxSuppression, class-aware and multi-label, as `postprocess` in
 * tasks/detect/nms.ts does by default.
 *
 *   scores[b, c, i] = obj · cls_c                        (float32)
 *   NonMaxSuppression(center_point_box = 1 on cx, cy, w, h): per image and
 *     class, boxes with score > conf, greedy by descending score, a box is
 *     suppressed by a kept one with IoU > iou, at most maxDet per class
 *   then per image the maxDet highest-scoring of those (a stable sort of the
 *   kept boxes by (image, −score) in float64, then each box's rank inside
 *   its image from exclusive per-image counts).
 *
 * Output `nms` [K, 7] float32 = [batch_index, x1, y1, x2, y2, score, class_id],
 * ordered by image, then descending score. The `detections` output stays.
 *
 * Exact w.r.t. `postprocess(rows, nc, { confThres: conf, iouThres: iou,
 * maxDet })` up to: ties in score (order, and which box wins a tie at the
 * maxDet cut), scores within an ulp of conf (postprocess multiplies in
 * float64), boxes whose IoU is within rounding of iou, and postprocess's
 * maxNms = 30000 candidate cap and maxWh = 7680 box-size filter (not applied
 * here; neither binds at the input sizes exported).
 */
import type { OnnxBuilder } from './builder.js';
import { DataType } from './schema.js';

export interface NmsOptions {
  /** Score threshold: candidates need obj·cls > conf. */
  conf: number;
  /** IoU threshold: a box is suppressed by a kept box of its class with IoU > iou. */
  iou: number;
  /** Maximum detections per image. */
  maxDet: number;
}

export function checkNmsOptions(o: NmsOptions): void {
  if (!(o.conf >= 0 && o.conf <= 1)) throw new Error(`onnx export: nms.conf must be in [0, 1]; got ${o.conf}`);
  if (!(o.iou >= 0 && o.iou <= 1)) throw new Error(`onnx export: nms.iou must be in [0, 1]; got ${o.iou}`);
  if (!Number.isInteger(o.maxDet) || o.maxDet < 1) throw new Error(`onnx export: nms.maxDet must be a positive integer; got ${o.maxDet}`);
}

/** Appends the NMS tail reading `rows` [B, N, 5+nc]; returns the name of its [K, 7] output (`out`). */
export function appendNms(b: OnnxBuilder, rows: string, nc: number, o: NmsOptions, out: string): string {
  b.namePrefix = 'nms';
  const slice = (x: string, from: number, to: number, axis: number): string => b.op('Slice', [x, b.int64([from]), b.int64([to]), b.int64([axis])]);
  const unsq = (x: string): string => b.op('Unsqueeze', [x, b.int64([1])]);
  const boxes = slice(rows, 0, 4, 2);
  const scores = b.op('Mul', [slice(rows, 4, 5, 2), slice(rows, 5, 5 + nc, 2)]);
  const scoresT = b.op('Transpose', [scores], { perm: [0, 2, 1] });
  const sel = b.op('NonMaxSuppression', [boxes, scoresT, b.int64([o.maxDet]), b.float([o.iou]), b.float([o.conf])], { center_point_box: 1 });
  const bIdx = b.op('Gather', [sel, b.scalarI(0)], { axis: 1 });
  const cIdx = b.op('Gather', [sel, b.scalarI(1)], { axis: 1 });
  const box = b.op('GatherND', [boxes, b.op('Gather', [sel, b.int64([0, 2])], { axis: 1 })]);
  const score = b.op('GatherND', [scoresT, sel]);
  const cxcy = slice(box, 0, 2, 1);
  const half = b.op('Div', [slice(box, 2, 4, 1), b.scalarF(2)]);
  const table = b.op(
    'Concat',
    [
      unsq(b.op('Cast', [bIdx], { to: DataType.FLOAT })),
      b.op('Sub', [cxcy, half]),
      b.op('Add', [cxcy, half]),
      unsq(score),
      unsq(b.op('Cast', [cIdx], { to: DataType.FLOAT })),
    ],
    { axis: 1 },
  );

  // Order by (image, −score): key = 2·b + (1 − score) in float64 (exact for float32 scores in [0, 1]).
  const dbl = (x: string): string => b.op('Cast', [x], { to: DataType.DOUBLE });
  const one = b.initializer(b.fresh('one_f64'), [], DataType.DOUBLE, Float64Array.from([1]));
  const two = b.initializer(b.fresh('two_f64'), [], DataType.DOUBLE, Float64Array.from([2]));
  const key = b.op('Add', [b.op('Mul', [dbl(bIdx), two]), b.op('Sub', [one, dbl(score)])]);
  const kShape = b.op('Shape', [key]);
  const [, order] = b.node('TopK', [key, kShape], [b.fresh('topk_values'), b.fresh('topk_order')], { axis: 0, largest: 0, sorted: 1 });
  const bSorted = b.op('Gather', [bIdx, order!], { axis: 0 });
  // Rank of each box inside its image: position − number of boxes of earlier images.
  const zero = b.scalarI(0);
  const step = b.scalarI(1);
  const images = b.op('Range', [zero, b.op('Gather', [b.op('Shape', [rows]), b.scalarI(0)], { axis: 0 }), step]);
  const onehot = b.op('Cast', [b.op('Equal', [unsq(bSorted), images])], { to: DataType.INT64 });
  const counts = b.op('ReduceSum', [onehot, b.int64([0])], { keepdims: 0 });
  const offsets = b.op('CumSum', [counts, b.scalarI(0)], { exclusive: 1 });
  const pos = b.op('Range', [zero, b.op('Gather', [kShape, b.scalarI(0)], { axis: 0 }), step]);
  const rank = b.op('Sub', [pos, b.op('Gather', [offsets, bSorted], { axis: 0 })]);
  const keep = b.op('Less', [rank, b.scalarI(o.maxDet)]);
  const picked = b.op('Compress', [order!, keep], { axis: 0 });
  b.reserve(out);
  b.node('Gather', [table, picked], [out], { axis: 0 });
  return out;
}
