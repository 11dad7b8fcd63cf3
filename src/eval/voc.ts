/**
 * PASCAL VOC-style detection AP (VOC2010 and later): per class, detections are
 * taken in order of decreasing score (ties keep input order) and each is
 * compared with the ground truth of its class in its image:
 *
 * - the ground-truth box with the highest IoU is chosen (the first on ties),
 *   whether or not it was already matched;
 * - IoU >= threshold (0.5) and that box is `difficult`: the detection is
 *   neither a true nor a false positive;
 * - IoU >= threshold, not difficult and not yet matched: true positive, and
 *   the box is now matched; already matched: false positive (a duplicate);
 * - otherwise: false positive.
 *
 * Recall = cumulative TP / npos where npos counts the non-difficult ground
 * truth; precision = cumulative TP / (TP + FP). AP is the area under the
 * precision envelope with all-point interpolation:
 * mrec = [0, recall..., 1], mpre = [0, precision..., 0], mpre made
 * non-increasing from the right, AP = sum over recall steps of
 * (mrec[i+1] - mrec[i]) * mpre[i+1].
 *
 * Coordinates are continuous: a box [x1, y1, x2, y2] has area
 * (x2 - x1) * (y2 - y1). The VOC devkit works in pixel indices and adds 1 to
 * widths and heights; that convention is not used here, so boxes converted
 * from VOC XML should not be shrunk or grown by a pixel on the way in.
 *
 * Classes without non-difficult ground truth have AP = -1 (undefined) and are
 * left out of the mean.
 */

export type VocBox = readonly [number, number, number, number];
export type VocKey = number | string;

export interface VocGroundTruth {
  imageId: VocKey;
  classId: VocKey;
  /** [x1, y1, x2, y2] */
  box: VocBox;
  difficult?: boolean;
}

export interface VocDetection {
  imageId: VocKey;
  classId: VocKey;
  /** [x1, y1, x2, y2] */
  box: VocBox;
  score: number;
}

export interface VocClassResult {
  classId: VocKey;
  /** All-point interpolated AP, -1 when the class has no non-difficult ground truth. */
  ap: number;
  /** Non-difficult ground-truth boxes. */
  npos: number;
  nDet: number;
  tp: number;
  fp: number;
  /** Cumulative recall / precision after each detection in score order (difficult matches included as no-ops). */
  recall: Float64Array;
  precision: Float64Array;
}

export interface VocResult {
  perClass: VocClassResult[];
  /** Mean AP over classes with ground truth; -1 when there are none. */
  mAP: number;
}

export interface VocOptions {
  /** Default 0.5. */
  iouThreshold?: number;
}

function compareKeys(a: VocKey, b: VocKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** IoU of two [x1, y1, x2, y2] boxes in continuous coordinates (no +1). */
export function iouXyxy(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const iw = Math.min(a[ai + 2]!, b[bi + 2]!) - Math.max(a[ai]!, b[bi]!);
  if (iw <= 0) return 0;
  const ih = Math.min(a[ai + 3]!, b[bi + 3]!) - Math.max(a[ai + 1]!, b[bi + 1]!);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a[ai + 2]! - a[ai]!) * (a[ai + 3]! - a[ai + 1]!) + (b[bi + 2]! - b[bi]!) * (b[bi + 3]! - b[bi + 1]!) - inter;
  return ua > 0 ? inter / ua : 0;
}

/** All-point interpolated AP (VOC2010+) of a recall/precision sequence in detection order. */
export function vocAllPointAp(recall: ArrayLike<number>, precision: ArrayLike<number>): number {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i]!;
    mpre[i + 1] = precision[i]!;
  }
  mrec[n + 1] = 1;
  for (let i = n + 1; i > 0; i--) if (mpre[i]! > mpre[i - 1]!) mpre[i - 1] = mpre[i]!;
  let ap = 0;
  for (let i = 0; i < n + 1; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1]! - mrec[i]!) * mpre[i + 1]!;
  return ap;
}

export function evaluateVoc(gts: readonly VocGroundTruth[], dets: readonly VocDetection[], opts: VocOptions = {}): VocResult {
  const thr = opts.iouThreshold ?? 0.5;
  const classSet = new Set<VocKey>();
  for (const g of gts) classSet.add(g.classId);
  for (const d of dets) classSet.add(d.classId);
  const classes = [...classSet].sort(compareKeys);

  // Per class, per image: ground truth boxes.
  const byClass = new Map<VocKey, Map<VocKey, { boxes: number[]; difficult: boolean[]; matched: Uint8Array | null }>>();
  const npos = new Map<VocKey, number>();
  for (const g of gts) {
    let images = byClass.get(g.classId);
    if (!images) {
      images = new Map();
      byClass.set(g.classId, images);
    }
    let e = images.get(g.imageId);
    if (!e) {
      e = { boxes: [], difficult: [], matched: null };
      images.set(g.imageId, e);
    }
    e.boxes.push(g.box[0], g.box[1], g.box[2], g.box[3]);
    e.difficult.push(g.difficult === true);
    if (!g.difficult) npos.set(g.classId, (npos.get(g.classId) ?? 0) + 1);
  }
  const detsByClass = new Map<VocKey, number[]>();
  dets.forEach((d, i) => {
    let l = detsByClass.get(d.classId);
    if (!l) {
      l = [];
      detsByClass.set(d.classId, l);
    }
    l.push(i);
  });

  const perClass: VocClassResult[] = [];
  for (const c of classes) {
    const images = byClass.get(c) ?? new Map();
    for (const e of images.values()) e.matched = new Uint8Array(e.difficult.length);
    const order = (detsByClass.get(c) ?? []).slice();
    order.sort((a, b) => {
      const sa = dets[a]!.score,
        sb = dets[b]!.score;
      return sa !== sb ? (sb > sa ? 1 : -1) : a - b;
    });
    const n = order.length;
    const np = npos.get(c) ?? 0;
    const recall = new Float64Array(n);
    const precision = new Float64Array(n);
    let tp = 0;
    let fp = 0;
    const dbox = new Float64Array(4);
    for (let i = 0; i < n; i++) {
      const d = dets[order[i]!]!;
      dbox[0] = d.box[0];
      dbox[1] = d.box[1];
      dbox[2] = d.box[2];
      dbox[3] = d.box[3];
      const e = images.get(d.imageId);
      let best = -Infinity;
      let jmax = -1;
      if (e) {
        for (let j = 0; j < e.difficult.length; j++) {
          const o = iouXyxy(dbox, 0, e.boxes, 4 * j);
          if (o > best) {
            best = o;
            jmax = j;
          }
        }
      }
      if (jmax >= 0 && best >= thr) {
        if (!e!.difficult[jmax]) {
          if (!e!.matched![jmax]) {
            tp++;
            e!.matched![jmax] = 1;
          } else {
            fp++;
          }
        }
      } else {
        fp++;
      }
      recall[i] = np > 0 ? tp / np : 0;
      precision[i] = tp + fp > 0 ? tp / (tp + fp) : 0;
    }
    perClass.push({
      classId: c,
      ap: np > 0 ? vocAllPointAp(recall, precision) : -1,
      npos: np,
      nDet: n,
      tp,
      fp,
      recall,
      precision,
    });
  }
  const defined = perClass.filter((r) => r.ap >= 0);
  const mAP = defined.length ? defined.reduce((s, r) => s + r.ap, 0) / defined.length : -1;
  return { perClass, mAP };
}
