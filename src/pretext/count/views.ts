/**
 * The counting task's inputs (Noroozi, Pirsiavash & Favaro, ICCV 2017): for an
 * S×S image x, D(x) is x downsampled 2× and T1…T4 are its four quadrant tiles
 * (top-left, top-right, bottom-left, bottom-right), each of side S/2, so that D(x)
 * and every tile show the same scale of detail. The network needs sides that are
 * multiples of its largest stride: when S/2 is one (S = 64, 320, 640 …) the views
 * are exact (D the 2×2 averages, the tiles copied row by row, in plain loops:
 * slicing the batch tensor is many times slower on the wasm backend);
 * otherwise (S = 96, 416 …) each of them is resized bilinearly to
 * roundUpTo(S/2, stride) on the CPU (cropResize; each quadrant is cut out first,
 * so its resize never reads pixels of the neighbouring tile). At exactly 2× the
 * bilinear resize is the 2×2 average, so both ways give the same views.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchImage, cropResize, type FloatImage, roundUpTo, stackImages } from '../image-ops.js';
import type { PretextBatch } from '../types.js';

/** The views of a batch of B images: D(x) [B, t, t, C] and the tiles [4B, t, t, C] (image-major: TL, TR, BL, BR of image 0, then image 1 …). */
export interface CountViews {
  down: tf.Tensor4D;
  tiles: tf.Tensor4D;
}

/** The side of the network's input for the views of an image of side `size`: S/2 rounded up to a multiple of `stride`. */
export function countSide(size: number, stride: number): number {
  return roundUpTo(size / 2, stride);
}

/** The window [x0, x0 + w) × [y0, y0 + h) of an image, copied. */
function cut(img: FloatImage, x0: number, y0: number, w: number, h: number): FloatImage {
  const c = img.channels;
  const out = new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x0 + w) * c), y * w * c);
  return { data: out, width: w, height: h, channels: c };
}

/** D(x) and the quadrants of one image, each resized bilinearly to side × side (any image size). */
export function countViewsOf(img: FloatImage, side: number): { down: FloatImage; tiles: FloatImage[] } {
  const { width: w, height: h } = img;
  const hw = Math.floor(w / 2);
  const hh = Math.floor(h / 2);
  const boxes: Array<[number, number, number, number]> = [
    [0, 0, hw, hh],
    [hw, 0, w - hw, hh],
    [0, hh, hw, h - hh],
    [hw, hh, w - hw, h - hh],
  ];
  return {
    down: cropResize(img, 0, 0, w, h, side, side),
    tiles: boxes.map(([x0, y0, bw, bh]) => cropResize(cut(img, x0, y0, bw, bh), 0, 0, bw, bh, side, side)),
  };
}

/** The exact views when S = 2·side: the 2×2 averages and the quadrants copied row by row (plain loops, cheaper than tensor slicing). */
function exactViews(batch: PretextBatch, side: number): { down: Float32Array; tiles: Float32Array } {
  const [b, s, , c] = batch.shape;
  const src = batch.images;
  const row = side * c;
  const down = new Float32Array(b * side * row);
  const tiles = new Float32Array(4 * b * side * row);
  for (let i = 0; i < b; i++) {
    const img = i * s * s * c;
    for (let y = 0; y < s; y++) {
      const from = img + y * s * c;
      const q = (y < side ? 0 : 2) + 4 * i;
      const ty = y % side;
      tiles.set(src.subarray(from, from + row), (q * side + ty) * row);
      tiles.set(src.subarray(from + row, from + 2 * row), ((q + 1) * side + ty) * row);
    }
    for (let y = 0; y < side; y++) {
      const a = img + 2 * y * s * c;
      const o = (i * side + y) * row;
      for (let x = 0; x < side; x++)
        for (let k = 0; k < c; k++) {
          const p = a + 2 * x * c + k;
          down[o + x * c + k] = (src[p]! + src[p + c]! + src[p + s * c]! + src[p + s * c + c]!) / 4;
        }
    }
  }
  return { down, tiles };
}

/** The views of every image of the batch, for an encoder of largest stride `stride` (exact copies and averages when S/2 is a multiple of it). */
export function countViews(batch: PretextBatch, stride: number, forceResize = false): CountViews {
  const [b, h, w, c] = batch.shape;
  if (h < 2 || w < 2) throw new Error(`count: a ${w}×${h} image has no quadrants`);
  const side = countSide(Math.max(h, w), stride);
  if (!forceResize && h === w && h === 2 * side) {
    const v = exactViews(batch, side);
    return { down: tf.tensor4d(v.down, [b, side, side, c]), tiles: tf.tensor4d(v.tiles, [4 * b, side, side, c]) };
  }
  const views = Array.from({ length: b }, (_, i) => countViewsOf(batchImage(batch, i), side));
  return { down: stackImages(views.map((v) => v.down)), tiles: stackImages(views.flatMap((v) => v.tiles)) };
}
