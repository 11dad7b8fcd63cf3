/**
 * The patch-location task's pixels (Doersch, Gupta & Efros, ICCV 2015): a 3 × 3
 * layout of square patches of side p with gaps of about p/2 between them, placed
 * at a random position in the image; the centre patch and one of its 8
 * neighbours are cut out, each jittered by up to ±j pixels (j = 7 as in the
 * paper, ±round(7·S/224) but at least 1 for images smaller than 224), so that
 * neither continuing edges nor exact distances give the answer. p is the
 * largest side with 3p + 2·gap + 2j ≤ S, so the layout spans the image.
 *
 * Chromatic aberration (colour fringes that grow away from the lens centre tell
 * where a patch was) is countered per patch: with probability 1/2 "colour
 * dropping" (one random channel is kept; the other two become Gaussian noise
 * around the kept channel's mean with its standard deviation — the paper uses
 * ~1/100 of it; equal noise leaves no trace of which channel was kept once each
 * channel is normalised), otherwise the patch is made grey (luma in all three
 * channels). Either way no two channels of a patch carry shifted copies of one
 * another.
 */
import type { Rng } from '../../util/rng.js';
import { type FloatImage, toGrey } from '../image-ops.js';

/** The 8 neighbours as (dx, dy) in cells, labels 0…7 in reading order (top-left … bottom-right), as in the paper. */
export const NEIGHBOURS: ReadonlyArray<readonly [number, number]> = [
  [-1, -1],
  [0, -1],
  [1, -1],
  [-1, 0],
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
];

export interface PatchGeometry {
  /** Side of a patch, in image pixels. */
  patch: number;
  /** Gap between neighbouring patches of the layout (about patch / 2). */
  gap: number;
  /** Each patch moves by up to ±jitter pixels along each axis. */
  jitter: number;
}

/** Patch side, gap and jitter for a size × size image. */
export function patchGeometry(size: number): PatchGeometry {
  const jitter = size >= 224 ? 7 : Math.max(1, Math.round((7 * size) / 224));
  for (let patch = Math.floor((size - 2 * jitter) / 4) + 1; patch >= 4; patch--) {
    const gap = Math.round(patch / 2);
    if (3 * patch + 2 * gap + 2 * jitter <= size) return { patch, gap, jitter };
  }
  throw new Error(`patch-location: a ${size}-pixel image is too small for a 3×3 layout of patches`);
}

export interface PatchPair {
  /** Top-left corners, in image pixels. */
  centre: { x: number; y: number };
  neighbour: { x: number; y: number };
  /** Index into NEIGHBOURS. */
  label: number;
}

/** A random layout position, neighbour and jitter: both patches lie inside a size × size image. */
export function patchPair(g: PatchGeometry, size: number, rng: Rng): PatchPair {
  const span = 3 * g.patch + 2 * g.gap;
  const step = g.patch + g.gap;
  const ox = rng.int(g.jitter, size - span - g.jitter);
  const oy = rng.int(g.jitter, size - span - g.jitter);
  const label = rng.int(0, NEIGHBOURS.length - 1);
  const [dx, dy] = NEIGHBOURS[label]!;
  const at = (cx: number, cy: number): { x: number; y: number } => ({
    x: ox + cx * step + rng.int(-g.jitter, g.jitter),
    y: oy + cy * step + rng.int(-g.jitter, g.jitter),
  });
  const centre = at(1, 1);
  return { centre, neighbour: at(1 + dx, 1 + dy), label };
}

/** What `dechromatise` did to a patch: kept channel 0, 1 or 2 (the others noise), or made it grey. */
export type Dechromatised = 0 | 1 | 2 | 'grey';

/** The chromatic-aberration treatment of an RGB patch (see the file's header); other channel counts pass unchanged. */
export function dechromatise(img: FloatImage, rng: Rng): { image: FloatImage; mode: Dechromatised | 'none' } {
  if (img.channels !== 3) return { image: img, mode: 'none' };
  if (rng.next() >= 0.5) return { image: toGrey(img), mode: 'grey' };
  const keep = rng.int(0, 2) as 0 | 1 | 2;
  const n = img.data.length / 3;
  let s = 0;
  let s2 = 0;
  for (let p = keep; p < img.data.length; p += 3) {
    s += img.data[p]!;
    s2 += img.data[p]! * img.data[p]!;
  }
  const mean = s / n;
  const std = Math.sqrt(Math.max(s2 / n - mean * mean, 0));
  const out = new Float32Array(img.data.length);
  for (let p = 0; p < img.data.length; p += 3) for (let k = 0; k < 3; k++) out[p + k] = k === keep ? img.data[p + k]! : mean + std * rng.normal();
  return { image: { ...img, data: out }, mode: keep };
}
