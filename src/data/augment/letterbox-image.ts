/**
 * Resizing and letterboxing of samples (image + boxes + masks together;
 * per-instance identities / attributes and image labels are carried unchanged).
 *
 * Pixel geometry: a pixel i covers the continuous interval [i, i + 1) and
 * boxes live in that continuous frame. Resizing maps pixel centres
 * (half-pixel convention, as OpenCV's INTER_LINEAR): dst x+0.5 ↔ src (x+0.5)·srcW/dstW.
 * Shrinking by 2× or more first averages integer k×k blocks (an approximation
 * of OpenCV's INTER_AREA) before the bilinear step, so large photos do not alias.
 * Masks are resized nearest-neighbour (pixel centre → source pixel containing it).
 *
 * The geometry itself (scale, padding) comes from ../letterbox.ts,
 * which evaluation also uses to map predictions back.
 */
import { type LetterboxParams, letterboxBoxes, letterboxParams } from '../letterbox.js';
import type { RgbImage, Sample } from '../types.js';

/** Grey used by YOLO letterbox/mosaic padding. */
export const PAD_VALUE = 114;

/** Column (or row) sampling table of a 1-D linear resize: source indices and weight of the second one. */
interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** Linear taps for `n` outputs over a source of `srcN` samples, `ratio` source samples per output sample. */
function linearTaps(n: number, srcN: number, ratio: number): Taps {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const w1 = new Float32Array(n);
  for (let x = 0; x < n; x++) {
    let f = (x + 0.5) * ratio - 0.5;
    if (f < 0) f = 0;
    let a = Math.floor(f);
    let w = f - a;
    if (a >= srcN - 1) {
      a = srcN - 1;
      w = 0;
    }
    i0[x] = a;
    i1[x] = Math.min(a + 1, srcN - 1);
    w1[x] = w;
  }
  return { i0, i1, w1 };
}

/** Averages kx×ky blocks (partial blocks at the right/bottom edges average what they have). */
function boxDownsample(src: Uint8Array, w: number, h: number, kx: number, ky: number): { data: Uint8Array; width: number; height: number } {
  const ow = Math.ceil(w / kx);
  const oh = Math.ceil(h / ky);
  const out = new Uint8Array(ow * oh * 3);
  const acc = new Float64Array(ow * 3);
  const cnt = new Float64Array(ow);
  for (let oy = 0; oy < oh; oy++) {
    acc.fill(0);
    cnt.fill(0);
    const y1 = Math.min(h, (oy + 1) * ky);
    for (let y = oy * ky; y < y1; y++) {
      let s = y * w * 3;
      for (let x = 0; x < w; x++, s += 3) {
        const ox = (x / kx) | 0;
        const o = ox * 3;
        acc[o] += src[s]!;
        acc[o + 1] += src[s + 1]!;
        acc[o + 2] += src[s + 2]!;
        cnt[ox]! += 1;
      }
    }
    let d = oy * ow * 3;
    for (let ox = 0; ox < ow; ox++, d += 3) {
      const c = cnt[ox]!;
      out[d] = (acc[ox * 3]! / c + 0.5) | 0;
      out[d + 1] = (acc[ox * 3 + 1]! / c + 0.5) | 0;
      out[d + 2] = (acc[ox * 3 + 2]! / c + 0.5) | 0;
    }
  }
  return { data: out, width: ow, height: oh };
}

/**
 * Resizes `src` to newW×newH (bilinear, block-averaged first when shrinking
 * ≥ 2×) and writes it into `dst` (an image `dstW` pixels wide, RGB) with its
 * top-left corner at (offX, offY). The target rectangle must lie inside dst.
 */
export function resizeRgbInto(src: RgbImage, dst: Uint8Array, dstW: number, offX: number, offY: number, newW: number, newH: number): void {
  if (!(newW > 0 && newH > 0)) throw new Error(`resize: target size must be positive; got ${newW}×${newH}`);
  // Source pixels per output pixel, in the original source frame.
  const rx = src.width / newW;
  const ry = src.height / newH;
  const kx = rx >= 2 ? Math.floor(rx) : 1;
  const ky = ry >= 2 ? Math.floor(ry) : 1;
  const pre = kx > 1 || ky > 1 ? boxDownsample(src.data, src.width, src.height, kx, ky) : src;
  const data = pre.data;
  const w = pre.width;
  const h = pre.height;
  const tx = linearTaps(newW, w, rx / kx);
  const ty = linearTaps(newH, h, ry / ky);
  // Horizontally resized source rows, cached (consecutive outputs share rows).
  const rows = [new Float32Array(newW * 3), new Float32Array(newW * 3)] as const;
  const rowIdx = [-1, -1];
  const xi0 = tx.i0.map((v) => v * 3);
  const xi1 = tx.i1.map((v) => v * 3);
  const xw1 = tx.w1;
  const hresize = (sy: number, out: Float32Array): void => {
    const base = sy * w * 3;
    for (let x = 0, o = 0; x < newW; x++, o += 3) {
      const a = base + xi0[x]!;
      const b = base + xi1[x]!;
      const f = xw1[x]!;
      const g = 1 - f;
      out[o] = data[a]! * g + data[b]! * f;
      out[o + 1] = data[a + 1]! * g + data[b + 1]! * f;
      out[o + 2] = data[a + 2]! * g + data[b + 2]! * f;
    }
  };
  /** Row `sy` resized horizontally, from the cache or computed into a slot other than `keep`'s. */
  const getRow = (sy: number, keep: Float32Array | null): Float32Array => {
    if (rowIdx[0] === sy) return rows[0];
    if (rowIdx[1] === sy) return rows[1];
    const k = keep === rows[0] ? 1 : keep === rows[1] ? 0 : rowIdx[0]! <= rowIdx[1]! ? 0 : 1;
    hresize(sy, rows[k]);
    rowIdx[k] = sy;
    return rows[k];
  };
  for (let y = 0; y < newH; y++) {
    const y0 = ty.i0[y]!;
    const y1 = ty.i1[y]!;
    const fy = ty.w1[y]!;
    const r0 = getRow(y0, null);
    const r1 = fy > 0 && y1 !== y0 ? getRow(y1, r0) : r0;
    const gy = 1 - fy;
    const d = ((offY + y) * dstW + offX) * 3;
    const n = newW * 3;
    if (r1 === r0) {
      for (let i = 0; i < n; i++) dst[d + i] = (r0[i]! + 0.5) | 0;
    } else {
      for (let i = 0; i < n; i++) dst[d + i] = (r0[i]! * gy + r1[i]! * fy + 0.5) | 0;
    }
  }
}

/** Bilinear resize of an RGB image (see resizeRgbInto). */
export function resizeRgb(src: RgbImage, newW: number, newH: number): RgbImage {
  if (newW === src.width && newH === src.height) return { data: src.data.slice(), width: newW, height: newH };
  const data = new Uint8Array(newW * newH * 3);
  resizeRgbInto(src, data, newW, 0, 0, newW, newH);
  return { data, width: newW, height: newH };
}

/**
 * Nearest-neighbour resize of a one-channel mask (srcW×srcH) to newW×newH,
 * written into `dst` (dstW wide) at (offX, offY).
 */
export function resizeMaskInto(
  src: Uint8Array,
  srcW: number,
  srcH: number,
  dst: Uint8Array,
  dstW: number,
  offX: number,
  offY: number,
  newW: number,
  newH: number,
): void {
  const xs = new Int32Array(newW);
  for (let x = 0; x < newW; x++) xs[x] = Math.min(srcW - 1, Math.floor(((x + 0.5) * srcW) / newW));
  for (let y = 0; y < newH; y++) {
    const sy = Math.min(srcH - 1, Math.floor(((y + 0.5) * srcH) / newH));
    const s = sy * srcW;
    const d = (offY + y) * dstW + offX;
    for (let x = 0; x < newW; x++) dst[d + x] = src[s + xs[x]!]!;
  }
}

export interface LetterboxOptions {
  /** Stride the padded size is a multiple of when `auto` (default 32). */
  stride?: number;
  /** Pad only up to the next multiple of `stride` (minimum rectangle) instead of the full size (default false). */
  auto?: boolean;
  /** Grey level of the padding (default 114). */
  padValue?: number;
  /** Allow enlarging small images (default true). */
  scaleUp?: boolean;
}

/** Letterboxes an image: resize keeping the aspect ratio, pad with `padValue`. */
export function letterboxImage(
  img: RgbImage,
  size: number | readonly [number, number],
  opts: LetterboxOptions = {},
): { image: RgbImage; params: LetterboxParams } {
  const params = letterboxParams(img.width, img.height, size, opts.stride ?? 32, opts.auto ?? false, opts.scaleUp ?? true);
  const { dstW, dstH, newW, newH, padX, padY } = params;
  const data = new Uint8Array(dstW * dstH * 3);
  data.fill(opts.padValue ?? PAD_VALUE);
  resizeRgbInto(img, data, dstW, padX, padY, newW, newH);
  return { image: { data, width: dstW, height: dstH }, params };
}

function checkSample(sample: Sample): void {
  const { width, height, data } = sample.image;
  if (data.length !== width * height * 3) {
    throw new Error(`${sample.file}: RGB image data has ${data.length} bytes; expected ${width}×${height}×3`);
  }
  const n = sample.cls.length;
  if (sample.boxes.length !== n * 4) throw new Error(`${sample.file}: ${sample.boxes.length / 4} boxes but ${n} classes`);
  if (sample.masks && sample.masks.length !== n) throw new Error(`${sample.file}: ${sample.masks.length} masks but ${n} boxes`);
  if (sample.identity && sample.identity.length !== n) throw new Error(`${sample.file}: ${sample.identity.length} identities but ${n} boxes`);
  if (sample.attrs && sample.attrs.length !== n) throw new Error(`${sample.file}: ${sample.attrs.length} attributes but ${n} boxes`);
  if (sample.masks) {
    for (const m of sample.masks) {
      if (m.length !== width * height) throw new Error(`${sample.file}: mask has ${m.length} pixels; expected ${width}×${height}`);
    }
  }
}

/** @internal Validates a sample's array sizes (shared by the augmentations). */
export const assertSample = checkSample;

/**
 * Letterboxes a sample to `size` (square side or [width, height]): the image
 * is resized bilinearly keeping its aspect ratio and padded with grey 114;
 * boxes go through `letterboxBoxes`; masks are resized nearest and padded
 * with 0. `original` records the mapping back to the source image (composed
 * with any mapping the sample already had). The input is not modified.
 */
export function letterboxSample(sample: Sample, size: number | readonly [number, number], opts: LetterboxOptions = {}): Sample {
  checkSample(sample);
  const { image, params } = letterboxImage(sample.image, size, opts);
  const { dstW, dstH, newW, newH, padX, padY, scale } = params;
  const src = sample.image;
  const masks = sample.masks?.map((m) => {
    const out = new Uint8Array(dstW * dstH);
    resizeMaskInto(m, src.width, src.height, out, dstW, padX, padY, newW, newH);
    return out;
  });
  const prev = sample.original;
  const original = prev
    ? { width: prev.width, height: prev.height, scale: prev.scale * scale, padX: prev.padX * scale + padX, padY: prev.padY * scale + padY }
    : { width: src.width, height: src.height, scale, padX, padY };
  const out: Sample = {
    ...sample,
    image,
    boxes: letterboxBoxes(sample.boxes, params),
    cls: sample.cls.slice(),
    original,
  };
  if (masks) out.masks = masks;
  return out;
}

/**
 * Resizes a sample so its long side is `size` (YOLOv5 `load_image`:
 * ceil(w·r) × ceil(h·r), r = size / max(w, h)); boxes are scaled per axis by
 * the actual pixel ratios, masks nearest. Returns the sample itself (not a
 * copy) when it already has that size. `original` is dropped: the result
 * feeds training-only augmentations (mosaic).
 */
export function resizeLongSide(sample: Sample, size: number): Sample {
  checkSample(sample);
  const { width: w0, height: h0 } = sample.image;
  const r = size / Math.max(w0, h0);
  const w = Math.max(1, Math.ceil(w0 * r - 1e-9));
  const h = Math.max(1, Math.ceil(h0 * r - 1e-9));
  if (w === w0 && h === h0) return sample;
  const sx = w / w0;
  const sy = h / h0;
  const boxes = new Float32Array(sample.boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = sample.boxes[i]! * sx;
    boxes[i + 1] = sample.boxes[i + 1]! * sy;
    boxes[i + 2] = sample.boxes[i + 2]! * sx;
    boxes[i + 3] = sample.boxes[i + 3]! * sy;
  }
  const out: Sample = { ...sample, image: resizeRgb(sample.image, w, h), boxes, cls: sample.cls.slice() };
  delete out.original;
  if (sample.masks) {
    out.masks = sample.masks.map((m) => {
      const o = new Uint8Array(w * h);
      resizeMaskInto(m, w0, h0, o, w, 0, 0, w, h);
      return o;
    });
  }
  return out;
}
