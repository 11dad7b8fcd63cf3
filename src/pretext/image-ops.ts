/**
 * Pixel operations the pretext tasks make their inputs with, on float32 HWC
 * images with values in [0, 1] (one image of a PretextBatch, or a crop of one).
 * Plain loops: they run on the CPU before the batch enters the network.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { PretextBatch } from './types.js';

/** A float32 HWC image. */
export interface FloatImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** Image `i` of a batch (a copy). */
export function batchImage(batch: PretextBatch, i: number): FloatImage {
  const [b, h, w, c] = batch.shape;
  if (i < 0 || i >= b) throw new Error(`batchImage: image ${i} of a batch of ${b}`);
  const n = h * w * c;
  return { data: batch.images.slice(i * n, (i + 1) * n), width: w, height: h, channels: c };
}

/** The image rotated by k × 90° counter-clockwise (square or not). */
export function rotate90(img: FloatImage, k: number): FloatImage {
  const r = ((k % 4) + 4) % 4;
  if (r === 0) return { ...img, data: img.data.slice() };
  const { width: w, height: h, channels: c } = img;
  const ow = r === 2 ? w : h;
  const oh = r === 2 ? h : w;
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ox: number;
      let oy: number;
      if (r === 1) {
        ox = y;
        oy = w - 1 - x;
      } else if (r === 2) {
        ox = w - 1 - x;
        oy = h - 1 - y;
      } else {
        ox = h - 1 - y;
        oy = x;
      }
      const si = (y * w + x) * c;
      const di = (oy * ow + ox) * c;
      for (let k2 = 0; k2 < c; k2++) out[di + k2] = img.data[si + k2]!;
    }
  }
  return { data: out, width: ow, height: oh, channels: c };
}

/** The window [x0, x0 + w) × [y0, y0 + h) of the image (clamped at its edges), resized bilinearly to outW × outH. */
export function cropResize(img: FloatImage, x0: number, y0: number, w: number, h: number, outW: number, outH: number): FloatImage {
  const c = img.channels;
  const out = new Float32Array(outW * outH * c);
  const sx = w / outW;
  const sy = h / outH;
  for (let oy = 0; oy < outH; oy++) {
    const fy = Math.min(Math.max(y0 + (oy + 0.5) * sy - 0.5, 0), img.height - 1);
    const y1 = Math.floor(fy);
    const y2 = Math.min(y1 + 1, img.height - 1);
    const ty = fy - y1;
    for (let ox = 0; ox < outW; ox++) {
      const fx = Math.min(Math.max(x0 + (ox + 0.5) * sx - 0.5, 0), img.width - 1);
      const x1 = Math.floor(fx);
      const x2 = Math.min(x1 + 1, img.width - 1);
      const tx = fx - x1;
      const a = (y1 * img.width + x1) * c;
      const b = (y1 * img.width + x2) * c;
      const d = (y2 * img.width + x1) * c;
      const e = (y2 * img.width + x2) * c;
      const o = (oy * outW + ox) * c;
      for (let k = 0; k < c; k++) {
        const top = img.data[a + k]! * (1 - tx) + img.data[b + k]! * tx;
        const bottom = img.data[d + k]! * (1 - tx) + img.data[e + k]! * tx;
        out[o + k] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: c };
}

/** Luma (ITU-R BT.601) of an RGB image, replicated into its three channels. */
export function toGrey(img: FloatImage): FloatImage {
  if (img.channels !== 3) throw new Error(`toGrey: ${img.channels} channels (expected 3)`);
  const out = new Float32Array(img.data.length);
  for (let p = 0; p < img.data.length; p += 3) {
    const l = 0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]!;
    out[p] = l;
    out[p + 1] = l;
    out[p + 2] = l;
  }
  return { ...img, data: out };
}

/** The image normalised on its own to mean 0.5 and standard deviation 0.25 per channel (a flat channel stays at 0.5). */
export function normaliseEach(img: FloatImage): FloatImage {
  const c = img.channels;
  const n = img.data.length / c;
  const out = new Float32Array(img.data.length);
  for (let k = 0; k < c; k++) {
    let s = 0;
    let s2 = 0;
    for (let p = k; p < img.data.length; p += c) {
      s += img.data[p]!;
      s2 += img.data[p]! * img.data[p]!;
    }
    const mean = s / n;
    const std = Math.sqrt(Math.max(s2 / n - mean * mean, 0));
    const g = std > 1e-6 ? 0.25 / std : 0;
    for (let p = k; p < img.data.length; p += c) out[p] = 0.5 + (img.data[p]! - mean) * g;
  }
  return { ...img, data: out };
}

/** The image flipped left–right. */
export function flipHorizontal(img: FloatImage): FloatImage {
  const { width: w, height: h, channels: c } = img;
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * c;
      const d = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[d + k] = img.data[s + k]!;
    }
  return { ...img, data: out };
}

/** Independent Gaussian noise of standard deviation `std` added to every value (not clipped). */
export function addNoise(img: FloatImage, std: number, rng: Rng): FloatImage {
  const out = new Float32Array(img.data.length);
  for (let p = 0; p < out.length; p++) out[p] = img.data[p]! + std * rng.normal();
  return { ...img, data: out };
}

/** Stacks equally sized images into an NHWC tensor. */
export function stackImages(images: readonly FloatImage[]): tf.Tensor4D {
  const first = images[0];
  if (!first) throw new Error('stackImages: no images');
  const n = first.data.length;
  const data = new Float32Array(n * images.length);
  images.forEach((im, i) => {
    if (im.width !== first.width || im.height !== first.height || im.channels !== first.channels)
      throw new Error(`stackImages: image ${i} is ${im.width}×${im.height}×${im.channels}, image 0 ${first.width}×${first.height}×${first.channels}`);
    data.set(im.data, i * n);
  });
  return tf.tensor4d(data, [images.length, first.height, first.width, first.channels]);
}

/** The smallest multiple of `stride` that is at least `size` (and at least `stride`). */
export function roundUpTo(size: number, stride: number): number {
  return Math.max(stride, Math.ceil(size / stride) * stride);
}
