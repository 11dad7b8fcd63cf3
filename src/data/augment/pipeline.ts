/**
 * Training and evaluation transforms (YOLOv5 `LoadImagesAndLabels.__getitem__`).
 *
 * Training, for sample `index`:
 *   1. with probability `mosaic`: mosaic of `index` and 3 random others
 *      (shuffled into the four quadrants), then `randomAffine` with border
 *      [−s/2, −s/2] (crops the 2s×2s canvas back to s×s);
 *      otherwise: letterbox to s×s, then `randomAffine` without border;
 *   2. only after a mosaic, with probability `mixup`: a second mosaic (built
 *      the same way from a random index) blended in with `mixup`;
 *   3. HSV jitter; 4. flips (up-down, then left-right).
 *
 * Random draws happen in a fixed order from the one `Rng`, so a given seed
 * reproduces the same sample (getSample must be deterministic too).
 */
import type { Rng } from '../../util/rng.js';
import type { Sample } from '../types.js';
import { type AugmentResult, randomAffine } from './affine.js';
import { hsvJitter } from './color.js';
import { randomFlip } from './flip.js';
import { letterboxSample } from './letterbox-image.js';
import { mixup } from './mixup.js';
import { mosaic4 } from './mosaic.js';

/** Augmentation hyper-parameters (names and defaults as Ultralytics' hyp.scratch-low.yaml). */
export interface AugmentHyp {
  /** HSV hue gain range (fraction). Default 0.015. */
  hsv_h: number;
  /** HSV saturation gain range. Default 0.7. */
  hsv_s: number;
  /** HSV value gain range. Default 0.4. */
  hsv_v: number;
  /** Rotation ± degrees. Default 0. */
  degrees: number;
  /** Translation ± fraction of the image size. Default 0.1. */
  translate: number;
  /** Scale gain range 1 ± scale. Default 0.5. */
  scale: number;
  /** Shear ± degrees. Default 0. */
  shear: number;
  /** Perspective ± (0–0.001). Default 0. */
  perspective: number;
  /** Up-down flip probability. Default 0. */
  flipud: number;
  /** Left-right flip probability. Default 0.5. */
  fliplr: number;
  /** Mosaic probability. Default 1. */
  mosaic: number;
  /** MixUp probability (only applied to mosaics). Default 0. */
  mixup: number;
}

export const DEFAULT_HYP: Readonly<AugmentHyp> = Object.freeze({
  hsv_h: 0.015,
  hsv_s: 0.7,
  hsv_v: 0.4,
  degrees: 0,
  translate: 0.1,
  scale: 0.5,
  shear: 0,
  perspective: 0,
  flipud: 0,
  fliplr: 0.5,
  mosaic: 1,
  mixup: 0,
});

/** Defaults filled in; unknown keys rejected, values checked. */
export function resolveHyp(hyp: Partial<AugmentHyp> = {}): AugmentHyp {
  const out: AugmentHyp = { ...DEFAULT_HYP };
  for (const [k, v] of Object.entries(hyp)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_HYP)) throw new Error(`unknown augmentation hyper-parameter '${k}' (known: ${Object.keys(DEFAULT_HYP).join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new Error(`augmentation hyper-parameter ${k} must be a finite number ≥ 0; got ${String(v)}`);
    if (['flipud', 'fliplr', 'mosaic', 'mixup'].includes(k) && v > 1) throw new Error(`augmentation probability ${k} must be in [0, 1]; got ${v}`);
    (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

export type GetSample = (index: number) => Promise<Sample> | Sample;

export interface TrainTransformOptions extends Partial<AugmentHyp> {
  /** Training image size (square side, a multiple of the model stride). */
  imgsz: number;
  /** Number of samples `getSample` serves (indices 0 … count−1), for mosaic / mixup partners. */
  count: number;
}

/** Mosaic (or letterbox) + random affine for one index: YOLOv5's load_mosaic / non-mosaic branch. */
async function mosaicOrLetterbox(
  getSample: GetSample,
  index: number,
  rng: Rng,
  hyp: AugmentHyp,
  imgsz: number,
  count: number,
  useMosaic: boolean,
): Promise<AugmentResult> {
  const affine = {
    degrees: hyp.degrees,
    translate: hyp.translate,
    scale: hyp.scale,
    shear: hyp.shear,
    perspective: hyp.perspective,
  };
  if (useMosaic) {
    const indices = [index];
    for (let k = 0; k < 3; k++) indices.push(Math.floor(rng.next() * count));
    // Fisher–Yates shuffle (random.shuffle).
    for (let i = indices.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [indices[i], indices[j]] = [indices[j]!, indices[i]!];
    }
    const samples = await Promise.all(indices.map((i) => getSample(i)));
    const m = mosaic4(samples, rng, imgsz);
    const half = -Math.floor(imgsz / 2);
    const a = randomAffine(m.sample, rng, { ...affine, border: [half, half], outSize: imgsz });
    return { sample: a.sample, dropped: m.dropped + a.dropped };
  }
  const lb = letterboxSample(await getSample(index), imgsz);
  return randomAffine(lb, rng, affine);
}

/**
 * The full training augmentation for sample `index` (see the file comment).
 * `dropped` counts boxes removed by the geometric steps (of the mixed-in
 * mosaic too).
 */
export async function trainTransform(getSample: GetSample, index: number, rng: Rng, opts: TrainTransformOptions): Promise<AugmentResult> {
  const { imgsz, count, ...rest } = opts;
  if (!(Number.isInteger(imgsz) && imgsz > 0)) throw new Error(`trainTransform: imgsz must be a positive integer; got ${imgsz}`);
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`trainTransform: count must be a positive integer; got ${count}`);
  if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new Error(`trainTransform: index ${index} outside 0…${count - 1}`);
  const hyp = resolveHyp(rest);

  const useMosaic = rng.next() < hyp.mosaic;
  let { sample, dropped } = await mosaicOrLetterbox(getSample, index, rng, hyp, imgsz, count, useMosaic);
  if (useMosaic && rng.next() < hyp.mixup) {
    const other = await mosaicOrLetterbox(getSample, Math.floor(rng.next() * count), rng, hyp, imgsz, count, true);
    sample = mixup(sample, other.sample, rng).sample;
    dropped += other.dropped;
  }
  if (hyp.hsv_h || hyp.hsv_s || hyp.hsv_v) sample = hsvJitter(sample, rng, { h: hyp.hsv_h, s: hyp.hsv_s, v: hyp.hsv_v });
  sample = randomFlip(sample, rng, { flipud: hyp.flipud, fliplr: hyp.fliplr });
  return { sample, dropped };
}

export interface EvalTransformOptions {
  /** Pad only to the next multiple of `stride` instead of the full square (rectangular inference). Default false. */
  rect?: boolean;
  /** Default 32. */
  stride?: number;
}

/**
 * Evaluation / inference transform: letterbox only (no randomness). `size` is
 * a square side or [width, height]; `original` on the result maps boxes back.
 */
export function evalTransform(sample: Sample, size: number | readonly [number, number], opts: EvalTransformOptions = {}): Sample {
  return letterboxSample(sample, size, { auto: opts.rect ?? false, stride: opts.stride ?? 32 });
}
