/**
 * The YOLOv5 / YOLOR detection loss on raw head maps.
 *
 * Inputs: the raw maps of a batch, one per level, [B, ny, nx, na·(5 + nc)] with
 * per anchor the channels [tx, ty, tw, th, obj, cls_0 … cls_{nc−1}] (YOLOv3
 * layout, as DetectHead emits them), and the batch's assignment from
 * `buildTargets` (see assign.ts for the target table and its formats).
 *
 * Per level, at the assigned positives (b, a, gj, gi), gathered from the map
 * reshaped to [B·ny·nx·na, 5 + nc], the predicted box is decoded in grid units
 * relative to the cell's corner, with the rule of the assignment:
 *   'v5' (scaled):  xy = 2σ(t) − 0.5 ∈ (−0.5, 1.5),   wh = (2σ(t))² · anchor ∈ (0, 4·anchor)
 *   'v3':           xy = σ(t) ∈ (0, 1),                wh = exp(t) · anchor
 * and compared with the target box [x, y, w, h] (same units):
 *   box  = Σ_levels mean_positives(1 − IoU_kind)  (kind 'ciou' default, or 'giou', 'diou', 'iou'),
 *          or with boxLoss 'mse': Σ_levels mean_positives Σ_{x,y,w,h} (pred − target)²
 *   obj  = Σ_levels balance_l · mean_{all B·ny·nx·na anchors} BCE(obj logit, tobj), with
 *          tobj = (1 − gr) + gr · max(IoU, 0) at positives (the IoU of the box loss's
 *          kind, plain IoU for 'mse'; detached: no gradient flows into the box through
 *          it; where several positives share an anchor of a cell the largest wins)
 *          and 0 elsewhere; balance [4.0, 1.0, 0.4] for 3 levels (YOLOv5's)
 *   cls  = Σ_levels mean_{positives × nc} BCE(class logits, targets) with YOLOv5's
 *          smooth_BCE targets cp = 1 − ε/2 (the true class) and cn = ε/2 (the others);
 *          0 when nc = 1 (objectness alone carries the class)
 * Each component is then multiplied by its gain (hyp.box, hyp.obj, hyp.cls) and
 *   total = B · (box + obj + cls)
 * as YOLOv5 does (its loss is a per-image mean times the batch size, so the
 * gradient scale follows the batch size and the per-image learning rate stays
 * fixed); `box`, `obj`, `cls` are returned without the factor B.
 *
 * BCE with logits is computed as max(x, 0) − x·z + log(1 + exp(−|x|)), stable for
 * any x.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Assignment } from './assign.js';
import { bboxIou, type IouKind, stopGradient } from './bbox-iou.js';

export type BoxLossKind = IouKind | 'mse';
export const BOX_LOSS_KINDS: readonly BoxLossKind[] = ['ciou', 'giou', 'diou', 'iou', 'mse'];

export interface DetectionHyp {
  /** Box loss gain (YOLOv5: 0.05). */
  box: number;
  /** Objectness loss gain (YOLOv5: 1.0, before scaling by image size). */
  obj: number;
  /** Class loss gain (YOLOv5: 0.5, before scaling by nc). */
  cls: number;
  /** Box loss kind (default 'ciou'). */
  boxLoss: BoxLossKind;
  /** IoU ratio of the objectness target at positives: (1 − gr) + gr·IoU (default 1). */
  gr: number;
  /** Label smoothing ε of the class targets (default 0). */
  labelSmoothing: number;
  /** Objectness weight per level; default by level count (YOLOv5: [4.0, 1.0, 0.4] for 3). */
  balance?: number[];
  /**
   * Data-parallel shards: the batch size and positives per level of the *whole*
   * batch this shard belongs to. Means then become sums divided by the global
   * counts (and total = B_global · (…)), so the shards' losses and gradients add
   * up exactly to the whole batch's. Absent: this batch is the whole batch.
   */
  global?: { batch: number; positives: number[] };
}

export const DEFAULT_DETECTION_HYP: Readonly<DetectionHyp> = Object.freeze({
  box: 0.05,
  obj: 1.0,
  cls: 0.5,
  boxLoss: 'ciou',
  gr: 1.0,
  labelSmoothing: 0,
});

/** YOLOv5's objectness balance for `nl` levels. */
export function defaultBalance(nl: number): number[] {
  if (nl === 3) return [4.0, 1.0, 0.4];
  return [4.0, 1.0, 0.25, 0.06, 0.02, 0.01, 0.01, 0.01].slice(0, nl);
}

export interface HypScaling {
  /** Number of classes: cls gain × nc / 80. */
  nc?: number;
  /** Training image size: obj gain × (imgsz / 640)². */
  imgsz?: number;
  /** Output levels: every gain × 3 / nl. */
  nl?: number;
}

/**
 * YOLOv5's train.py scaling of the gains to the dataset and model:
 * box × 3/nl, cls × nc/80 × 3/nl, obj × (imgsz/640)² × 3/nl (each factor only when
 * its quantity is given). Returns a new hyp.
 */
export function scaleDetectionHyp<T extends Pick<DetectionHyp, 'box' | 'obj' | 'cls'>>(hyp: T, s: HypScaling): T {
  const layers = s.nl === undefined ? 1 : 3 / s.nl;
  return {
    ...hyp,
    box: hyp.box * layers,
    cls: hyp.cls * layers * (s.nc === undefined ? 1 : s.nc / 80),
    obj: hyp.obj * layers * (s.imgsz === undefined ? 1 : (s.imgsz / 640) ** 2),
  };
}

/** YOLOv5 smooth_BCE: positive and negative class targets for label smoothing ε. */
export function smoothBce(eps = 0): { cp: number; cn: number } {
  return { cp: 1 - 0.5 * eps, cn: 0.5 * eps };
}

/** Elementwise binary cross-entropy of logits x against targets z (broadcasting), numerically stable. */
export function bceWithLogits(x: tf.Tensor, z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
}

/** Class targets [n × nc] (row-major) for the positives' classes with smooth_BCE ε. */
export function classTargets(cls: Int32Array, nc: number, eps = 0): Float32Array {
  const { cp, cn } = smoothBce(eps);
  const t = new Float32Array(cls.length * nc).fill(cn);
  for (let k = 0; k < cls.length; k++) t[k * nc + cls[k]!] = cp;
  return t;
}

export interface LevelLossInfo {
  positives: number;
  /** Mean IoU (of the box loss's kind; plain IoU for 'mse') over the level's positives, NaN without positives. */
  meanIou: number;
  /** The level's objectness BCE mean, before balance and gain. */
  obj: number;
}

export interface DetectionLossItems {
  /** B · (box + obj + cls): `total`'s value. */
  total: number;
  box: number;
  obj: number;
  cls: number;
  positives: number;
  /** Mean IoU over all positives, NaN without positives. */
  meanIou: number;
  levels: LevelLossInfo[];
}

export interface DetectionLoss {
  /** B · (box + obj + cls): the scalar to minimise. */
  total: tf.Scalar;
  /** Box loss × hyp.box. */
  box: tf.Scalar;
  /** Objectness loss × hyp.obj. */
  obj: tf.Scalar;
  /** Class loss × hyp.cls (0 when nc = 1). */
  cls: tf.Scalar;
  /** The same as numbers, for logging. */
  items: DetectionLossItems;
}

function checkInputs(
  maps: tf.Tensor4D[],
  targets: Assignment,
  anchors: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
  strides: readonly number[],
  nc: number,
): void {
  const nl = maps.length;
  if (nl === 0) throw new Error('detectionLoss: no maps');
  if (anchors.length !== nl || strides.length !== nl || targets.levels.length !== nl) {
    throw new Error(`detectionLoss: ${nl} maps, ${anchors.length} anchor levels, ${strides.length} strides, ${targets.levels.length} target levels`);
  }
  if (!Number.isInteger(nc) || nc < 1) throw new Error(`detectionLoss: nc must be a positive integer, got ${nc}`);
  const B = maps[0]!.shape[0];
  maps.forEach((m, i) => {
    const [b, h, w, c] = m.shape;
    const na = anchors[i]!.length;
    if (b !== B) throw new Error(`detectionLoss: map ${i} has batch ${b}, map 0 has ${B}`);
    if (c !== na * (5 + nc)) throw new Error(`detectionLoss: map ${i} has ${c} channels, expected ${na} anchors × (5 + ${nc})`);
    const [gy, gx] = targets.grids[i]!;
    if (gy !== h || gx !== w) throw new Error(`detectionLoss: map ${i} is ${h}x${w} but the targets were built for ${gy}x${gx}`);
    if (targets.strides[i] !== strides[i])
      throw new Error(`detectionLoss: level ${i} stride ${strides[i]} but the targets used ${targets.strides[i]}`);
    const ta = targets.anchors[i]!;
    if (ta.length !== na || ta.some(([aw, ah], k) => aw !== anchors[i]![k]![0] || ah !== anchors[i]![k]![1])) {
      throw new Error(`detectionLoss: level ${i} anchors differ from those the targets were built with`);
    }
    const lt = targets.levels[i]!;
    for (let k = 0; k < lt.count; k++) {
      const bi = lt.b[k]!;
      const cl = lt.cls[k]!;
      if (bi < 0 || bi >= B) throw new Error(`detectionLoss: level ${i} positive ${k} has image index ${bi} outside the batch of ${B}`);
      if (cl < 0 || cl >= nc) throw new Error(`detectionLoss: level ${i} positive ${k} has class ${cl} outside [0, ${nc})`);
    }
  });
}

/**
 * The detection loss of a batch (see the module comment). `anchors` (input
 * pixels) and `strides` must be those `targets` was built with; the decode rule
 * is the assignment's. Computes `items` with one read-back of the scalars (and
 * of the positives' IoU, which the objectness targets need anyway).
 */
export function detectionLoss(
  maps: tf.Tensor4D[],
  targets: Assignment,
  anchors: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
  strides: readonly number[],
  nc: number,
  hyp: Partial<DetectionHyp> = {},
): DetectionLoss {
  const h: DetectionHyp = { ...DEFAULT_DETECTION_HYP, ...hyp };
  checkInputs(maps, targets, anchors, strides, nc);
  if (!BOX_LOSS_KINDS.includes(h.boxLoss))
    throw new Error(`detectionLoss: unknown box loss '${String(h.boxLoss)}' (expected ${BOX_LOSS_KINDS.join(', ')})`);
  if (!(h.labelSmoothing >= 0 && h.labelSmoothing <= 1)) throw new Error(`detectionLoss: labelSmoothing must be in [0, 1], got ${h.labelSmoothing}`);
  const nl = maps.length;
  const balance = h.balance ?? defaultBalance(nl);
  if (balance.length !== nl) throw new Error(`detectionLoss: balance has ${balance.length} entries for ${nl} levels`);
  const B = maps[0]!.shape[0];
  const G = h.global;
  if (G && (G.positives.length !== nl || !(G.batch >= B))) {
    throw new Error(`detectionLoss: global counts must give positives for ${nl} levels and a batch ≥ ${B}`);
  }
  const Bg = G ? G.batch : B;
  const no = 5 + nc;
  const iouKind: IouKind = h.boxLoss === 'mse' ? 'iou' : h.boxLoss;
  const levels: LevelLossInfo[] = [];
  let iouSum = 0;
  let positives = 0;

  const parts = tf.tidy(() => {
    const boxTerms: tf.Tensor[] = [];
    const objTerms: tf.Tensor[] = [];
    const clsTerms: tf.Tensor[] = [];
    const levelObj: tf.Tensor[] = [];
    maps.forEach((map, i) => {
      const [, ny, nx] = map.shape;
      const na = anchors[i]!.length;
      const M = B * ny * nx * na;
      const p = tf.reshape(map, [M, no]);
      const tobj = new Float32Array(M);
      const lt = targets.levels[i]!;
      const n = lt.count;
      let meanIou = Number.NaN;
      if (n > 0) {
        const flat = new Int32Array(n);
        for (let k = 0; k < n; k++) flat[k] = ((lt.b[k]! * ny + lt.gj[k]!) * nx + lt.gi[k]!) * na + lt.a[k]!;
        const ps = tf.gather(p, tf.tensor1d(flat, 'int32'));
        const sxy = tf.sigmoid(tf.slice(ps, [0, 0], [n, 2]));
        const twh = tf.slice(ps, [0, 2], [n, 2]);
        const awh = tf.tensor2d(lt.anchorWh, [n, 2]);
        const pxy = targets.rule === 'v5' ? tf.sub(tf.mul(sxy, 2), 0.5) : sxy;
        const pwh = targets.rule === 'v5' ? tf.mul(tf.square(tf.mul(tf.sigmoid(twh), 2)), awh) : tf.mul(tf.exp(twh), awh);
        const pbox = tf.concat([pxy, pwh], 1);
        const tbox = tf.tensor2d(lt.tbox, [n, 4]);
        let iou: tf.Tensor;
        if (h.boxLoss === 'mse') {
          boxTerms.push(tf.div(tf.sum(tf.square(tf.sub(pbox, tbox))), G ? G.positives[i]! : n));
          iou = bboxIou(stopGradient(pbox), tbox, { format: 'xywh', kind: 'iou' });
        } else {
          iou = bboxIou(pbox, tbox, { format: 'xywh', kind: iouKind });
          boxTerms.push(G ? tf.div(tf.sum(tf.sub(1, iou)), G.positives[i]!) : tf.mean(tf.sub(1, iou)));
        }
        // The objectness targets: the IoU's values, so no gradient flows through them.
        const iv = iou.dataSync();
        let s = 0;
        for (let k = 0; k < n; k++) {
          s += iv[k]!;
          const t = 1 - h.gr + h.gr * Math.max(iv[k]!, 0);
          if (t > tobj[flat[k]!]!) tobj[flat[k]!] = t;
        }
        meanIou = s / n;
        iouSum += s;
        positives += n;
        if (nc > 1) {
          const tc = tf.tensor2d(classTargets(lt.cls, nc, h.labelSmoothing), [n, nc]);
          const bce = bceWithLogits(tf.slice(ps, [0, 5], [n, nc]), tc);
          clsTerms.push(G ? tf.div(tf.sum(bce), G.positives[i]! * nc) : tf.mean(bce));
        }
      }
      const objLogits = tf.reshape(tf.slice(p, [0, 4], [M, 1]), [M]);
      const objBce = bceWithLogits(objLogits, tf.tensor1d(tobj));
      const lobj = G ? tf.div(tf.sum(objBce), Bg * ny * nx * na) : tf.mean(objBce);
      levelObj.push(lobj);
      objTerms.push(tf.mul(lobj, balance[i]!));
      levels.push({ positives: n, meanIou, obj: 0 });
    });
    const sum = (ts: tf.Tensor[]): tf.Scalar => (ts.length === 0 ? tf.scalar(0) : tf.addN(ts)) as tf.Scalar;
    const box = tf.mul(sum(boxTerms), h.box) as tf.Scalar;
    const obj = tf.mul(sum(objTerms), h.obj) as tf.Scalar;
    const cls = tf.mul(sum(clsTerms), h.cls) as tf.Scalar;
    const total = tf.mul(tf.add(tf.add(box, obj), cls), Bg) as tf.Scalar;
    return { total, box, obj, cls, levelObj: tf.stack(levelObj) };
  });

  const lo = parts.levelObj.dataSync();
  levels.forEach((l, i) => {
    l.obj = lo[i]!;
  });
  parts.levelObj.dispose();
  const items: DetectionLossItems = {
    total: parts.total.dataSync()[0]!,
    box: parts.box.dataSync()[0]!,
    obj: parts.obj.dataSync()[0]!,
    cls: parts.cls.dataSync()[0]!,
    positives,
    meanIou: positives > 0 ? iouSum / positives : Number.NaN,
    levels,
  };
  return { total: parts.total, box: parts.box, obj: parts.obj, cls: parts.cls, items };
}
