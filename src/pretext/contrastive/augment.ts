/**
 * SimCLR's augmentations (Chen, Kornblith, Norouzi & Hinton, ICML 2020, appendix
 * A), on float32 HWC images with values in [0, 1], in the paper's order: random
 * resized crop (area 0.2–1 of the image, the paper's CIFAR-10 lower bound instead
 * of ImageNet's 0.08; aspect 3/4–4/3) back to the output side, horizontal flip
 * (p 0.5), colour jitter (p 0.8) and random grey (p 0.2). Gaussian blur is left
 * out: the paper drops it for small images (CIFAR-10), and at detection sizes a
 * kernel of 10% of the side costs more on the CPU, every step, than the rest
 * together.
 *
 * Colour jitter is torchvision's ColorJitter on float images (the paper's
 * reference code) at colour strength 0.5 (the paper's CIFAR-10 setting: 0.4
 * brightness, contrast and saturation, 0.1 hue): factors drawn uniformly from
 * [1 − s, 1 + s] (hue: a shift in [−h, h] of the colour wheel), the four
 * operations in random order, each clipped to [0, 1]. Brightness scales the
 * pixels; contrast blends with the image's mean grey level (BT.601 luma);
 * saturation blends each pixel with its own grey; hue rotates H in HSV. A
 * factor of exactly 1 (shift 0) leaves the image untouched.
 */
import type { Rng } from '../../util/rng.js';
import { cropResize, type FloatImage, flipHorizontal, toGrey } from '../image-ops.js';

/** Colour jitter strengths (brightness, contrast, saturation as ±fractions; hue as ± a fraction of the colour wheel, at most 0.5). */
export interface JitterStrength {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** The SimCLR augmentation parameters used here. */
export const SIMCLR_AUGMENT = {
  scale: [0.2, 1] as const,
  ratio: [3 / 4, 4 / 3] as const,
  flip: 0.5,
  jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } satisfies JitterStrength,
  jitterP: 0.8,
  greyP: 0.2,
};

const clip = (v: number): number => Math.min(Math.max(v, 0), 1);
const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** The crop window of a w×h image, torchvision's RandomResizedCrop.get_params (10 tries, then a centre crop of clamped aspect). */
export function cropWindow(
  w: number,
  h: number,
  rng: Rng,
  scale: readonly [number, number] = SIMCLR_AUGMENT.scale,
  ratio: readonly [number, number] = SIMCLR_AUGMENT.ratio,
): { x: number; y: number; w: number; h: number } {
  const area = w * h;
  const [lo, hi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.next());
    const aspect = Math.exp(lo + (hi - lo) * rng.next());
    const cw = Math.round(Math.sqrt(target * aspect));
    const ch = Math.round(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) return { x: rng.int(0, w - cw), y: rng.int(0, h - ch), w: cw, h: ch };
  }
  let cw = w;
  let ch = h;
  if (w / h < ratio[0]) ch = Math.round(w / ratio[0]);
  else if (w / h > ratio[1]) cw = Math.round(h * ratio[1]);
  return { x: Math.floor((w - cw) / 2), y: Math.floor((h - ch) / 2), w: cw, h: ch };
}

/** A random resized crop of the image, resized bilinearly to side × side. */
export function randomResizedCrop(img: FloatImage, side: number, rng: Rng): FloatImage {
  const c = cropWindow(img.width, img.height, rng);
  return cropResize(img, c.x, c.y, c.w, c.h, side, side);
}

/** Hue rotation by `shift` (fraction of the wheel) through HSV, in place on RGB data. */
function shiftHue(d: Float32Array, shift: number): void {
  for (let p = 0; p < d.length; p += 3) {
    const r = d[p]!;
    const g = d[p + 1]!;
    const b = d[p + 2]!;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const delta = max - min;
    if (delta <= 0) continue; // grey: no hue
    let hh = max === r ? (g - b) / delta : max === g ? 2 + (b - r) / delta : 4 + (r - g) / delta;
    hh = (((hh / 6 + shift) % 1) + 1) % 1;
    const s = delta / max;
    const h6 = hh * 6;
    const i = Math.floor(h6) % 6;
    const f = h6 - Math.floor(h6);
    const pv = max * (1 - s);
    const q = max * (1 - s * f);
    const t = max * (1 - s * (1 - f));
    let r2 = max;
    let g2 = max;
    let b2 = max;
    if (i === 0) [g2, b2] = [t, pv];
    else if (i === 1) [r2, b2] = [q, pv];
    else if (i === 2) [r2, b2] = [pv, t];
    else if (i === 3) [r2, g2] = [pv, q];
    else if (i === 4) [r2, g2] = [t, pv];
    else [g2, b2] = [pv, q];
    d[p] = clip(r2);
    d[p + 1] = clip(g2);
    d[p + 2] = clip(b2);
  }
}

/** Colour jitter with factors drawn from `rng` (operations in random order); strength 0 is the identity. */
export function colourJitter(img: FloatImage, s: JitterStrength, rng: Rng): FloatImage {
  if (img.channels !== 3) throw new Error(`colourJitter: ${img.channels} channels (expected 3)`);
  const factor = (k: number): number => 1 - Math.min(k, 1) + (k + Math.min(k, 1)) * rng.next();
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const fb = s.brightness > 0 ? factor(s.brightness) : 1;
  const fc = s.contrast > 0 ? factor(s.contrast) : 1;
  const fs = s.saturation > 0 ? factor(s.saturation) : 1;
  const hue = s.hue > 0 ? Math.min(s.hue, 0.5) * (2 * rng.next() - 1) : 0;
  const d = img.data.slice();
  for (const op of order) {
    if (op === 0 && fb !== 1) for (let p = 0; p < d.length; p++) d[p] = clip(d[p]! * fb);
    else if (op === 1 && fc !== 1) {
      let mean = 0;
      for (let p = 0; p < d.length; p += 3) mean += luma(d[p]!, d[p + 1]!, d[p + 2]!);
      mean /= d.length / 3;
      for (let p = 0; p < d.length; p++) d[p] = clip(fc * d[p]! + (1 - fc) * mean);
    } else if (op === 2 && fs !== 1)
      for (let p = 0; p < d.length; p += 3) {
        const grey = (1 - fs) * luma(d[p]!, d[p + 1]!, d[p + 2]!);
        for (let k = 0; k < 3; k++) d[p + k] = clip(fs * d[p + k]! + grey);
      }
    else if (op === 3 && hue !== 0) shiftHue(d, hue);
  }
  return { ...img, data: d };
}

/** One SimCLR view of the image at side × side: crop, flip, colour jitter, grey. */
export function simclrView(img: FloatImage, side: number, rng: Rng): FloatImage {
  let v = randomResizedCrop(img, side, rng);
  if (rng.next() < SIMCLR_AUGMENT.flip) v = flipHorizontal(v);
  if (rng.next() < SIMCLR_AUGMENT.jitterP) v = colourJitter(v, SIMCLR_AUGMENT.jitter, rng);
  if (rng.next() < SIMCLR_AUGMENT.greyP) v = toGrey(v);
  return v;
}
