/**
 * HSV colour jitter (YOLOv5 `augment_hsv`): three random gains
 *   r = 1 + U(−1, 1)·[h, s, v]
 * applied through look-up tables on OpenCV's 8-bit HSV (H in [0, 180), S and V
 * in [0, 255]): H ← (H·r_h) mod 180, S ← clip(S·r_s), V ← clip(V·r_v), both
 * truncated to integers as numpy's astype(uint8). The RGB↔HSV conversions
 * follow OpenCV's 8-bit COLOR_RGB2HSV / COLOR_HSV2RGB. Boxes and masks are
 * unchanged. Random draws: 3 (h, s, v gains), even when a gain is zero.
 */
import type { Rng } from '../../util/rng.js';
import type { Sample } from '../types.js';

export interface HsvOptions {
  /** Hue gain range (fraction, default 0.015). */
  h?: number;
  /** Saturation gain range (default 0.7). */
  s?: number;
  /** Value gain range (default 0.4). */
  v?: number;
}

const SHIFT = 12;
const HALF = 1 << (SHIFT - 1);
/** OpenCV's division tables for the 8-bit RGB→HSV conversion. */
const SDIV = new Int32Array(256);
const HDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) {
  SDIV[i] = Math.round((255 << SHIFT) / i);
  HDIV[i] = Math.round((180 << SHIFT) / (6 * i));
}

/** Applies the three LUTs to an RGB buffer in place of `out` (may alias `src`). */
function applyHsvLuts(src: Uint8Array, out: Uint8Array, lutH: Uint8Array, lutS: Uint8Array, lutV: Uint8Array): void {
  for (let p = 0; p < src.length; p += 3) {
    const r = src[p]!;
    const g = src[p + 1]!;
    const b = src[p + 2]!;
    // RGB → HSV (OpenCV RGB2HSV_b, hrange 180).
    const v = r > g ? Math.max(r, b) : Math.max(g, b);
    const vmin = r < g ? Math.min(r, b) : Math.min(g, b);
    const diff = v - vmin;
    const s = (diff * SDIV[v]! + HALF) >> SHIFT;
    let h: number;
    if (v === r) h = g - b;
    else if (v === g) h = b - r + 2 * diff;
    else h = r - g + 4 * diff;
    h = (h * HDIV[diff]! + HALF) >> SHIFT;
    if (h < 0) h += 180;
    // LUTs.
    const H = lutH[h]!;
    const S = lutS[s]! / 255;
    const V = lutV[v]! / 255;
    // HSV → RGB (OpenCV HSV2RGB, hscale 6/180).
    let R: number, G: number, B: number;
    if (S === 0) {
      R = G = B = V;
    } else {
      let hh = H * (6 / 180);
      while (hh < 0) hh += 6;
      while (hh >= 6) hh -= 6;
      const sector = Math.floor(hh);
      const f = hh - sector;
      const t0 = V;
      const t1 = V * (1 - S);
      const t2 = V * (1 - S * f);
      const t3 = V * (1 - S * (1 - f));
      switch (sector) {
        case 0:
          R = t0;
          G = t3;
          B = t1;
          break;
        case 1:
          R = t2;
          G = t0;
          B = t1;
          break;
        case 2:
          R = t1;
          G = t0;
          B = t3;
          break;
        case 3:
          R = t1;
          G = t2;
          B = t0;
          break;
        case 4:
          R = t3;
          G = t1;
          B = t0;
          break;
        default:
          R = t0;
          G = t1;
          B = t2;
          break;
      }
    }
    out[p] = Math.round(R * 255);
    out[p + 1] = Math.round(G * 255);
    out[p + 2] = Math.round(B * 255);
  }
}

/** The three gain LUTs for gains r = [r_h, r_s, r_v]. */
export function hsvLuts(r: readonly [number, number, number]): { h: Uint8Array; s: Uint8Array; v: Uint8Array } {
  const h = new Uint8Array(256);
  const s = new Uint8Array(256);
  const v = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    const hx = (x * r[0]) % 180;
    h[x] = Math.trunc(hx < 0 ? hx + 180 : hx);
    s[x] = Math.trunc(Math.min(255, Math.max(0, x * r[1])));
    v[x] = Math.trunc(Math.min(255, Math.max(0, x * r[2])));
  }
  return { h, s, v };
}

/** Applies fixed HSV gains [r_h, r_s, r_v] to a sample's image (new image; labels untouched). */
export function applyHsvGains(sample: Sample, gains: readonly [number, number, number]): Sample {
  const luts = hsvLuts(gains);
  const data = new Uint8Array(sample.image.data.length);
  applyHsvLuts(sample.image.data, data, luts.h, luts.s, luts.v);
  return { ...sample, image: { ...sample.image, data } };
}

/** Random HSV gains (YOLOv5 augment_hsv). Returns a new sample; the input is not modified. */
export function hsvJitter(sample: Sample, rng: Rng, opts: HsvOptions = {}): Sample {
  const hg = opts.h ?? 0.015;
  const sg = opts.s ?? 0.7;
  const vg = opts.v ?? 0.4;
  const gains: [number, number, number] = [(rng.next() * 2 - 1) * hg + 1, (rng.next() * 2 - 1) * sg + 1, (rng.next() * 2 - 1) * vg + 1];
  if (!hg && !sg && !vg) return { ...sample, image: { ...sample.image, data: sample.image.data.slice() } };
  return applyHsvGains(sample, gains);
}
