/**
 * MixUp (YOLOv5 `mixup`): r ~ Beta(alpha, alpha) (alpha = 32 → r ≈ 0.5 ± 0.06),
 * image = r·a + (1 − r)·b (rounded), labels of both images concatenated —
 * both objects are fully labelled, the blend only changes their contrast.
 *
 * Beta is drawn exactly as X / (X + Y) with X, Y ~ Gamma(alpha) from
 * Marsaglia & Tsang's method (normal and uniform draws of the seeded Rng).
 */
import type { Rng } from '../../util/rng.js';
import type { Sample } from '../types.js';
import { assertSample } from './letterbox-image.js';

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 via the U^(1/shape) boost). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new Error(`sampleGamma: shape must be positive; got ${shape}`);
  if (shape < 1) {
    const u = Math.max(rng.next(), 1e-300);
    return sampleGamma(rng, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}

export interface MixupOptions {
  /** Beta distribution parameter (both shapes, default 32). */
  alpha?: number;
}

/**
 * Blends two samples of the same size. Masks are concatenated (both samples
 * must have them or neither); identities and attributes are concatenated (−1
 * for a sample without); image-level labels are the element-wise maximum
 * (union; the loader recomputes them from the instances). Returns
 * the mixed sample (file of `a`) and the ratio r used.
 */
export function mixup(a: Sample, b: Sample, rng: Rng, opts: MixupOptions = {}): { sample: Sample; r: number } {
  assertSample(a);
  assertSample(b);
  if (a.image.width !== b.image.width || a.image.height !== b.image.height) {
    throw new Error(`mixup: images differ in size (${a.image.width}×${a.image.height} vs ${b.image.width}×${b.image.height})`);
  }
  if ((a.masks === undefined) !== (b.masks === undefined)) throw new Error('mixup: either both or neither sample must have masks');
  const alpha = opts.alpha ?? 32;
  const r = sampleBeta(rng, alpha, alpha);
  const da = a.image.data;
  const db = b.image.data;
  const data = new Uint8Array(da.length);
  const q = 1 - r;
  for (let i = 0; i < da.length; i++) data[i] = (da[i]! * r + db[i]! * q + 0.5) | 0;

  const boxes = new Float32Array(a.boxes.length + b.boxes.length);
  boxes.set(a.boxes, 0);
  boxes.set(b.boxes, a.boxes.length);
  const cls = new Int32Array(a.cls.length + b.cls.length);
  cls.set(a.cls, 0);
  cls.set(b.cls, a.cls.length);
  const sample: Sample = { ...a, image: { data, width: a.image.width, height: a.image.height }, boxes, cls };
  delete sample.original;
  if (a.masks && b.masks) sample.masks = [...a.masks, ...b.masks];
  if (a.identity || b.identity) {
    const id = new Int32Array(cls.length).fill(-1);
    if (a.identity) id.set(a.identity, 0);
    if (b.identity) id.set(b.identity, a.cls.length);
    sample.identity = id;
  }
  if (a.attrs || b.attrs) {
    const at = new Int32Array(cls.length).fill(-1);
    if (a.attrs) at.set(a.attrs, 0);
    if (b.attrs) at.set(b.attrs, a.cls.length);
    sample.attrs = at;
  }
  if (a.labels || b.labels) {
    const la = a.labels ?? new Float32Array(b.labels!.length);
    const lb = b.labels ?? new Float32Array(la.length);
    const labels = new Float32Array(Math.max(la.length, lb.length));
    for (let j = 0; j < labels.length; j++) labels[j] = Math.max(la[j] ?? 0, lb[j] ?? 0);
    sample.labels = labels;
  }
  return { sample, r };
}
