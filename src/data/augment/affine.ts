/**
 * Random affine / perspective augmentation (Ultralytics `random_perspective`).
 *
 *   M = T · S · R · P · C      (applied right to left)
 *   C  moves the input image centre to the origin,
 *   P  perspective (x/y terms in the last row, ±perspective),
 *   R  rotation by a ∈ ±degrees (counter-clockwise as displayed, y down) and scale s ∈ 1 ± scale,
 *   S  shear (x and y, ±shear degrees),
 *   T  moves the origin to (0.5 ± translate)·(output width, height).
 *
 * Random draws, in this order (8 always, so the stream does not depend on
 * which terms are zero): perspective x, perspective y, angle, scale, shear x,
 * shear y, translation x, translation y.
 *
 * The image is warped by inverse mapping with bilinear sampling and a grey
 * (114) border; masks nearest with a 0 border. Mapping is done in the
 * continuous pixel frame (pixel i = [i, i+1)): output pixel centre p+0.5 is
 * sampled at M⁻¹(p+0.5) in the input, which keeps pixels and boxes exactly
 * consistent (OpenCV's warpAffine maps integer pixel indices instead, a shift
 * of at most half a pixel).
 *
 * Boxes: the 4 corners are transformed and the resulting quadrilateral is
 * clipped to the output (polygon clipping, so a rotated box cut by the edge
 * gets the box of its visible part — Ultralytics clips the enclosing box
 * instead, which is looser; identical without rotation/shear/perspective);
 * then `boxCandidates` removes boxes that became too small (≤ 2 px), too thin
 * (aspect ratio ≥ 100) or kept ≤ 10 % of their (scaled) area. With rotation
 * the enclosing box of a rotated box is looser than the object itself (as in
 * Ultralytics without segments).
 */
import type { Rng } from '../../util/rng.js';
import type { Sample } from '../types.js';
import { assertSample, PAD_VALUE } from './letterbox-image.js';

/** A 3×3 matrix, row-major. */
export type Mat3 = Float64Array;

export interface AugmentResult {
  sample: Sample;
  /** Boxes removed because they left the image or became too small / distorted. */
  dropped: number;
}

export interface AffineOptions {
  /** Rotation range ± degrees (default 0). */
  degrees?: number;
  /** Translation range ± fraction of the output size (default 0.1). */
  translate?: number;
  /** Scale gain range 1 ± scale (default 0.5). */
  scale?: number;
  /** Shear range ± degrees (default 0). */
  shear?: number;
  /** Perspective range ± (default 0; typical values 0–0.001). */
  perspective?: number;
  /**
   * Border added to each side, Ultralytics order [y, x]: the output is
   * (h + 2·border[0]) high and (w + 2·border[1]) wide. Mosaic uses [−s/2, −s/2]
   * to crop its 2s×2s canvas back to s×s. Default [0, 0].
   */
  border?: readonly [number, number];
  /** Output size (side or [width, height]); overrides the size implied by `border`. */
  outSize?: number | readonly [number, number];
  /** Grey level outside the input (default 114). */
  padValue?: number;
  /** Minimum kept fraction of a box's scaled area (default 0.1). */
  areaThr?: number;
}

export function mat3(a: ArrayLike<number>): Mat3 {
  if (a.length !== 9) throw new Error(`mat3: need 9 numbers; got ${a.length}`);
  return Float64Array.from(a);
}

export function identity3(): Mat3 {
  return mat3([1, 0, 0, 0, 1, 0, 0, 0, 1]);
}

/** a · b */
export function matMul3(a: Mat3, b: Mat3): Mat3 {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) o[i * 3 + j] = a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!;
  }
  return o;
}

export function invert3(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m as unknown as number[] as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-12)) throw new Error('invert3: matrix is singular');
  const k = 1 / det;
  return mat3([
    A * k,
    -(b * i - c * h) * k,
    (b * f - c * e) * k,
    B * k,
    (a * i - c * g) * k,
    -(a * f - c * d) * k,
    C * k,
    -(a * h - b * g) * k,
    (a * e - b * d) * k,
  ]);
}

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

function outputSize(inW: number, inH: number, opts: AffineOptions): [number, number] {
  if (opts.outSize !== undefined) {
    const [w, h] = typeof opts.outSize === 'number' ? [opts.outSize, opts.outSize] : opts.outSize;
    return [w, h];
  }
  const [by, bx] = opts.border ?? [0, 0];
  return [inW + 2 * bx, inH + 2 * by];
}

/**
 * Draws the random matrix M (input → output pixels) of `randomAffine`, and
 * the scale gain `s` used to judge how much of each box survived.
 */
export function randomAffineMatrix(
  rng: Rng,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  opts: AffineOptions = {},
): { M: Mat3; scale: number } {
  const degrees = opts.degrees ?? 0;
  const translate = opts.translate ?? 0.1;
  const scale = opts.scale ?? 0.5;
  const shear = opts.shear ?? 0;
  const perspective = opts.perspective ?? 0;

  const C = mat3([1, 0, -inW / 2, 0, 1, -inH / 2, 0, 0, 1]);
  const px = uniform(rng, -perspective, perspective);
  const py = uniform(rng, -perspective, perspective);
  const P = mat3([1, 0, 0, 0, 1, 0, px, py, 1]);
  const a = (uniform(rng, -degrees, degrees) * Math.PI) / 180;
  const s = uniform(rng, 1 - scale, 1 + scale);
  // cv2.getRotationMatrix2D(center=(0,0), angle=a, scale=s): [[α, β], [−β, α]], α = s·cos a, β = s·sin a.
  const al = s * Math.cos(a);
  const be = s * Math.sin(a);
  const R = mat3([al, be, 0, -be, al, 0, 0, 0, 1]);
  const shx = Math.tan((uniform(rng, -shear, shear) * Math.PI) / 180);
  const shy = Math.tan((uniform(rng, -shear, shear) * Math.PI) / 180);
  const S = mat3([1, shx, 0, shy, 1, 0, 0, 0, 1]);
  const tx = uniform(rng, 0.5 - translate, 0.5 + translate) * outW;
  const ty = uniform(rng, 0.5 - translate, 0.5 + translate) * outH;
  const T = mat3([1, 0, tx, 0, 1, ty, 0, 0, 1]);
  const M = matMul3(T, matMul3(S, matMul3(R, matMul3(P, C))));
  return { M, scale: s };
}

export interface CandidateOptions {
  /** Minimum width and height in pixels (exclusive, default 2). */
  whThr?: number;
  /** Maximum aspect ratio (exclusive, default 100). */
  arThr?: number;
  /** Minimum area after / area before (exclusive, default 0.1). */
  areaThr?: number;
}

/**
 * Ultralytics `box_candidates`: for each box pair (before — already scaled
 * by the augmentation's scale gain — and after), 1 if the box is kept.
 */
export function boxCandidates(before: ArrayLike<number>, after: ArrayLike<number>, opts: CandidateOptions = {}): Uint8Array {
  const whThr = opts.whThr ?? 2;
  const arThr = opts.arThr ?? 100;
  const areaThr = opts.areaThr ?? 0.1;
  const eps = 1e-16;
  const n = Math.floor(after.length / 4);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const w1 = before[i * 4 + 2]! - before[i * 4]!;
    const h1 = before[i * 4 + 3]! - before[i * 4 + 1]!;
    const w2 = after[i * 4 + 2]! - after[i * 4]!;
    const h2 = after[i * 4 + 3]! - after[i * 4 + 1]!;
    const ar = Math.max(w2 / (h2 + eps), h2 / (w2 + eps));
    keep[i] = w2 > whThr && h2 > whThr && (w2 * h2) / (w1 * h1 + eps) > areaThr && ar < arThr ? 1 : 0;
  }
  return keep;
}

/**
 * Keeps the instances (boxes, classes, masks, identities, attributes) whose
 * `keep` flag is set; `boxes` replaces the sample's. Image-level `labels` are
 * left as they were (the loader recomputes them from the kept instances).
 */
export function selectInstances(sample: Sample, boxes: Float32Array, keep: Uint8Array): Sample {
  const n = keep.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += keep[i]!;
  const nb = new Float32Array(m * 4);
  const nc = new Int32Array(m);
  const nid = sample.identity ? new Int32Array(m) : undefined;
  const nat = sample.attrs ? new Int32Array(m) : undefined;
  const nm: Uint8Array[] | undefined = sample.masks ? [] : undefined;
  for (let i = 0, j = 0; i < n; i++) {
    if (!keep[i]) continue;
    nb.set(boxes.subarray(i * 4, i * 4 + 4), j * 4);
    nc[j] = sample.cls[i]!;
    if (nid) nid[j] = sample.identity![i]!;
    if (nat) nat[j] = sample.attrs![i]!;
    if (nm) nm.push(sample.masks![i]!);
    j++;
  }
  const out: Sample = { ...sample, boxes: nb, cls: nc };
  if (nid) out.identity = nid;
  if (nat) out.attrs = nat;
  if (nm) out.masks = nm;
  return out;
}

/** Warps an RGB image (bilinear, constant border) with the inverse matrix `inv` (output → input pixels). */
function warpRgb(src: Uint8Array, w: number, h: number, inv: Mat3, outW: number, outH: number, pad: number): Uint8Array {
  const out = new Uint8Array(outW * outH * 3);
  const [a, b, c, d, e, f, g, hh, ii] = inv as unknown as number[] as [number, number, number, number, number, number, number, number, number];
  const affine = g === 0 && hh === 0;
  const stride = w * 3;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const Y = y + 0.5;
    for (let x = 0; x < outW; x++, o += 3) {
      const X = x + 0.5;
      let u = a * X + b * Y + c;
      let v = d * X + e * Y + f;
      if (!affine) {
        const wq = g * X + hh * Y + ii;
        u /= wq;
        v /= wq;
      }
      u -= 0.5;
      v -= 0.5;
      if (!(u > -1 && v > -1 && u < w && v < h)) {
        out[o] = pad;
        out[o + 1] = pad;
        out[o + 2] = pad;
        continue;
      }
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      const fx = u - x0;
      const fy = v - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
        const p = y0 * stride + x0 * 3;
        const q = p + stride;
        out[o] = (src[p]! * w00 + src[p + 3]! * w01 + src[q]! * w10 + src[q + 3]! * w11 + 0.5) | 0;
        out[o + 1] = (src[p + 1]! * w00 + src[p + 4]! * w01 + src[q + 1]! * w10 + src[q + 4]! * w11 + 0.5) | 0;
        out[o + 2] = (src[p + 2]! * w00 + src[p + 5]! * w01 + src[q + 2]! * w10 + src[q + 5]! * w11 + 0.5) | 0;
      } else {
        const in00 = x0 >= 0 && y0 >= 0;
        const in01 = x0 + 1 < w && y0 >= 0;
        const in10 = x0 >= 0 && y0 + 1 < h;
        const in11 = x0 + 1 < w && y0 + 1 < h;
        const p = y0 * stride + x0 * 3;
        const q = p + stride;
        for (let k = 0; k < 3; k++) {
          const v00 = in00 ? src[p + k]! : pad;
          const v01 = in01 ? src[p + 3 + k]! : pad;
          const v10 = in10 ? src[q + k]! : pad;
          const v11 = in11 ? src[q + 3 + k]! : pad;
          out[o + k] = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + 0.5) | 0;
        }
      }
    }
  }
  return out;
}

/** Warps a one-channel mask (nearest, 0 outside). */
function warpMask(src: Uint8Array, w: number, h: number, inv: Mat3, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const [a, b, c, d, e, f, g, hh, ii] = inv as unknown as number[] as [number, number, number, number, number, number, number, number, number];
  for (let y = 0, o = 0; y < outH; y++) {
    const Y = y + 0.5;
    for (let x = 0; x < outW; x++, o++) {
      const X = x + 0.5;
      const wq = g * X + hh * Y + ii;
      const u = Math.floor((a * X + b * Y + c) / wq);
      const v = Math.floor((d * X + e * Y + f) / wq);
      if (u >= 0 && v >= 0 && u < w && v < h) out[o] = src[v * w + u]!;
    }
  }
  return out;
}

/**
 * Bounding box of a convex polygon (flat x, y pairs) clipped to [0, W] × [0, H]
 * (Sutherland–Hodgman); [0, 0, 0, 0]-like degenerate box when nothing is inside.
 * Tighter than clipping the enclosing box when a rotated box is cut by the edge.
 */
export function clippedPolygonBox(poly: ArrayLike<number>, W: number, H: number): [number, number, number, number] {
  let pts: number[] = Array.from(poly);
  // Signed distances to the four half-planes x ≥ 0, x ≤ W, y ≥ 0, y ≤ H (inside when ≥ 0).
  const planes: ((x: number, y: number) => number)[] = [(x) => x, (x) => W - x, (_x, y) => y, (_x, y) => H - y];
  for (const dist of planes) {
    if (pts.length === 0) break;
    const out: number[] = [];
    const m = pts.length / 2;
    for (let k = 0; k < m; k++) {
      const ax = pts[k * 2]!,
        ay = pts[k * 2 + 1]!;
      const bx = pts[((k + 1) % m) * 2]!,
        by = pts[((k + 1) % m) * 2 + 1]!;
      const da = dist(ax, ay),
        db = dist(bx, by);
      if (da >= 0) out.push(ax, ay);
      if (da >= 0 !== db >= 0) {
        const t = da / (da - db);
        out.push(ax + t * (bx - ax), ay + t * (by - ay));
      }
    }
    pts = out;
  }
  if (pts.length === 0) {
    // Entirely outside: collapse onto the nearest edge point (zero area → dropped).
    const cx = Math.min(W, Math.max(0, poly[0]!));
    const cy = Math.min(H, Math.max(0, poly[1]!));
    return [cx, cy, cx, cy];
  }
  let xmin = Infinity,
    ymin = Infinity,
    xmax = -Infinity,
    ymax = -Infinity;
  for (let k = 0; k < pts.length; k += 2) {
    const x = Math.min(W, Math.max(0, pts[k]!));
    const y = Math.min(H, Math.max(0, pts[k + 1]!));
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  return [xmin, ymin, xmax, ymax];
}

export interface WarpOptions extends CandidateOptions {
  /** Scale gain of M, for the area test of `boxCandidates` (default 1). */
  scale?: number;
  /** Grey level outside the input (default 114). */
  padValue?: number;
}

/**
 * Warps a sample with the 3×3 matrix M (input pixel frame → output frame,
 * perspective when the last row is not [0, 0, 1]) into an outW×outH image;
 * boxes become the enclosing boxes of their transformed outlines clipped to
 * the output, and are filtered by `boxCandidates`. The input is not modified.
 */
export function warpSample(sample: Sample, M: Mat3, outW: number, outH: number, opts: WarpOptions = {}): AugmentResult {
  assertSample(sample);
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0)) {
    throw new Error(`warpSample: output size must be positive integers; got ${outW}×${outH}`);
  }
  const { width: w, height: h, data } = sample.image;
  const isIdentity = outW === w && outH === h && M.every((v, i) => v === (i % 4 === 0 ? 1 : 0));
  const inv = isIdentity ? M : invert3(M);
  const image = isIdentity
    ? { data: data.slice(), width: w, height: h }
    : { data: warpRgb(data, w, h, inv, outW, outH, opts.padValue ?? PAD_VALUE), width: outW, height: outH };

  const n = sample.cls.length;
  const boxes = new Float32Array(n * 4);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = M as unknown as number[] as [number, number, number, number, number, number, number, number, number];
  const quad = new Float64Array(8);
  for (let i = 0; i < n; i++) {
    const x1 = sample.boxes[i * 4]!;
    const y1 = sample.boxes[i * 4 + 1]!;
    const x2 = sample.boxes[i * 4 + 2]!;
    const y2 = sample.boxes[i * 4 + 3]!;
    // Corners in order around the box (a convex quadrilateral after any M).
    const corners = [x1, y1, x2, y1, x2, y2, x1, y2];
    for (let k = 0; k < 4; k++) {
      const px = corners[k * 2]!;
      const py = corners[k * 2 + 1]!;
      const wq = m6 * px + m7 * py + m8;
      quad[k * 2] = (m0 * px + m1 * py + m2) / wq;
      quad[k * 2 + 1] = (m3 * px + m4 * py + m5) / wq;
    }
    const b = clippedPolygonBox(quad, outW, outH);
    boxes.set(b, i * 4);
  }
  const s = opts.scale ?? 1;
  const before = new Float32Array(n * 4);
  for (let i = 0; i < n * 4; i++) before[i] = sample.boxes[i]! * s;
  const keep = boxCandidates(before, boxes, opts);

  const warped: Sample = { ...sample, image };
  delete warped.original;
  if (sample.masks) {
    warped.masks = sample.masks.map((m, i) => (keep[i] ? (isIdentity ? m.slice() : warpMask(m, w, h, inv, outW, outH)) : m));
  }
  const out = selectInstances(warped, boxes, keep);
  return { sample: out, dropped: n - out.cls.length };
}

/**
 * Ultralytics `random_perspective` on a sample: random rotation, scale,
 * shear, perspective and translation (see the file comment), output size from
 * `outSize` or `border`. Returns the warped sample and the number of boxes
 * dropped by `boxCandidates`.
 */
export function randomAffine(sample: Sample, rng: Rng, opts: AffineOptions = {}): AugmentResult {
  const { width: w, height: h } = sample.image;
  const [outW, outH] = outputSize(w, h, opts);
  const { M, scale } = randomAffineMatrix(rng, w, h, outW, outH, opts);
  const warpOpts: WarpOptions = { scale };
  if (opts.padValue !== undefined) warpOpts.padValue = opts.padValue;
  if (opts.areaThr !== undefined) warpOpts.areaThr = opts.areaThr;
  return warpSample(sample, M, outW, outH, warpOpts);
}
