/**
 * 4-image mosaic (YOLOv5 `load_mosaic`): a 2s×2s canvas filled with grey 114,
 * a random centre (xc, yc), each floor(U(s/2, 3s/2)), and the four images
 * (each resized so its long side is s, as `load_image`) placed around it —
 * samples[0] top-left, [1] top-right, [2] bottom-left, [3] bottom-right —
 * each touching the centre and cropped by the canvas edge.
 *
 * Boxes are shifted with their image and clipped to the part of the image
 * that is visible on the canvas (YOLOv5 only clips to the canvas, so a box cut
 * off by the tile edge could extend over a neighbouring tile); boxes with
 * nothing left are dropped and counted. Masks are placed like the pixels;
 * identities and attributes follow their boxes (−1 for a sample without).
 * Image-level labels become the union of the four images' labels — an upper
 * bound once the crop removes objects (the loader recomputes them).
 * The pipeline then applies `randomAffine` with border [−s/2, −s/2] to crop
 * the canvas back to s×s. Random draws: 2 (xc, yc).
 */
import type { Rng } from '../../util/rng.js';
import type { Sample } from '../types.js';
import type { AugmentResult } from './affine.js';
import { assertSample, PAD_VALUE, resizeLongSide } from './letterbox-image.js';

export interface MosaicOptions {
  /** Grey level of the empty canvas (default 114). */
  padValue?: number;
}

export function mosaic4(samples: readonly Sample[], rng: Rng, size: number, opts: MosaicOptions = {}): AugmentResult {
  if (samples.length !== 4) throw new Error(`mosaic4: need exactly 4 samples; got ${samples.length}`);
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`mosaic4: size must be a positive integer; got ${size}`);
  const s = size;
  const S = 2 * s;
  const xc = Math.floor(s / 2 + rng.next() * s);
  const yc = Math.floor(s / 2 + rng.next() * s);
  const withMasks = samples.some((x) => x.masks !== undefined);
  if (withMasks && !samples.every((x) => x.masks !== undefined)) {
    throw new Error('mosaic4: either all or none of the samples must have masks');
  }
  const withIdentity = samples.some((x) => x.identity !== undefined);
  const withAttrs = samples.some((x) => x.attrs !== undefined);

  const canvas = new Uint8Array(S * S * 3).fill(opts.padValue ?? PAD_VALUE);
  const boxes: number[] = [];
  const cls: number[] = [];
  const ids: number[] = [];
  const attrs: number[] = [];
  const masks: Uint8Array[] = [];
  let dropped = 0;

  for (let i = 0; i < 4; i++) {
    assertSample(samples[i]!);
    const smp = resizeLongSide(samples[i]!, s);
    const { width: w, height: h, data } = smp.image;
    let x1a: number, y1a: number, x2a: number, y2a: number, x1b: number, y1b: number, x2b: number, y2b: number;
    if (i === 0) {
      [x1a, y1a, x2a, y2a] = [Math.max(xc - w, 0), Math.max(yc - h, 0), xc, yc];
      [x1b, y1b, x2b, y2b] = [w - (x2a - x1a), h - (y2a - y1a), w, h];
    } else if (i === 1) {
      [x1a, y1a, x2a, y2a] = [xc, Math.max(yc - h, 0), Math.min(xc + w, S), yc];
      [x1b, y1b, x2b, y2b] = [0, h - (y2a - y1a), Math.min(w, x2a - x1a), h];
    } else if (i === 2) {
      [x1a, y1a, x2a, y2a] = [Math.max(xc - w, 0), yc, xc, Math.min(S, yc + h)];
      [x1b, y1b, x2b, y2b] = [w - (x2a - x1a), 0, w, Math.min(y2a - y1a, h)];
    } else {
      [x1a, y1a, x2a, y2a] = [xc, yc, Math.min(xc + w, S), Math.min(S, yc + h)];
      [x1b, y1b, x2b, y2b] = [0, 0, Math.min(w, x2a - x1a), Math.min(y2a - y1a, h)];
    }
    const cw = x2b - x1b;
    const ch = y2b - y1b;
    for (let y = 0; y < ch; y++) {
      const src = ((y1b + y) * w + x1b) * 3;
      canvas.set(data.subarray(src, src + cw * 3), ((y1a + y) * S + x1a) * 3);
    }
    const padw = x1a - x1b;
    const padh = y1a - y1b;
    const clip = (v: number, lo: number, hi: number): number => (v < lo ? lo : Math.min(v, hi));
    for (let k = 0; k < smp.cls.length; k++) {
      const bx1 = clip(smp.boxes[k * 4]! + padw, x1a, x2a);
      const by1 = clip(smp.boxes[k * 4 + 1]! + padh, y1a, y2a);
      const bx2 = clip(smp.boxes[k * 4 + 2]! + padw, x1a, x2a);
      const by2 = clip(smp.boxes[k * 4 + 3]! + padh, y1a, y2a);
      if (!(bx2 > bx1 && by2 > by1)) {
        dropped++;
        continue;
      }
      boxes.push(bx1, by1, bx2, by2);
      cls.push(smp.cls[k]!);
      if (withIdentity) ids.push(smp.identity ? smp.identity[k]! : -1);
      if (withAttrs) attrs.push(smp.attrs ? smp.attrs[k]! : -1);
      if (withMasks) {
        const src = smp.masks![k]!;
        const m = new Uint8Array(S * S);
        for (let y = 0; y < ch; y++) {
          const o = (y1b + y) * w + x1b;
          m.set(src.subarray(o, o + cw), (y1a + y) * S + x1a);
        }
        masks.push(m);
      }
    }
  }

  const first = samples[0]!;
  const sample: Sample = {
    image: { data: canvas, width: S, height: S },
    boxes: Float32Array.from(boxes),
    cls: Int32Array.from(cls),
    file: first.file,
  };
  if (withMasks) sample.masks = masks;
  if (withIdentity) sample.identity = Int32Array.from(ids);
  if (withAttrs) sample.attrs = Int32Array.from(attrs);
  // Image-level labels: union of the four images' labels.
  const labelled = samples.filter((x) => x.labels !== undefined);
  if (labelled.length > 0) {
    const labels = new Float32Array(labelled[0]!.labels!.length);
    for (const x of labelled) for (let j = 0; j < labels.length; j++) labels[j] = Math.max(labels[j]!, x.labels![j] ?? 0);
    sample.labels = labels;
  }
  return { sample, dropped };
}
