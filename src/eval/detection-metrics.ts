/**
 * Training-time detection metrics in the style of Ultralytics' `ap_per_class`
 * and `ConfusionMatrix`: per-class precision-recall curves and AP50, the
 * precision / recall / F1 of every class at the one confidence threshold that
 * maximises the (smoothed) mean F1, and a confusion matrix with a background
 * row and column.
 *
 * - Matching for the PR curves (`matchDetections`): per image and class,
 *   detections in decreasing score order each take the unmatched ground truth
 *   of their class with the highest IoU >= 0.5 (COCO's greedy rule; no crowd or
 *   area handling), which makes them true positives.
 * - AP50 per class (`apPerClass`): Ultralytics' `compute_ap` — the precision
 *   envelope over [0, recall..., 1] / [1, precision..., 0], sampled at 101
 *   recall points and integrated with the trapezoid rule. It is close to, but
 *   not the same number as, COCO's AP50 (see coco.ts for that).
 * - Curves are sampled on a 1000-point grid: precision and recall against the
 *   confidence threshold (for the F1 choice) and precision against recall (for
 *   the plot).
 * - Confusion matrix (`confusionMatrix`): detections with score >= conf (0.25)
 *   are matched class-agnostically to ground truth with IoU >= 0.45, best IoU
 *   first, one to one. Rows are predicted classes, columns true classes; index
 *   nc is background: row nc counts missed ground truth, column nc detections
 *   that match nothing (also on images without any ground truth, which older
 *   Ultralytics versions skip).
 *
 * Boxes are [x1, y1, x2, y2]; classes are indices 0..nc-1.
 */
import type { CocoDet, CocoGt, CocoId } from './coco.js';
import { iouXyxy } from './voc.js';

export interface ImageBoxes {
  /** Ground truth, n x 4 flattened [x1, y1, x2, y2]. */
  gtBoxes: ArrayLike<number>;
  gtClasses: ArrayLike<number>;
  /** Detections, m x 4 flattened [x1, y1, x2, y2]. */
  dtBoxes: ArrayLike<number>;
  dtScores: ArrayLike<number>;
  dtClasses: ArrayLike<number>;
}

export interface MatchedDetections {
  /** 1 where the detection is a true positive at the IoU threshold. */
  tp: Uint8Array;
  conf: Float64Array;
  predCls: Int32Array;
  /** Class of every ground-truth box. */
  targetCls: Int32Array;
}

export interface ClassMetrics {
  classId: number;
  nGt: number;
  nDt: number;
  /** -1 for the four numbers when the class has no ground truth. */
  ap50: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface PrCurves {
  /** The recall grid (1000 points in [0, 1]). */
  recall: Float64Array;
  /** Per class, precision at each grid recall (zeros for classes without ground truth). */
  precision: Float64Array[];
  /** Per class AP50, -1 where the class has no ground truth. */
  ap50: number[];
}

export interface ConfusionMatrix {
  /** nc + 1; the last index is background. */
  size: number;
  /** Row-major size x size counts, [predicted][true]. */
  matrix: Float64Array;
  conf: number;
  iou: number;
}

export interface DetectionMetrics {
  nc: number;
  classes: ClassMetrics[];
  /** Means over the classes that have ground truth (0 when none has). */
  mAP50: number;
  precision: number;
  recall: number;
  f1: number;
  /** The confidence threshold at which precision, recall and F1 are reported. */
  conf: number;
  prCurves: PrCurves;
  confusion: ConfusionMatrix;
}

export interface DetectionMetricsOptions {
  /** IoU for a true positive in the PR curves (default 0.5). */
  iouThreshold?: number;
  /** Minimum score of detections in the confusion matrix (default 0.25). */
  confusionConf?: number;
  /** Minimum IoU for a confusion-matrix match (default 0.45). */
  confusionIou?: number;
}

const EPS = 1e-16;
const GRID = 1000;

function checkClass(c: number, nc: number, what: string): number {
  if (!Number.isInteger(c) || c < 0 || c >= nc) throw new Error(`${what} class ${c} is outside 0..${nc - 1}`);
  return c;
}

/** Per-detection TP flags at one IoU threshold (greedy by score, per image and class). */
export function matchDetections(images: readonly ImageBoxes[], nc: number, iouThreshold = 0.5): MatchedDetections {
  let nd = 0;
  let ng = 0;
  for (const im of images) {
    nd += im.dtScores.length;
    ng += im.gtClasses.length;
  }
  const tp = new Uint8Array(nd);
  const conf = new Float64Array(nd);
  const predCls = new Int32Array(nd);
  const targetCls = new Int32Array(ng);
  let off = 0;
  let goff = 0;
  let matched = new Uint8Array(16);
  for (const im of images) {
    const m = im.dtScores.length;
    const n = im.gtClasses.length;
    for (let g = 0; g < n; g++) targetCls[goff + g] = checkClass(im.gtClasses[g]!, nc, 'ground-truth');
    goff += n;
    if (matched.length < n) matched = new Uint8Array(n * 2);
    matched.fill(0, 0, n);
    const order = Array.from({ length: m }, (_, i) => i);
    order.sort((a, b) => {
      const sa = im.dtScores[a]!,
        sb = im.dtScores[b]!;
      return sa !== sb ? (sb > sa ? 1 : -1) : a - b;
    });
    for (const d of order) {
      const c = checkClass(im.dtClasses[d]!, nc, 'detection');
      conf[off + d] = im.dtScores[d]!;
      predCls[off + d] = c;
      let best = iouThreshold;
      let bm = -1;
      for (let g = 0; g < n; g++) {
        if (matched[g] || im.gtClasses[g] !== c) continue;
        const o = iouXyxy(im.dtBoxes, 4 * d, im.gtBoxes, 4 * g);
        if (o < best) continue;
        best = o;
        bm = g;
      }
      if (bm >= 0) {
        matched[bm] = 1;
        tp[off + d] = 1;
      }
    }
    off += m;
  }
  return { tp, conf, predCls, targetCls };
}

/** numpy.interp for increasing xp (ties allowed), with explicit left/right values. */
function interp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>, left: number, right: number): number {
  const n = xp.length;
  if (n === 0) return left;
  if (x < xp[0]!) return left;
  if (x > xp[n - 1]!) return right;
  if (x === xp[n - 1]) return fp[n - 1]!;
  // last j with xp[j] <= x
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xp[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const x0 = xp[lo]!,
    x1 = xp[lo + 1]!;
  if (x1 === x0) return fp[lo]!;
  return fp[lo]! + ((x - x0) * (fp[lo + 1]! - fp[lo]!)) / (x1 - x0);
}

function gridLinspace(n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = i / (n - 1);
  return y;
}

/** Ultralytics compute_ap: 101-point interpolated area under the precision envelope; also returns the envelope. */
export function computeAp(recall: ArrayLike<number>, precision: ArrayLike<number>): { ap: number; mrec: Float64Array; mpre: Float64Array } {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mpre[0] = 1;
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i]!;
    mpre[i + 1] = precision[i]!;
  }
  mrec[n + 1] = 1;
  mpre[n + 1] = 0;
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  const x = gridLinspace(101);
  let ap = 0;
  let prev = interp(0, mrec, mpre, mpre[0]!, mpre[n + 1]!);
  for (let i = 1; i < 101; i++) {
    const cur = interp(x[i]!, mrec, mpre, mpre[0]!, mpre[n + 1]!);
    ap += ((cur + prev) / 2) * (x[i]! - x[i - 1]!);
    prev = cur;
  }
  return { ap, mrec, mpre };
}

/** Box filter with edge padding (Ultralytics `smooth`, fraction f of the length). */
function smooth(y: Float64Array, f: number): Float64Array {
  const nf = Math.floor(Math.round(y.length * f * 2) / 2) + 1;
  const half = Math.floor(nf / 2);
  const out = new Float64Array(y.length);
  const at = (i: number): number => y[Math.min(Math.max(i, 0), y.length - 1)]!;
  for (let i = 0; i < y.length; i++) {
    let s = 0;
    for (let j = i - half; j <= i + half; j++) s += at(j);
    out[i] = s / nf;
  }
  return out;
}

export interface ApPerClassResult {
  classes: ClassMetrics[];
  prCurves: PrCurves;
  /** Grid confidence at which the mean F1 (smoothed) peaks. */
  conf: number;
  mAP50: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Ultralytics-style ap_per_class from per-detection TP flags. */
export function apPerClass(m: MatchedDetections, nc: number): ApPerClassResult {
  const nGt = new Int32Array(nc);
  for (const c of m.targetCls) nGt[c]++;
  const nDt = new Int32Array(nc);
  for (const c of m.predCls) nDt[c]++;
  // Detections sorted by confidence, highest first (stable).
  const order = Array.from({ length: m.conf.length }, (_, i) => i);
  order.sort((a, b) => {
    const sa = m.conf[a]!,
      sb = m.conf[b]!;
    return sa !== sb ? (sb > sa ? 1 : -1) : a - b;
  });
  const byClass: number[][] = Array.from({ length: nc }, () => []);
  for (const i of order) byClass[m.predCls[i]!]!.push(i);

  const px = gridLinspace(GRID);
  const pCurve: Float64Array[] = [];
  const rCurve: Float64Array[] = [];
  const pyCurves: Float64Array[] = [];
  const ap50: number[] = [];
  const withGt: number[] = [];
  for (let c = 0; c < nc; c++) {
    const idx = byClass[c]!;
    const p = new Float64Array(GRID);
    const r = new Float64Array(GRID);
    let py = new Float64Array(GRID);
    if (nGt[c] === 0) {
      ap50.push(-1);
    } else {
      withGt.push(c);
      if (idx.length === 0) {
        ap50.push(0);
      } else {
        const n = idx.length;
        const negConf = new Float64Array(n);
        const rec = new Float64Array(n);
        const prec = new Float64Array(n);
        let tpc = 0;
        let fpc = 0;
        for (let i = 0; i < n; i++) {
          const d = idx[i]!;
          if (m.tp[d]) tpc++;
          else fpc++;
          negConf[i] = -m.conf[d]!;
          rec[i] = tpc / (nGt[c]! + EPS);
          prec[i] = tpc / (tpc + fpc);
        }
        for (let g = 0; g < GRID; g++) {
          r[g] = interp(-px[g]!, negConf, rec, 0, rec[n - 1]!);
          p[g] = interp(-px[g]!, negConf, prec, 1, prec[n - 1]!);
        }
        const { ap, mrec, mpre } = computeAp(rec, prec);
        ap50.push(ap);
        py = Float64Array.from(px, (x) => interp(x, mrec, mpre, mpre[0]!, mpre[mpre.length - 1]!));
      }
    }
    pCurve.push(p);
    rCurve.push(r);
    pyCurves.push(py);
  }

  // Mean F1 over classes with ground truth, smoothed; its argmax picks the confidence.
  const meanF1 = new Float64Array(GRID);
  for (const c of withGt) {
    for (let g = 0; g < GRID; g++) {
      const p = pCurve[c]![g]!,
        r = rCurve[c]![g]!;
      meanF1[g]! += (2 * p * r) / (p + r + EPS) / withGt.length;
    }
  }
  const sm = smooth(meanF1, 0.1);
  let best = 0;
  for (let g = 1; g < GRID; g++) if (sm[g]! > sm[best]!) best = g;

  const classes: ClassMetrics[] = [];
  for (let c = 0; c < nc; c++) {
    if (nGt[c] === 0) {
      classes.push({ classId: c, nGt: 0, nDt: nDt[c]!, ap50: -1, precision: -1, recall: -1, f1: -1 });
      continue;
    }
    const p = pCurve[c]![best]!,
      r = rCurve[c]![best]!;
    classes.push({ classId: c, nGt: nGt[c]!, nDt: nDt[c]!, ap50: ap50[c]!, precision: p, recall: r, f1: (2 * p * r) / (p + r + EPS) });
  }
  const mean = (f: (x: ClassMetrics) => number): number => (withGt.length ? withGt.reduce((s, c) => s + f(classes[c]!), 0) / withGt.length : 0);
  return {
    classes,
    prCurves: { recall: px, precision: pyCurves, ap50 },
    conf: withGt.length ? px[best]! : 0,
    mAP50: mean((x) => x.ap50),
    precision: mean((x) => x.precision),
    recall: mean((x) => x.recall),
    f1: mean((x) => x.f1),
  };
}

/** Confusion matrix [predicted][true] with background at index nc. */
export function confusionMatrix(images: readonly ImageBoxes[], nc: number, opts: { conf?: number; iou?: number } = {}): ConfusionMatrix {
  const confThr = opts.conf ?? 0.25;
  const iouThr = opts.iou ?? 0.45;
  const size = nc + 1;
  const matrix = new Float64Array(size * size);
  for (const im of images) {
    const n = im.gtClasses.length;
    const dets: number[] = [];
    for (let d = 0; d < im.dtScores.length; d++) if (im.dtScores[d]! >= confThr) dets.push(d);
    const pairs: Array<[number, number, number]> = [];
    for (let g = 0; g < n; g++) {
      for (const d of dets) {
        const o = iouXyxy(im.gtBoxes, 4 * g, im.dtBoxes, 4 * d);
        if (o >= iouThr) pairs.push([g, d, o]);
      }
    }
    // Best IoU first; keep each detection's best pair, then each ground truth's best.
    const byIou = (a: [number, number, number], b: [number, number, number]): number => b[2] - a[2] || a[0] - b[0] || a[1] - b[1];
    pairs.sort(byIou);
    const seenD = new Set<number>();
    const firstPass = pairs.filter((p) => {
      if (seenD.has(p[1])) return false;
      seenD.add(p[1]);
      return true;
    });
    const seenG = new Set<number>();
    const matches = firstPass.filter((p) => {
      if (seenG.has(p[0])) return false;
      seenG.add(p[0]);
      return true;
    });
    const gtMatch = new Int32Array(n).fill(-1);
    const dtMatched = new Set<number>();
    for (const [g, d] of matches) {
      gtMatch[g] = d;
      dtMatched.add(d);
    }
    for (let g = 0; g < n; g++) {
      const gc = checkClass(im.gtClasses[g]!, nc, 'ground-truth');
      const d = gtMatch[g]!;
      const row = d >= 0 ? checkClass(im.dtClasses[d]!, nc, 'detection') : nc;
      matrix[row * size + gc]! += 1;
    }
    for (const d of dets) {
      if (!dtMatched.has(d)) matrix[checkClass(im.dtClasses[d]!, nc, 'detection') * size + nc]! += 1;
    }
  }
  return { size, matrix, conf: confThr, iou: iouThr };
}

/** PR curves, AP50, best-F1 precision/recall and the confusion matrix in one call. */
export function detectionMetrics(images: readonly ImageBoxes[], nc: number, opts: DetectionMetricsOptions = {}): DetectionMetrics {
  const matched = matchDetections(images, nc, opts.iouThreshold ?? 0.5);
  const r = apPerClass(matched, nc);
  const confusion = confusionMatrix(images, nc, { conf: opts.confusionConf ?? 0.25, iou: opts.confusionIou ?? 0.45 });
  return { nc, ...r, confusion };
}

/**
 * Converts COCO ground truth and results to per-image xyxy boxes with class
 * indices in the order of `gt.categories` (crowd annotations are dropped).
 */
export function imagesFromCoco(gt: CocoGt, dt: readonly CocoDet[]): { images: ImageBoxes[]; classNames: string[]; catIds: CocoId[] } {
  const catIds = gt.categories.map((c) => c.id);
  const classNames = gt.categories.map((c) => c.name ?? String(c.id));
  const catIndex = new Map<CocoId, number>(catIds.map((id, i) => [id, i]));
  interface Acc {
    gb: number[];
    gc: number[];
    db: number[];
    ds: number[];
    dc: number[];
  }
  const acc = new Map<CocoId, Acc>();
  for (const im of gt.images) acc.set(im.id, { gb: [], gc: [], db: [], ds: [], dc: [] });
  for (const a of gt.annotations) {
    const e = acc.get(a.image_id);
    const c = catIndex.get(a.category_id);
    if (!e || c === undefined || a.iscrowd) continue;
    const [x, y, w, h] = a.bbox as [number, number, number, number];
    e.gb.push(x, y, x + w, y + h);
    e.gc.push(c);
  }
  for (const d of dt) {
    const e = acc.get(d.image_id);
    const c = catIndex.get(d.category_id);
    if (!e || c === undefined) continue;
    const [x, y, w, h] = d.bbox as [number, number, number, number];
    e.db.push(x, y, x + w, y + h);
    e.ds.push(d.score);
    e.dc.push(c);
  }
  const images = [...acc.values()].map((e) => ({ gtBoxes: e.gb, gtClasses: e.gc, dtBoxes: e.db, dtScores: e.ds, dtClasses: e.dc }));
  return { images, classNames, catIds };
}
