/**
 * sRGB → CIE L*a*b* under D65, exactly as the standard defines it (IEC 61966-2-1
 * transfer curve, the sRGB → XYZ matrix, CIE 1976 L*a*b* with ε = 216/24389 and
 * κ = 24389/27), for the colourisation pretext task. The white point is the
 * matrix's image of RGB (1, 1, 1), the D65 white of sRGB, so white maps to a = b = 0
 * exactly. `labPlanes` converts a whole batch: the same formulas, with the
 * transfer curve read from a table (linear interpolation between 4097 exact
 * samples, error < 1e-7) since it runs every training step.
 */
import type { PretextBatch } from '../types.js';

/** sRGB → XYZ (D65), row-major. */
const M = [0.4124564, 0.3575761, 0.1804375, 0.2126729, 0.7151522, 0.072175, 0.0193339, 0.119192, 0.9503041] as const;
const XN = M[0] + M[1] + M[2];
const YN = M[3] + M[4] + M[5];
const ZN = M[6] + M[7] + M[8];
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;

/** The sRGB transfer curve undone: an encoded value in [0, 1] → linear light. */
export function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function f(t: number): number {
  return t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
}

/** L*a*b* of linear-light RGB, written to out[o…o+2]. */
export function linearToLab(r: number, g: number, b: number, out: Float32Array | number[], o = 0): void {
  const fx = f((M[0] * r + M[1] * g + M[2] * b) / XN);
  const fy = f((M[3] * r + M[4] * g + M[5] * b) / YN);
  const fz = f((M[6] * r + M[7] * g + M[8] * b) / ZN);
  out[o] = 116 * fy - 16;
  out[o + 1] = 500 * (fx - fy);
  out[o + 2] = 200 * (fy - fz);
}

/** [L, a, b] of an sRGB colour with components in [0, 1] (L in 0–100). */
export function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const out = [0, 0, 0];
  linearToLab(srgbToLinear(r), srgbToLinear(g), srgbToLinear(b), out);
  return out as [number, number, number];
}

const LUT_N = 4096;
const LUT = Float64Array.from({ length: LUT_N + 1 }, (_, i) => srgbToLinear(i / LUT_N));

/** srgbToLinear by table, the input clipped to [0, 1]. */
function linearFast(c: number): number {
  const x = Math.min(Math.max(c, 0), 1) * LUT_N;
  const i = Math.min(x | 0, LUT_N - 1);
  const t = x - i;
  return LUT[i]! * (1 - t) + LUT[i + 1]! * t;
}

/**
 * A batch's colourisation input and target: `grey`, the lightness L/100 replicated
 * into three channels at full resolution (NHWC, like the batch), and `ab`, the a
 * and b channels averaged over each `cell`×`cell` block ([B, H/cell, W/cell, 2]).
 * Pixel values are clipped to [0, 1] first.
 */
export function labPlanes(batch: PretextBatch, cell: number): { grey: Float32Array; ab: Float32Array } {
  const [b, h, w, c] = batch.shape;
  if (c !== 3) throw new Error(`colorize: ${c} channels (expected RGB)`);
  if (h % cell || w % cell) throw new Error(`colorize: ${h}×${w} images are not a multiple of the target cell ${cell}`);
  const src = batch.images;
  const grey = new Float32Array(src.length);
  const gw = w / cell;
  const gh = h / cell;
  const ab = new Float32Array(b * gh * gw * 2);
  const lab = new Float32Array(3);
  for (let i = 0; i < b; i++)
    for (let y = 0; y < h; y++) {
      const row = (i * gh + Math.floor(y / cell)) * gw * 2;
      for (let x = 0; x < w; x++) {
        const p = ((i * h + y) * w + x) * 3;
        linearToLab(linearFast(src[p]!), linearFast(src[p + 1]!), linearFast(src[p + 2]!), lab);
        const l = lab[0]! / 100;
        grey[p] = l;
        grey[p + 1] = l;
        grey[p + 2] = l;
        const q = row + Math.floor(x / cell) * 2;
        ab[q]! += lab[1]!;
        ab[q + 1]! += lab[2]!;
      }
    }
  const inv = 1 / (cell * cell);
  for (let k = 0; k < ab.length; k++) ab[k]! *= inv;
  return { grey, ab };
}
