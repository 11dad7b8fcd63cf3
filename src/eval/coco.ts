/**
 * COCO bounding-box evaluation that reproduces pycocotools' `COCOeval`
 * (iouType 'bbox', default Params) number for number.
 *
 * The algorithm, step by step as in pycocotools:
 *
 * - Images and categories to evaluate are the ground truth's (or `imgIds` /
 *   `catIds`), de-duplicated and sorted (np.unique). Ground truth and
 *   detections are grouped per (image, category); annotations of other images
 *   or categories take no part.
 * - IoU (maskApi.c bbIou, same floating-point operations): intersection over
 *   union of [x, y, w, h] boxes, except that for a crowd ground truth the
 *   denominator is the detection's own area.
 * - evaluateImg, per category x area range x image, with maxDet the largest
 *   of `maxDets`: a ground truth is ignored when it is a crowd or its `area`
 *   field lies outside the range; ignored ground truth is sorted last (stable);
 *   detections are sorted by score, highest first (stable, so ties keep file
 *   order) and cut to maxDet. Per IoU threshold t, each detection in turn takes
 *   the unmatched (crowds may match repeatedly) ground truth with the highest
 *   IoU >= min(t, 1 - 1e-10), the last one on ties, and once it holds a
 *   non-ignored match it does not move on to ignored ones. A detection matched
 *   to an ignored ground truth is ignored; an unmatched one whose area (w*h)
 *   lies outside the range is ignored.
 * - accumulate, per category x area range x maxDets entry: the detections of
 *   all images (each image's first maxDets[m]) concatenated in image order and
 *   stable-sorted by score; cumulative TP / FP counts; recall = tp / npig
 *   (npig = non-ignored ground truth); precision = tp / (tp + fp + eps), made
 *   non-increasing from the right; sampled at the 101 recall thresholds with
 *   searchsorted 'left' (0 where the curve ends first). -1 where the category
 *   has no non-ignored ground truth.
 * - summarize: the 12 standard numbers are means over the entries > -1, -1 when
 *   there are none. Means use numpy's pairwise summation, so the stats agree
 *   with pycocotools to the last bit (checked against numpy 2.4, which sums
 *   the whole contiguous array pairwise; numpy versions that sum in blocks of
 *   8192 can differ in the last bit when a mean covers more than 8192 entries).
 *
 * One deliberate difference: pycocotools records a match by storing the ground
 * truth's annotation `id`, and an `id` of 0 is then indistinguishable from "no
 * match" (a detection matched to an annotation with id 0 counts as a false
 * positive there). Here matches are tracked by position, so annotation ids play
 * no part and need not be present at all.
 */

export type CocoId = number | string;

export interface CocoImage {
  id: CocoId;
  file_name?: string;
  width?: number;
  height?: number;
}

export interface CocoCategory {
  id: CocoId;
  name?: string;
  supercategory?: string;
}

export interface CocoAnnotation {
  id?: number;
  image_id: CocoId;
  category_id: CocoId;
  /** [x, y, width, height] in pixels. */
  bbox: readonly number[];
  /** Area used for the small/medium/large split; w*h when absent. */
  area?: number;
  iscrowd?: number | boolean;
}

export interface CocoGt {
  images: readonly CocoImage[];
  annotations: readonly CocoAnnotation[];
  categories: readonly CocoCategory[];
}

/** One entry of a COCO results file. */
export interface CocoDet {
  image_id: CocoId;
  category_id: CocoId;
  /** [x, y, width, height] in pixels. */
  bbox: readonly number[];
  score: number;
}

export interface CocoEvalOptions {
  /** Default: np.linspace(.5, .95, 10). */
  iouThresholds?: readonly number[];
  /** Default [1, 10, 100]; sorted ascending, the largest is the per-image cap. */
  maxDets?: readonly number[];
  /** Restrict to these categories (default: all of the ground truth's). */
  catIds?: readonly CocoId[];
  /** Restrict to these images (default: all of the ground truth's). */
  imgIds?: readonly CocoId[];
}

export interface CocoEvalParams {
  imgIds: CocoId[];
  catIds: CocoId[];
  iouThresholds: Float64Array;
  recallThresholds: Float64Array;
  areaRanges: Array<[number, number]>;
  areaLabels: string[];
  maxDets: number[];
}

/** A dense row-major (C order) array, like the numpy arrays of COCOeval.eval. */
export interface NdArray {
  data: Float64Array;
  shape: number[];
}

/** The 12 summary numbers restricted to one category (-1 where undefined). */
export interface CocoCategoryStats {
  id: CocoId;
  ap: number;
  ap50: number;
  ap75: number;
  apS: number;
  apM: number;
  apL: number;
  ar1: number;
  ar10: number;
  ar100: number;
  arS: number;
  arM: number;
  arL: number;
  /** Non-crowd ground truth boxes of this category in the evaluated images. */
  nGt: number;
  /** Detections of this category in the evaluated images (before the maxDets cap). */
  nDt: number;
}

export interface CocoEvalResult {
  /** The 12 numbers of COCOeval.stats, in its order. */
  stats: number[];
  params: CocoEvalParams;
  /** [T, R, K, A, M] like COCOeval.eval['precision']. */
  precision: NdArray;
  /** [T, K, A, M] like COCOeval.eval['recall']. */
  recall: NdArray;
  /** Keyed by category name (name#id when names repeat; the id when there is no name). */
  perCategory: Record<string, CocoCategoryStats>;
}

export const AREA_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
export const AREA_LABELS: readonly string[] = ['all', 'small', 'medium', 'large'];

/** numpy.linspace(start, stop, num) with the same floating-point values: start + i * step, last = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  if (num === 0) return y;
  if (num === 1) {
    y[0] = start;
    return y;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) y[i] = i * step + start;
  y[num - 1] = stop;
  return y;
}

/** numpy's pairwise summation (the add reduction of a contiguous float64 array). */
export function pairwiseSum(a: ArrayLike<number>, lo = 0, n = a.length - lo): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[lo + i]!;
    return res;
  }
  if (n <= 128) {
    let r0 = a[lo]!,
      r1 = a[lo + 1]!,
      r2 = a[lo + 2]!,
      r3 = a[lo + 3]!;
    let r4 = a[lo + 4]!,
      r5 = a[lo + 5]!,
      r6 = a[lo + 6]!,
      r7 = a[lo + 7]!;
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      r0 += a[lo + i]!;
      r1 += a[lo + i + 1]!;
      r2 += a[lo + i + 2]!;
      r3 += a[lo + i + 3]!;
      r4 += a[lo + i + 4]!;
      r5 += a[lo + i + 5]!;
      r6 += a[lo + i + 6]!;
      r7 += a[lo + i + 7]!;
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[lo + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2);
}

function compareIds(a: CocoId, b: CocoId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueSorted(ids: readonly CocoId[]): CocoId[] {
  return [...new Set(ids)].sort(compareIds);
}

class Scratch {
  f64: Float64Array<ArrayBuffer> = new Float64Array(0);
  grow(n: number): Float64Array<ArrayBuffer> {
    if (this.f64.length < n) this.f64 = new Float64Array(Math.max(n, this.f64.length * 2));
    return this.f64;
  }
}

function growI32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  return a.length >= n ? a : new Int32Array(Math.max(n, a.length * 2));
}
function growU8(a: Uint8Array<ArrayBuffer>, n: number): Uint8Array<ArrayBuffer> {
  return a.length >= n ? a : new Uint8Array(Math.max(n, a.length * 2));
}

/** Per-detection outcome codes for one (area range, IoU threshold). */
const FP = 0;
const TP = 1;
const IGNORED = 2;

const EPS = 2.220446049250313e-16; // np.spacing(1)

export function evaluateCoco(gt: CocoGt, dt: readonly CocoDet[], opts: CocoEvalOptions = {}): CocoEvalResult {
  const iouThrs = opts.iouThresholds ? Float64Array.from(opts.iouThresholds) : linspace(0.5, 0.95, 10);
  const recThrs = linspace(0, 1, 101);
  const maxDets = [...(opts.maxDets ?? [1, 10, 100])].sort((a, b) => a - b);
  if (maxDets.length === 0 || maxDets.some((m) => !Number.isInteger(m) || m < 0)) {
    throw new Error(`evaluateCoco: maxDets must be non-negative integers, got [${maxDets.join(', ')}]`);
  }
  const maxDet = maxDets[maxDets.length - 1]!;
  const imgIds = uniqueSorted(opts.imgIds ?? gt.images.map((im) => im.id));
  const catIds = uniqueSorted(opts.catIds ?? gt.categories.map((c) => c.id));
  const imgIndex = new Map<CocoId, number>(imgIds.map((id, i) => [id, i]));
  const catIndex = new Map<CocoId, number>(catIds.map((id, i) => [id, i]));
  const T = iouThrs.length;
  const R = recThrs.length;
  const K = catIds.length;
  const A = AREA_RANGES.length;
  const M = maxDets.length;
  const areaLo = Float64Array.from(AREA_RANGES, (r) => r[0]);
  const areaHi = Float64Array.from(AREA_RANGES, (r) => r[1]);
  const iouCut = Float64Array.from(iouThrs, (t) => Math.min(t, 1 - 1e-10));

  // ---- ground truth, flattened and ordered by (category, image, file order)
  const gSel: number[] = [];
  for (let i = 0; i < gt.annotations.length; i++) {
    const a = gt.annotations[i]!;
    if (imgIndex.has(a.image_id) && catIndex.has(a.category_id)) gSel.push(i);
  }
  const NG = gSel.length;
  const gBox = new Float64Array(NG * 4);
  const gArea = new Float64Array(NG);
  const gCrowd = new Uint8Array(NG);
  const gImg = new Int32Array(NG);
  const gCat = new Int32Array(NG);
  for (let j = 0; j < NG; j++) {
    const a = gt.annotations[gSel[j]!]!;
    const b = a.bbox;
    gBox[4 * j] = b[0]!;
    gBox[4 * j + 1] = b[1]!;
    gBox[4 * j + 2] = b[2]!;
    gBox[4 * j + 3] = b[3]!;
    gArea[j] = a.area ?? b[2]! * b[3]!;
    gCrowd[j] = a.iscrowd ? 1 : 0;
    gImg[j] = imgIndex.get(a.image_id)!;
    gCat[j] = catIndex.get(a.category_id)!;
  }
  const gOrder = new Int32Array(NG);
  for (let j = 0; j < NG; j++) gOrder[j] = j;
  gOrder.sort((x, y) => gCat[x]! - gCat[y]! || gImg[x]! - gImg[y]! || x - y);

  // ---- detections, ordered by (category, image, score desc, file order)
  const dSel: number[] = [];
  for (let i = 0; i < dt.length; i++) {
    const d = dt[i]!;
    if (imgIndex.has(d.image_id) && catIndex.has(d.category_id)) {
      if (typeof d.score !== 'number' || Number.isNaN(d.score)) throw new Error(`evaluateCoco: detection ${i} has no numeric score`);
      dSel.push(i);
    }
  }
  const ND = dSel.length;
  const dBox = new Float64Array(ND * 4);
  const dArea = new Float64Array(ND);
  const dScore = new Float64Array(ND);
  const dImg = new Int32Array(ND);
  const dCat = new Int32Array(ND);
  for (let j = 0; j < ND; j++) {
    const d = dt[dSel[j]!]!;
    const b = d.bbox;
    dBox[4 * j] = b[0]!;
    dBox[4 * j + 1] = b[1]!;
    dBox[4 * j + 2] = b[2]!;
    dBox[4 * j + 3] = b[3]!;
    dArea[j] = b[2]! * b[3]!;
    dScore[j] = d.score;
    dImg[j] = imgIndex.get(d.image_id)!;
    dCat[j] = catIndex.get(d.category_id)!;
  }
  const dOrder = new Int32Array(ND);
  for (let j = 0; j < ND; j++) dOrder[j] = j;
  dOrder.sort((x, y) => {
    const c = dCat[x]! - dCat[y]! || dImg[x]! - dImg[y]!;
    if (c !== 0) return c;
    const sx = dScore[x]!,
      sy = dScore[y]!;
    return sx !== sy ? (sy > sx ? 1 : -1) : x - y;
  });

  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const nGtPerCat = new Int32Array(K);
  const nDtPerCat = new Int32Array(K);

  // scratch buffers, grown on demand
  const iouScratch = new Scratch();
  let gtIgS = new Uint8Array(16); // per sorted gt: ignored
  let gtCrS = new Uint8Array(16); // per sorted gt: crowd
  let gtColS = new Int32Array(16); // per sorted gt: column in the IoU matrix
  let gtm = new Uint8Array(16);
  let runDt = new Int32Array(64); // detections of the category, image order then rank
  let runRank = new Int32Array(64);
  let codes = new Uint8Array(64 * A * T);
  let sortOrder = new Int32Array(64);
  let filt = new Int32Array(64);
  const rcS = new Scratch();
  const prS = new Scratch();
  const npig = new Int32Array(A);

  let gp = 0;
  let dp = 0;
  for (let k = 0; k < K; k++) {
    const gs = gp;
    while (gp < NG && gCat[gOrder[gp]!] === k) gp++;
    const ge = gp;
    const ds = dp;
    while (dp < ND && dCat[dOrder[dp]!] === k) dp++;
    const de = dp;
    nDtPerCat[k] = de - ds;
    for (let q = gs; q < ge; q++) if (!gCrowd[gOrder[q]!]) nGtPerCat[k]++;

    // Detections kept per image (first maxDet by score).
    let nk = 0;
    runDt = growI32(runDt, de - ds);
    runRank = growI32(runRank, de - ds);
    for (let q = ds; q < de; ) {
      const img = dImg[dOrder[q]!]!;
      let rank = 0;
      while (q < de && dImg[dOrder[q]!] === img) {
        if (rank < maxDet) {
          runDt[nk] = dOrder[q]!;
          runRank[nk] = rank;
          nk++;
        }
        rank++;
        q++;
      }
    }
    codes = growU8(codes, nk * A * T);
    npig.fill(0);

    // ---- evaluateImg for every image that has ground truth or detections of this category
    let gq = gs;
    let rq = 0;
    while (gq < ge || rq < nk) {
      const gImgCur = gq < ge ? gImg[gOrder[gq]!]! : Number.MAX_SAFE_INTEGER;
      const dImgCur = rq < nk ? dImg[runDt[rq]!]! : Number.MAX_SAFE_INTEGER;
      const img = Math.min(gImgCur, dImgCur);
      const g0 = gq;
      while (gq < ge && gImg[gOrder[gq]!] === img) gq++;
      const G = gq - g0;
      const r0 = rq;
      while (rq < nk && dImg[runDt[rq]!] === img) rq++;
      const D = rq - r0;

      // IoU matrix [d * G + g], gt in file order (maskApi.c bbIou).
      const ious = iouScratch.grow(D * G);
      for (let g = 0; g < G; g++) {
        const gj = gOrder[g0 + g]!;
        const gx = gBox[4 * gj]!,
          gy = gBox[4 * gj + 1]!,
          gw = gBox[4 * gj + 2]!,
          gh = gBox[4 * gj + 3]!;
        const ga = gw * gh;
        const crowd = gCrowd[gj] === 1;
        for (let d = 0; d < D; d++) {
          const dj = runDt[r0 + d]!;
          const dx = dBox[4 * dj]!,
            dy = dBox[4 * dj + 1]!,
            dw = dBox[4 * dj + 2]!,
            dh = dBox[4 * dj + 3]!;
          const da = dw * dh;
          let o = 0;
          const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
          if (w > 0) {
            const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
            if (h > 0) {
              const inter = w * h;
              const u = crowd ? da : da + ga - inter;
              o = inter / u;
            }
          }
          ious[d * G + g] = o;
        }
      }

      gtIgS = growU8(gtIgS, G);
      gtCrS = growU8(gtCrS, G);
      gtColS = growI32(gtColS, G);
      gtm = growU8(gtm, G);
      for (let a = 0; a < A; a++) {
        const lo = areaLo[a]!,
          hi = areaHi[a]!;
        // Sort ground truth: non-ignored first, stable.
        let s = 0;
        for (let pass = 0; pass < 2; pass++) {
          for (let g = 0; g < G; g++) {
            const gj = gOrder[g0 + g]!;
            const ar = gArea[gj]!;
            const ig = gCrowd[gj] === 1 || ar < lo || ar > hi ? 1 : 0;
            if (ig !== pass) continue;
            gtIgS[s] = ig;
            gtCrS[s] = gCrowd[gj]!;
            gtColS[s] = g;
            s++;
          }
          if (pass === 0) npig[a] += s;
        }
        for (let t = 0; t < T; t++) {
          const base = (a * T + t) * nk + r0;
          const cut = iouCut[t]!;
          gtm.fill(0, 0, G);
          for (let d = 0; d < D; d++) {
            let iou = cut;
            let m = -1;
            const row = d * G;
            for (let g = 0; g < G; g++) {
              if (gtm[g] && !gtCrS[g]) continue;
              if (m > -1 && gtIgS[m] === 0 && gtIgS[g] === 1) break;
              const v = ious[row + gtColS[g]!]!;
              if (v < iou) continue;
              iou = v;
              m = g;
            }
            if (m === -1) {
              const ar = dArea[runDt[r0 + d]!]!;
              codes[base + d] = ar < lo || ar > hi ? IGNORED : FP;
            } else {
              codes[base + d] = gtIgS[m] ? IGNORED : TP;
              gtm[m] = 1;
            }
          }
        }
      }
    }

    // ---- accumulate for this category
    sortOrder = growI32(sortOrder, nk);
    filt = growI32(filt, nk);
    for (let i = 0; i < nk; i++) sortOrder[i] = i;
    const so = sortOrder.subarray(0, nk);
    so.sort((x, y) => {
      const sx = dScore[runDt[x]!]!,
        sy = dScore[runDt[y]!]!;
      return sx !== sy ? (sy > sx ? 1 : -1) : x - y;
    });
    const rc = rcS.grow(nk);
    const pr = prS.grow(nk);
    for (let m = 0; m < M; m++) {
      const md = maxDets[m]!;
      let nd = 0;
      for (let i = 0; i < nk; i++) {
        const pos = so[i]!;
        if (runRank[pos]! < md) filt[nd++] = pos;
      }
      for (let a = 0; a < A; a++) {
        const np = npig[a]!;
        if (np === 0) continue;
        for (let t = 0; t < T; t++) {
          const base = (a * T + t) * nk;
          let tp = 0;
          let fp = 0;
          for (let i = 0; i < nd; i++) {
            const c = codes[base + filt[i]!];
            if (c === TP) tp++;
            else if (c === FP) fp++;
            rc[i] = tp / np;
            pr[i] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1]! : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
          let i = 0;
          for (let r = 0; r < R; r++) {
            const thr = recThrs[r]!;
            while (i < nd && rc[i]! < thr) i++;
            precision[(((t * R + r) * K + k) * A + a) * M + m] = i < nd ? pr[i]! : 0;
          }
        }
      }
    }
  }

  const params: CocoEvalParams = {
    imgIds,
    catIds,
    iouThresholds: iouThrs,
    recallThresholds: recThrs,
    areaRanges: AREA_RANGES.map((r) => [r[0], r[1]]),
    areaLabels: [...AREA_LABELS],
    maxDets,
  };
  const precisionNd: NdArray = { data: precision, shape: [T, R, K, A, M] };
  const recallNd: NdArray = { data: recall, shape: [T, K, A, M] };
  const stats = summarizeStats(precisionNd, recallNd, params);

  const perCategory: Record<string, CocoCategoryStats> = {};
  const names = new Map<CocoId, string | undefined>(gt.categories.map((c) => [c.id, c.name]));
  const seen = new Map<string, number>();
  for (const id of catIds) {
    const n = names.get(id);
    const key = n ?? String(id);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  for (let k = 0; k < K; k++) {
    const id = catIds[k]!;
    const n = names.get(id);
    const key = n === undefined ? String(id) : seen.get(n)! > 1 ? `${n}#${String(id)}` : n;
    const s = summarizeStats(precisionNd, recallNd, params, k);
    perCategory[key] = {
      id,
      ap: s[0]!,
      ap50: s[1]!,
      ap75: s[2]!,
      apS: s[3]!,
      apM: s[4]!,
      apL: s[5]!,
      ar1: s[6]!,
      ar10: s[7]!,
      ar100: s[8]!,
      arS: s[9]!,
      arM: s[10]!,
      arL: s[11]!,
      nGt: nGtPerCat[k]!,
      nDt: nDtPerCat[k]!,
    };
  }
  return { stats, params, precision: precisionNd, recall: recallNd, perCategory };
}

interface SummarySpec {
  ap: boolean;
  iouThr?: number;
  areaRng: string;
  /** Index into params.maxDets (as pycocotools' _summarizeDets uses maxDets[0..2]). */
  maxDetIndex: number;
  /** stats[0] is `_summarize(1)`, whose maxDets is the literal default 100, not maxDets[2]. */
  fixedMaxDet?: number;
}

const SUMMARY: readonly SummarySpec[] = [
  { ap: true, areaRng: 'all', maxDetIndex: 2, fixedMaxDet: 100 },
  { ap: true, iouThr: 0.5, areaRng: 'all', maxDetIndex: 2 },
  { ap: true, iouThr: 0.75, areaRng: 'all', maxDetIndex: 2 },
  { ap: true, areaRng: 'small', maxDetIndex: 2 },
  { ap: true, areaRng: 'medium', maxDetIndex: 2 },
  { ap: true, areaRng: 'large', maxDetIndex: 2 },
  { ap: false, areaRng: 'all', maxDetIndex: 0 },
  { ap: false, areaRng: 'all', maxDetIndex: 1 },
  { ap: false, areaRng: 'all', maxDetIndex: 2 },
  { ap: false, areaRng: 'small', maxDetIndex: 2 },
  { ap: false, areaRng: 'medium', maxDetIndex: 2 },
  { ap: false, areaRng: 'large', maxDetIndex: 2 },
];

function indicesWhere<T>(xs: ArrayLike<T>, pred: (x: T) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) if (pred(xs[i]!)) out.push(i);
  return out;
}

/**
 * COCOeval.summarize's 12 numbers from accumulated arrays; with `k`, restricted
 * to that category index.
 */
export function summarizeStats(precision: NdArray, recall: NdArray, params: CocoEvalParams, k?: number): number[] {
  const [T, R, K, A, M] = precision.shape as [number, number, number, number, number];
  const vals = new Float64Array(T * R * (k === undefined ? K : 1));
  return SUMMARY.map((spec) => {
    const md = spec.fixedMaxDet ?? params.maxDets[spec.maxDetIndex];
    const ts =
      spec.iouThr === undefined ? indicesWhere(params.iouThresholds, () => true) : indicesWhere(params.iouThresholds, (t) => t === spec.iouThr);
    const as = indicesWhere(params.areaLabels, (l) => l === spec.areaRng);
    const ms = md === undefined ? [] : indicesWhere(params.maxDets, (m) => m === md);
    const ks = k === undefined ? Array.from({ length: K }, (_, i) => i) : [k];
    let n = 0;
    // Fancy indexing s[t][:, :, :, aind, mind] broadcasts aind with mind; both have one entry here.
    const pairs = Math.min(as.length, ms.length);
    for (const t of ts) {
      if (spec.ap) {
        for (let r = 0; r < R; r++) {
          for (const kk of ks) {
            for (let p = 0; p < pairs; p++) {
              const v = precision.data[(((t * R + r) * K + kk) * A + as[p]!) * M + ms[p]!]!;
              if (v > -1) vals[n++] = v;
            }
          }
        }
      } else {
        for (const kk of ks) {
          for (let p = 0; p < pairs; p++) {
            const v = recall.data[((t * K + kk) * A + as[p]!) * M + ms[p]!]!;
            if (v > -1) vals[n++] = v;
          }
        }
      }
    }
    return n === 0 ? -1 : pairwiseSum(vals, 0, n) / n;
  });
}

/**
 * Python's '{:0.Nf}'.format(x): like toFixed, but exact binary ties (only
 * possible for x = j / 2^(N+1), j odd) round half to even as CPython does.
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const y = x * 2 ** (digits + 1);
  if (Number.isInteger(y) && Math.abs(y) < 2 ** 52 && Math.abs(y) % 2 === 1) {
    const scaled = Math.abs(x) * 10 ** digits; // exact: j * 5^digits / 2
    let n = Math.floor(scaled);
    if (n % 2 === 1) n += 1;
    const s = String(n).padStart(digits + 1, '0');
    const body = digits > 0 ? `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}` : s;
    return (x < 0 ? '-' : '') + body;
  }
  return x.toFixed(digits);
}

const SUMMARY_LINES: ReadonlyArray<{ ap: boolean; iou: 'range' | number; area: string; mdi: number; fixed?: number }> = SUMMARY.map((s) => ({
  ap: s.ap,
  iou: s.iouThr ?? 'range',
  area: s.areaRng,
  mdi: s.maxDetIndex,
  fixed: s.fixedMaxDet,
}));

/**
 * The 12 lines pycocotools' summarize() prints, joined by '\n' (no trailing
 * newline), from the format ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'.
 */
export function formatCocoSummary(stats: readonly number[], params: { iouThresholds?: ArrayLike<number>; maxDets?: readonly number[] } = {}): string {
  const thr = params.iouThresholds ?? linspace(0.5, 0.95, 10);
  const md = params.maxDets ?? [1, 10, 100];
  const range = `${formatFixed(thr[0]!, 2)}:${formatFixed(thr[thr.length - 1]!, 2)}`;
  return SUMMARY_LINES.map((l, i) => {
    const title = (l.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = l.ap ? '(AP)' : '(AR)';
    const iou = (l.iou === 'range' ? range : formatFixed(l.iou, 2)).padEnd(9);
    const area = l.area.padStart(6);
    const maxDets = String(l.fixed ?? md[l.mdi]).padStart(3);
    return ` ${title} ${type} @[ IoU=${iou} | area=${area} | maxDets=${maxDets} ] = ${formatFixed(stats[i]!, 3)}`;
  }).join('\n');
}
