/**
 * The quantised ab space of Zhang, Isola & Efros (ECCV 2016, "Colorful Image
 * Colorization"): the centres of a grid of step 10 on (a, b) that some sRGB colour
 * falls into (nearest centre), the soft encoding of an ab value on its 5 nearest
 * bins (Gaussian weights, σ = 5), and the class-rebalancing weights
 * w ∝ ((1 − λ)·p̃ + λ/Q)⁻¹, normalised so that E_p̃[w] = 1, from an empirical bin
 * distribution p smoothed by a Gaussian (σ = 5) into p̃.
 *
 * The in-gamut set is computed, not copied: the ab projection of the sRGB solid
 * equals that of its surface, so the six faces of the RGB cube are sampled on a
 * 257×257 grid each (and a 1025×1025 grid gives the same set). That yields
 * Q = 262 bins (a from −90 to 100, b from −110 to 90), not the paper's 313: the
 * paper's released set (pts_in_hull.npy) is a superset that contains centres no
 * sRGB colour comes near, e.g. (a, b) = (−90, 50) while the smallest a of sRGB is
 * −86.2 (pure green, at b = 83.2); its gamut was evidently a wider estimate.
 */
import { linearToLab, srgbToLinear } from './lab.js';

export const GRID = 10;
export const SOFT_NEIGHBOURS = 5;
export const SOFT_SIGMA = 5;
export const PRIOR_SIGMA = 5;
export const PRIOR_LAMBDA = 0.5;

/** The in-gamut grid centres as [a0, b0, a1, b1, …], a-major, b ascending; `n` samples per edge of each cube face. */
export function inGamutBins(n = 256): Float64Array {
  const lin = Float64Array.from({ length: n + 1 }, (_, i) => srgbToLinear(i / n));
  const seen = new Set<number>();
  const lab = [0, 0, 0];
  const rgb = [0, 0, 0];
  for (let axis = 0; axis < 3; axis++)
    for (const side of [0, n])
      for (let i = 0; i <= n; i++)
        for (let j = 0; j <= n; j++) {
          rgb[axis] = lin[side]!;
          rgb[(axis + 1) % 3] = lin[i]!;
          rgb[(axis + 2) % 3] = lin[j]!;
          linearToLab(rgb[0]!, rgb[1]!, rgb[2]!, lab);
          seen.add((Math.round(lab[1]! / GRID) + 100) * 1000 + Math.round(lab[2]! / GRID) + 100);
        }
  const keys = [...seen].sort((x, y) => x - y);
  const out = new Float64Array(keys.length * 2);
  keys.forEach((k, q) => {
    out[2 * q] = (Math.floor(k / 1000) - 100) * GRID;
    out[2 * q + 1] = ((k % 1000) - 100) * GRID;
  });
  return out;
}

let cached: Float64Array | null = null;

/** The bins of this implementation (inGamutBins(256), computed once). */
export function abBins(): Float64Array {
  cached ??= inGamutBins(256);
  return cached;
}

/**
 * Soft encoding on the K nearest bins. Exact and cheap: each grid cell keeps as
 * candidates the bins within d_K(centre) + 2·(half cell diagonal) of its centre,
 * which contain the K nearest bins of every point of the cell.
 */
export class SoftEncoder {
  readonly q: number;
  private readonly lo: number;
  private readonly span: number;
  private readonly candidates: Int32Array[] = [];
  private readonly d2 = new Float64Array(SOFT_NEIGHBOURS);

  constructor(
    readonly bins: Float64Array,
    readonly k = SOFT_NEIGHBOURS,
    readonly sigma = SOFT_SIGMA,
  ) {
    this.q = bins.length / 2;
    if (this.q < k) throw new Error(`SoftEncoder: ${this.q} bins for ${k} neighbours`);
    this.lo = -13;
    this.span = 27; // cells −130…130 on both axes: beyond every ab value of an sRGB colour
    const reach = 2 * (GRID / 2) * Math.SQRT2;
    for (let ia = 0; ia < this.span; ia++)
      for (let ib = 0; ib < this.span; ib++) {
        const ca = (ia + this.lo) * GRID;
        const cb = (ib + this.lo) * GRID;
        const d = Array.from({ length: this.q }, (_, r) => Math.hypot(bins[2 * r]! - ca, bins[2 * r + 1]! - cb));
        const dk = [...d].sort((x, y) => x - y)[k - 1]!;
        this.candidates.push(Int32Array.from(d.flatMap((v, r) => (v <= dk + reach + 1e-9 ? [r] : []))));
      }
  }

  /** Writes the K nearest bins of (a, b) and their weights (sum 1) at idx/wts[o…o+K−1], nearest first; returns the nearest. */
  encode(a: number, b: number, idx: Int32Array, wts: Float32Array, o: number): number {
    const ia = Math.min(Math.max(Math.round(a / GRID) - this.lo, 0), this.span - 1);
    const ib = Math.min(Math.max(Math.round(b / GRID) - this.lo, 0), this.span - 1);
    const cand = this.candidates[ia * this.span + ib]!;
    const { k, d2, bins } = this;
    let n = 0;
    for (const r of cand) {
      const da = bins[2 * r]! - a;
      const db = bins[2 * r + 1]! - b;
      const v = da * da + db * db;
      if (n === k && v >= d2[k - 1]!) continue;
      let j = n < k ? n++ : k - 1;
      while (j > 0 && d2[j - 1]! > v) {
        d2[j] = d2[j - 1]!;
        idx[o + j] = idx[o + j - 1]!;
        j--;
      }
      d2[j] = v;
      idx[o + j] = r;
    }
    let s = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(-(d2[j]! - d2[0]!) / (2 * this.sigma * this.sigma));
      wts[o + j] = e;
      s += e;
    }
    for (let j = 0; j < k; j++) wts[o + j]! /= s;
    return idx[o]!;
  }
}

/**
 * The rebalancing weights of an empirical bin distribution (counts; uniform when
 * empty): p̃ = Gaussian-smoothed p (each bin's mass spread over the bins by
 * exp(−d²/2σ²), renormalised per source bin so p̃ sums to 1), w = ((1 − λ)p̃ + λ/Q)⁻¹
 * scaled so that Σ p̃·w = 1.
 */
export function rebalanceWeights(
  counts: ArrayLike<number>,
  bins: Float64Array,
  sigma = PRIOR_SIGMA,
  lambda = PRIOR_LAMBDA,
): { smoothed: Float64Array; weights: Float64Array } {
  const q = bins.length / 2;
  if (counts.length !== q) throw new Error(`rebalanceWeights: ${counts.length} counts for ${q} bins`);
  let total = 0;
  for (let r = 0; r < q; r++) total += counts[r]!;
  const smoothed = new Float64Array(q);
  const spread = new Float64Array(q);
  for (let r = 0; r < q; r++) {
    const p = total > 0 ? counts[r]! / total : 1 / q;
    if (!p) continue;
    let z = 0;
    for (let t = 0; t < q; t++) {
      const da = bins[2 * t]! - bins[2 * r]!;
      const db = bins[2 * t + 1]! - bins[2 * r + 1]!;
      spread[t] = Math.exp(-(da * da + db * db) / (2 * sigma * sigma));
      z += spread[t]!;
    }
    for (let t = 0; t < q; t++) smoothed[t]! += (p * spread[t]!) / z;
  }
  const weights = new Float64Array(q);
  let e = 0;
  for (let t = 0; t < q; t++) {
    weights[t] = 1 / ((1 - lambda) * smoothed[t]! + lambda / q);
    e += smoothed[t]! * weights[t]!;
  }
  for (let t = 0; t < q; t++) weights[t]! /= e;
  return { smoothed, weights };
}
