/**
 * Horizontal / vertical flips. Boxes (x' = W − x, y' = H − y) and masks follow
 * the pixels. Inputs are not modified.
 */
import type { Rng } from '../../util/rng.js';
import type { Sample } from '../types.js';
import { assertSample } from './letterbox-image.js';

function flipRowsH(src: Uint8Array, w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(src.length);
  if (c === 3) {
    for (let y = 0; y < h; y++) {
      const row = y * w * 3;
      for (let x = 0, s = row, d = row + (w - 1) * 3; x < w; x++, s += 3, d -= 3) {
        out[d] = src[s]!;
        out[d + 1] = src[s + 1]!;
        out[d + 2] = src[s + 2]!;
      }
    }
    return out;
  }
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const s = row + x * c;
      const d = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k]!;
    }
  }
  return out;
}

function flipRowsV(src: Uint8Array, w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const n = w * c;
  for (let y = 0; y < h; y++) out.set(src.subarray(y * n, (y + 1) * n), (h - 1 - y) * n);
  return out;
}

/** Mirrors left ↔ right. */
export function flipHorizontal(sample: Sample): Sample {
  assertSample(sample);
  const { width: w, height: h } = sample.image;
  const b = sample.boxes;
  const boxes = new Float32Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    boxes[i] = w - b[i + 2]!;
    boxes[i + 1] = b[i + 1]!;
    boxes[i + 2] = w - b[i]!;
    boxes[i + 3] = b[i + 3]!;
  }
  const out: Sample = { ...sample, image: { data: flipRowsH(sample.image.data, w, h, 3), width: w, height: h }, boxes };
  delete out.original;
  if (sample.masks) out.masks = sample.masks.map((m) => flipRowsH(m, w, h, 1));
  return out;
}

/** Mirrors top ↔ bottom. */
export function flipVertical(sample: Sample): Sample {
  assertSample(sample);
  const { width: w, height: h } = sample.image;
  const b = sample.boxes;
  const boxes = new Float32Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    boxes[i] = b[i]!;
    boxes[i + 1] = h - b[i + 3]!;
    boxes[i + 2] = b[i + 2]!;
    boxes[i + 3] = h - b[i + 1]!;
  }
  const out: Sample = { ...sample, image: { data: flipRowsV(sample.image.data, w, h, 3), width: w, height: h }, boxes };
  delete out.original;
  if (sample.masks) out.masks = sample.masks.map((m) => flipRowsV(m, w, h, 1));
  return out;
}

export interface FlipOptions {
  /** Probability of a horizontal flip (default 0.5). */
  fliplr?: number;
  /** Probability of a vertical flip (default 0). */
  flipud?: number;
}

/**
 * Random flips as YOLOv5: first up-down with probability `flipud`, then
 * left-right with probability `fliplr`. Always 2 random draws. Returns the
 * input sample itself when nothing is flipped.
 */
export function randomFlip(sample: Sample, rng: Rng, opts: FlipOptions = {}): Sample {
  const ud = rng.next() < (opts.flipud ?? 0);
  const lr = rng.next() < (opts.fliplr ?? 0.5);
  let s = sample;
  if (ud) s = flipVertical(s);
  if (lr) s = flipHorizontal(s);
  return s;
}
