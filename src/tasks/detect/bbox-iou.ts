/**
 * Differentiable box overlap measures for the detection losses: IoU, GIoU
 * (Rezatofighi et al. 2019), DIoU and CIoU (Zheng et al. 2020), computed
 * elementwise on two tensors of boxes [..., 4] (normally [N, 4]) exactly as
 * YOLOv5's `bbox_iou`:
 *
 *   IoU  = inter / (w1·h1 + w2·h2 − inter + eps)
 *   GIoU = IoU − (C − union) / C,          C = area of the smallest enclosing box (+ eps)
 *   DIoU = IoU − ρ² / c²,                  ρ = distance between the centres, c = diagonal of the enclosing box
 *   CIoU = DIoU − α·v,   v = 4/π²·(atan(w2/h2) − atan(w1/h1))²,   α = v / (v − IoU + 1 + eps)
 *
 * As in YOLOv5 α is a constant for the gradient (computed under no_grad there):
 * tfjs has no stop_gradient, so `stopGradient` below is an identity with a zero
 * custom gradient. Identical boxes give 1 for every kind; GIoU, DIoU and CIoU
 * lie in (−1, 1] and are negative for far-apart boxes.
 */
import * as tf from '@tensorflow/tfjs-core';

export type BoxFormat = 'xywh' | 'xyxy';
export type IouKind = 'iou' | 'giou' | 'diou' | 'ciou';
export const IOU_KINDS: readonly IouKind[] = ['iou', 'giou', 'diou', 'ciou'];

export interface BboxIouOptions {
  /** 'xywh': [cx, cy, w, h] (default); 'xyxy': [x1, y1, x2, y2]. Both boxes use it. */
  format?: BoxFormat;
  /** Default 'iou'. */
  kind?: IouKind;
  /** Guards the divisions (default 1e-7, as YOLOv5). */
  eps?: number;
  /**
   * CIoU only: a fixed trade-off weight α (broadcast against the result) instead
   * of the detached α computed from the boxes. The gradient of CIoU with α given
   * here equals the default one at the boxes α was computed from (used by the
   * gradient checks, which need a function whose finite differences match).
   */
  alpha?: tf.Tensor;
}

// An identity whose gradient is zero: the value passes, the gradient does not.
const stopGradientOp = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/** `x` as a constant for tf.grads (PyTorch's `.detach()`): same values, zero gradient. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

interface Sides {
  x1: tf.Tensor;
  y1: tf.Tensor;
  x2: tf.Tensor;
  y2: tf.Tensor;
  w: tf.Tensor;
  h: tf.Tensor;
}

function sides(box: tf.Tensor, format: BoxFormat): Sides {
  const last = box.shape[box.shape.length - 1];
  if (last !== 4) throw new Error(`bboxIou: boxes must have 4 values in the last axis, got shape [${box.shape.join(', ')}]`);
  const outShape = box.shape.slice(0, -1);
  const [a, b, c, d] = tf.split(box, 4, -1).map((t) => tf.reshape(t, outShape)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  if (format === 'xywh') {
    const hw = tf.mul(c, 0.5);
    const hh = tf.mul(d, 0.5);
    return { x1: tf.sub(a, hw), y1: tf.sub(b, hh), x2: tf.add(a, hw), y2: tf.add(b, hh), w: c, h: d };
  }
  return { x1: a, y1: b, x2: c, y2: d, w: tf.sub(c, a), h: tf.sub(d, b) };
}

/**
 * Elementwise overlap of `box1[i]` and `box2[i]` (shapes [..., 4], equal or
 * broadcastable after dropping the last axis); returns shape [...].
 * Differentiable in both boxes (CIoU's α excepted, see above).
 */
export function bboxIou(box1: tf.Tensor, box2: tf.Tensor, opts: BboxIouOptions = {}): tf.Tensor {
  const format = opts.format ?? 'xywh';
  const kind = opts.kind ?? 'iou';
  const eps = opts.eps ?? 1e-7;
  if (format !== 'xywh' && format !== 'xyxy') throw new Error(`bboxIou: unknown box format '${String(format)}'`);
  if (!IOU_KINDS.includes(kind)) throw new Error(`bboxIou: unknown kind '${String(kind)}' (expected ${IOU_KINDS.join(', ')})`);
  return tf.tidy(() => {
    const p = sides(box1, format);
    const q = sides(box2, format);
    const iw = tf.relu(tf.sub(tf.minimum(p.x2, q.x2), tf.maximum(p.x1, q.x1)));
    const ih = tf.relu(tf.sub(tf.minimum(p.y2, q.y2), tf.maximum(p.y1, q.y1)));
    const inter = tf.mul(iw, ih);
    const union = tf.add(tf.sub(tf.add(tf.mul(p.w, p.h), tf.mul(q.w, q.h)), inter), eps);
    const iou = tf.div(inter, union);
    if (kind === 'iou') return iou;
    const cw = tf.sub(tf.maximum(p.x2, q.x2), tf.minimum(p.x1, q.x1));
    const ch = tf.sub(tf.maximum(p.y2, q.y2), tf.minimum(p.y1, q.y1));
    if (kind === 'giou') {
      const cArea = tf.add(tf.mul(cw, ch), eps);
      return tf.sub(iou, tf.div(tf.sub(cArea, union), cArea));
    }
    const c2 = tf.add(tf.add(tf.square(cw), tf.square(ch)), eps);
    const dx = tf.sub(tf.add(q.x1, q.x2), tf.add(p.x1, p.x2));
    const dy = tf.sub(tf.add(q.y1, q.y2), tf.add(p.y1, p.y2));
    const rho2 = tf.mul(tf.add(tf.square(dx), tf.square(dy)), 0.25);
    const diou = tf.sub(iou, tf.div(rho2, c2));
    if (kind === 'diou') return diou;
    const dAtan = tf.sub(tf.atan(tf.div(q.w, tf.add(q.h, eps))), tf.atan(tf.div(p.w, tf.add(p.h, eps))));
    const v = tf.mul(tf.square(dAtan), 4 / (Math.PI * Math.PI));
    const alpha = opts.alpha ?? stopGradient(tf.div(v, tf.add(tf.sub(v, iou), 1 + eps)));
    return tf.sub(diou, tf.mul(v, alpha));
  });
}

/** CIoU's α = v / (v − IoU + 1 + eps) for the given boxes, as a constant (no gradient). */
export function ciouAlpha(box1: tf.Tensor, box2: tf.Tensor, opts: Pick<BboxIouOptions, 'format' | 'eps'> = {}): tf.Tensor {
  const eps = opts.eps ?? 1e-7;
  return tf.tidy(() => {
    const diou = bboxIou(box1, box2, { ...opts, kind: 'diou' });
    const iou = bboxIou(box1, box2, { ...opts, kind: 'iou' });
    // v·α is DIoU − CIoU with α = 1; recover v from it.
    const v = tf.sub(diou, bboxIou(box1, box2, { ...opts, kind: 'ciou', alpha: tf.scalar(1) }));
    return stopGradient(tf.div(v, tf.add(tf.sub(v, iou), 1 + eps)));
  });
}
