/**
 * Anchor analysis and estimation (YOLOv5 autoanchor):
 *
 *  - `anchorFitness`: the width/height ratio metric. For a box (w, h) and an
 *    anchor (aw, ah): r = (w/aw, h/ah), x = min over w,h of min(r, 1/r) (1 for a
 *    perfect fit, 1/4 when one side is 4× off). A box is matched by an anchor
 *    when x > 1/thr. BPR (best possible recall) is the fraction of boxes whose
 *    best anchor matches; AAT the mean number of matching anchors per box;
 *    fitness the mean over boxes of best·[best > 1/thr].
 *  - `kmeansAnchors`: k-means on (w, h) with 1 − wh-IoU (corner-aligned) or
 *    1 − ratio-metric distance, k-means++ seeding from a seeded Rng.
 *  - `evolveAnchors`: genetic refinement maximising the fitness.
 *  - `autoAnchor`: checks a model's anchors against the dataset and, when the
 *    BPR is below `minBpr`, re-estimates them, keeping the result only when it
 *    is better.
 *
 * `wh` is a flat array of (w, h) pairs, preferably in pixels at the training
 * image size (the caller scales labels). Pairs with a non-positive or
 * non-finite side are ignored and counted (`ignored`).
 */
import { ProgressBar } from '../../util/progress.js';
import type { Rng } from '../../util/rng.js';
import { whIou } from './box-utils.js';

export type AnchorMetric = 'iou' | 'ratio';
/** Anchors as a list of (w, h). */
export type AnchorList = ReadonlyArray<ArrayLike<number>>;
/** Per-level anchors, levels × na × (w, h), as in ModelConfig.anchors. */
export type LevelAnchors = ReadonlyArray<ReadonlyArray<ArrayLike<number>>>;

export interface AnchorMetrics {
  /** Best possible recall: fraction of (valid) boxes whose best anchor has x > 1/thr. */
  bpr: number;
  /** Anchors above threshold: mean number of anchors per box with x > 1/thr. */
  aat: number;
  /** Mean over boxes of best·[best > 1/thr]. */
  fitness: number;
  /** Boxes used (valid w, h). */
  n: number;
  /** Boxes ignored for a non-positive or non-finite side. */
  ignored: number;
}

interface ValidWh {
  /** n×2, float64. */
  data: Float64Array;
  n: number;
  ignored: number;
}

/** Keeps the (w, h) pairs with both sides finite and positive. */
export function filterValidWh(wh: ArrayLike<number>): ValidWh {
  if (wh.length % 2 !== 0) throw new Error(`wh must hold (w, h) pairs; got ${wh.length} numbers`);
  const total = wh.length / 2;
  const data = new Float64Array(wh.length);
  let n = 0;
  for (let i = 0; i < total; i++) {
    const w = wh[2 * i]!,
      h = wh[2 * i + 1]!;
    if (w > 0 && h > 0 && Number.isFinite(w) && Number.isFinite(h)) {
      data[2 * n] = w;
      data[2 * n + 1] = h;
      n++;
    }
  }
  return { data: data.subarray(0, 2 * n), n, ignored: total - n };
}

function flatAnchors(anchors: AnchorList): Float64Array {
  const out = new Float64Array(anchors.length * 2);
  anchors.forEach((a, i) => {
    const w = a[0],
      h = a[1];
    if (!(w !== undefined && h !== undefined && w > 0 && h > 0 && Number.isFinite(w) && Number.isFinite(h))) {
      throw new Error(`anchor ${i} must be a positive (w, h); got (${w}, ${h})`);
    }
    out[2 * i] = w;
    out[2 * i + 1] = h;
  });
  return out;
}

/** Ratio-metric match of box (w, h) and anchor (aw, ah): min over sides of min(r, 1/r). */
function ratioMatch(w: number, h: number, aw: number, ah: number): number {
  const rw = w / aw,
    rh = h / ah;
  return Math.min(rw, 1 / rw, rh, 1 / rh);
}

function metricsOf(v: ValidWh, k: Float64Array, thr: number): AnchorMetrics {
  const t = 1 / thr;
  const na = k.length >> 1;
  let matched = 0,
    above = 0,
    fit = 0;
  const d = v.data;
  for (let i = 0; i < v.n; i++) {
    const w = d[2 * i]!,
      h = d[2 * i + 1]!;
    let best = 0;
    for (let j = 0; j < na; j++) {
      const x = ratioMatch(w, h, k[2 * j]!, k[2 * j + 1]!);
      if (x > t) above++;
      if (x > best) best = x;
    }
    if (best > t) {
      matched++;
      fit += best;
    }
  }
  const n = v.n;
  return { bpr: n ? matched / n : 0, aat: n ? above / n : 0, fitness: n ? fit / n : 0, n, ignored: v.ignored };
}

/** The fitness alone, for the evolution loop. */
function fitnessOf(d: Float64Array, n: number, k: Float64Array, t: number): number {
  const na = k.length >> 1;
  let fit = 0;
  for (let i = 0; i < n; i++) {
    const w = d[2 * i]!,
      h = d[2 * i + 1]!;
    let best = 0;
    for (let j = 0; j < na; j++) {
      const rw = w / k[2 * j]!,
        rh = h / k[2 * j + 1]!;
      const x = Math.min(rw, 1 / rw, rh, 1 / rh);
      if (x > best) best = x;
    }
    if (best > t) fit += best;
  }
  return n ? fit / n : 0;
}

/**
 * YOLOv5 anchor metrics of anchors (k × (w, h)) on boxes `wh` (flat n × (w, h)).
 * A ratio of exactly `thr` is not a match (x > 1/thr is strict).
 */
export function anchorFitness(wh: ArrayLike<number>, anchors: AnchorList, thr = 4.0): AnchorMetrics {
  if (!(thr > 1)) throw new Error(`thr must be > 1; got ${thr}`);
  return metricsOf(filterValidWh(wh), flatAnchors(anchors), thr);
}

function sortByArea(k: Float64Array): number[][] {
  const out: number[][] = [];
  for (let j = 0; j < k.length >> 1; j++) out.push([k[2 * j]!, k[2 * j + 1]!]);
  return out.sort((a, b) => a[0]! * a[1]! - b[0]! * b[1]! || a[0]! - b[0]!);
}

export interface KmeansOptions {
  rng: Rng;
  /** Maximum Lloyd iterations (default 300); stops early when assignments settle. */
  iters?: number;
  /** Distance: 1 − wh-IoU (default) or 1 − ratio metric. */
  metric?: AnchorMetric;
}

/**
 * k-means anchors from (w, h) pairs: k-means++ seeding (D² sampling with the
 * given rng), Lloyd iterations assigning each box to the anchor at least
 * distance; centroids are the arithmetic mean (iou metric) or geometric mean
 * (ratio metric, which is scale-invariant) of their boxes. An emptied cluster
 * is reseeded at the box farthest from its centroid. Returns k (w, h) pairs
 * sorted by area, small to large. Throws when fewer than k valid boxes.
 */
export function kmeansAnchors(wh: ArrayLike<number>, k: number, options: KmeansOptions): number[][] {
  const { rng } = options;
  const iters = options.iters ?? 300;
  const metric = options.metric ?? 'iou';
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer; got ${k}`);
  if (metric !== 'iou' && metric !== 'ratio') throw new Error(`unknown metric '${String(metric)}'`);
  const v = filterValidWh(wh);
  const n = v.n;
  const d = v.data;
  if (n < k) throw new Error(`k-means needs at least k=${k} valid boxes; got ${n} (${v.ignored} ignored)`);
  const dist =
    metric === 'iou'
      ? (w: number, h: number, cw: number, ch: number) => 1 - whIou(w, h, cw, ch)
      : (w: number, h: number, cw: number, ch: number) => 1 - ratioMatch(w, h, cw, ch);

  // k-means++ seeding.
  const c = new Float64Array(2 * k);
  const dmin = new Float64Array(n).fill(Infinity);
  const first = Math.min(n - 1, Math.floor(rng.next() * n));
  c[0] = d[2 * first]!;
  c[1] = d[2 * first + 1]!;
  for (let j = 1; j < k; j++) {
    const pw = c[2 * (j - 1)]!,
      ph = c[2 * (j - 1) + 1]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const x = dist(d[2 * i]!, d[2 * i + 1]!, pw, ph);
      if (x < dmin[i]!) dmin[i] = x;
      total += dmin[i]! * dmin[i]!;
    }
    let pick: number;
    if (total > 0) {
      let u = rng.next() * total;
      pick = n - 1;
      for (let i = 0; i < n; i++) {
        u -= dmin[i]! * dmin[i]!;
        if (u < 0 && dmin[i]! > 0) {
          pick = i;
          break;
        }
      }
    } else {
      pick = Math.min(n - 1, Math.floor(rng.next() * n));
    }
    c[2 * j] = d[2 * pick]!;
    c[2 * j + 1] = d[2 * pick + 1]!;
  }

  // Lloyd iterations.
  const assign = new Int32Array(n).fill(-1);
  const adist = new Float64Array(n);
  const sumW = new Float64Array(k),
    sumH = new Float64Array(k),
    count = new Int32Array(k);
  for (let it = 0; it < iters; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const w = d[2 * i]!,
        h = d[2 * i + 1]!;
      let best = 0,
        bestD = Infinity;
      for (let j = 0; j < k; j++) {
        const x = dist(w, h, c[2 * j]!, c[2 * j + 1]!);
        if (x < bestD) {
          bestD = x;
          best = j;
        }
      }
      if (assign[i] !== best) changed++;
      assign[i] = best;
      adist[i] = bestD;
    }
    if (changed === 0 && it > 0) break;
    sumW.fill(0);
    sumH.fill(0);
    count.fill(0);
    for (let i = 0; i < n; i++) {
      const j = assign[i]!;
      count[j]!++;
      if (metric === 'iou') {
        sumW[j] += d[2 * i]!;
        sumH[j] += d[2 * i + 1]!;
      } else {
        sumW[j] += Math.log(d[2 * i]!);
        sumH[j] += Math.log(d[2 * i + 1]!);
      }
    }
    for (let j = 0; j < k; j++) {
      if (count[j]! > 0) {
        c[2 * j] = metric === 'iou' ? sumW[j]! / count[j]! : Math.exp(sumW[j]! / count[j]!);
        c[2 * j + 1] = metric === 'iou' ? sumH[j]! / count[j]! : Math.exp(sumH[j]! / count[j]!);
      } else {
        // Reseed an empty cluster at the box worst served by its centroid.
        let far = 0,
          farD = -1;
        for (let i = 0; i < n; i++) {
          if (adist[i]! > farD) {
            farD = adist[i]!;
            far = i;
          }
        }
        c[2 * j] = d[2 * far]!;
        c[2 * j + 1] = d[2 * far + 1]!;
        adist[far] = 0;
        assign[far] = -1; // forces another iteration
      }
    }
  }
  return sortByArea(c);
}

export interface EvolveOptions {
  rng: Rng;
  /** Generations (default 1000). */
  generations?: number;
  /** Per-anchor-coordinate mutation probability (default 0.9). */
  mutationProb?: number;
  /** Mutation scale (default 0.1). */
  sigma?: number;
  /** Ratio threshold of the fitness (default 4.0). */
  thr?: number;
  /** Lower bound on mutated anchor sides, in the units of wh (default 2, pixels as YOLOv5). */
  minSize?: number;
  /** Shows a progress bar on stderr (default false). */
  progress?: boolean;
}

export interface EvolveResult {
  /** Evolved anchors, sorted by area. */
  anchors: number[][];
  /** Fitness of the evolved anchors. */
  fitness: number;
  /** Fitness of the starting anchors. */
  initialFitness: number;
}

/**
 * YOLOv5 autoanchor genetic refinement: each generation multiplies every
 * coordinate by v = (rand < mutationProb)·randn·sigma + 1 clipped to [0.3, 3]
 * (redrawn until some v ≠ 1), clips sides to ≥ minSize, and accepts the
 * mutant when its fitness is strictly higher. Never lowers the fitness;
 * deterministic for a given rng state.
 */
export function evolveAnchors(wh: ArrayLike<number>, anchors: AnchorList, options: EvolveOptions): EvolveResult {
  const { rng } = options;
  const generations = options.generations ?? 1000;
  const mp = options.mutationProb ?? 0.9;
  const sigma = options.sigma ?? 0.1;
  const thr = options.thr ?? 4.0;
  const minSize = options.minSize ?? 2.0;
  if (!(thr > 1)) throw new Error(`thr must be > 1; got ${thr}`);
  if (!(mp > 0)) throw new Error(`mutationProb must be > 0; got ${mp}`);
  const v = filterValidWh(wh);
  const t = 1 / thr;
  let k = flatAnchors(anchors);
  let f = fitnessOf(v.data, v.n, k, t);
  const initialFitness = f;
  const kg = new Float64Array(k.length);
  const bar = options.progress ? new ProgressBar({ total: generations, label: 'evolve anchors', unit: 'gen' }) : null;
  for (let g = 0; g < generations && v.n > 0; g++) {
    let mutated = false;
    while (!mutated) {
      for (let j = 0; j < k.length; j++) {
        let m = 1;
        if (rng.next() < mp) m = Math.min(Math.max(rng.normal() * sigma + 1, 0.3), 3.0);
        if (m !== 1) mutated = true;
        kg[j] = Math.max(k[j]! * m, minSize);
      }
    }
    const fg = fitnessOf(v.data, v.n, kg, t);
    if (fg > f) {
      f = fg;
      k = Float64Array.from(kg);
    }
    bar?.tick(1, { fitness: f.toFixed(4) });
  }
  bar?.finish();
  return { anchors: sortByArea(k), fitness: f, initialFitness };
}

export interface AutoAnchorOptions {
  rng: Rng;
  /** Ratio threshold (default 4.0, the YOLOv5 anchor_t hyperparameter). */
  thr?: number;
  /** Anchors are re-estimated only when BPR < minBpr (default 0.98). */
  minBpr?: number;
  /** Evolution generations (default 1000). */
  generations?: number;
  /** k-means iterations (default 300). */
  kmeansIters?: number;
  /** k-means distance (default 'iou'). */
  metric?: AnchorMetric;
  /** Shows a progress bar for the evolution (default false). */
  progress?: boolean;
}

export interface AutoAnchorResult {
  /** Metrics of the current anchors. */
  before: AnchorMetrics;
  /** Metrics of the returned anchors (equal to `before` when unchanged). */
  after: AnchorMetrics;
  /** Returned anchors, same shape as the input (levels × na × (w, h)). */
  anchors: Array<Array<[number, number]>>;
  /** True when new anchors replaced the current ones. */
  changed: boolean;
  /** True when anchors were re-estimated (BPR < minBpr and enough boxes), kept or not. */
  recomputed: boolean;
  /** Boxes ignored for a non-positive or non-finite side. */
  ignored: number;
}

/**
 * Checks `currentAnchors` against the dataset's box sizes. When BPR < minBpr
 * the anchors are re-estimated (k-means with the total anchor count, then
 * evolution), sorted by area small → large and laid out across levels in the
 * current shape (first level gets the smallest). The new anchors are kept only
 * when they are better: higher BPR, or equal BPR and higher fitness.
 */
export function autoAnchor(wh: ArrayLike<number>, currentAnchors: LevelAnchors, options: AutoAnchorOptions): AutoAnchorResult {
  const thr = options.thr ?? 4.0;
  const minBpr = options.minBpr ?? 0.98;
  const flat: ArrayLike<number>[] = currentAnchors.flat();
  const current = currentAnchors.map((level) => level.map((a) => [a[0]!, a[1]!] as [number, number]));
  const v = filterValidWh(wh);
  const before = metricsOf(v, flatAnchors(flat), thr);
  const unchanged = (recomputed: boolean): AutoAnchorResult => ({
    before,
    after: before,
    anchors: current,
    changed: false,
    recomputed,
    ignored: v.ignored,
  });
  if (before.bpr >= minBpr || v.n < flat.length || flat.length === 0) return unchanged(false);

  const seeds = kmeansAnchors(v.data, flat.length, { rng: options.rng, iters: options.kmeansIters, metric: options.metric });
  const evolved = evolveAnchors(v.data, seeds, {
    rng: options.rng,
    generations: options.generations,
    thr,
    progress: options.progress,
  });
  const candidate = evolved.anchors;
  const after = metricsOf(v, flatAnchors(candidate), thr);
  const better = after.bpr > before.bpr || (after.bpr === before.bpr && after.fitness > before.fitness);
  if (!better) return unchanged(true);
  let p = 0;
  const anchors = currentAnchors.map((level) =>
    level.map(() => {
      const a = candidate[p++]!;
      return [a[0]!, a[1]!] as [number, number];
    }),
  );
  return { before, after, anchors, changed: true, recomputed: true, ignored: v.ignored };
}
