/**
 * COCO segmentations: polygons (flat [x1, y1, x2, y2, ...] lists in pixels) or
 * run-length encodings (column-major, compressed or not; the codec is
 * ../../rle.ts), carried on annotations as `segmentation` by the COCO reader
 * (and by the YOLO reader for segment rows), turned into binary masks by
 * `cocoMask`, and measured by `segmentationArea` (the COCO writer's `area`).
 */
import { type CocoRle, rleDecodeString, rleToMask } from '../../rle.js';
import type { Annotation } from '../../types.js';

export type { CocoRle } from '../../rle.js';

/** COCO polygons: one or more flat [x1, y1, x2, y2, ...] lists in pixels. */
export type CocoPolygons = number[][];

export type CocoSegmentation = CocoPolygons | CocoRle;

/** An annotation that may carry an instance outline (COCO segmentation, YOLO segment rows). */
export interface SegmentedAnnotation extends Annotation {
  segmentation?: CocoSegmentation;
}

export function isRle(seg: CocoSegmentation): seg is CocoRle {
  return !Array.isArray(seg);
}

/** Shoelace area of one flat polygon. */
export function polygonArea(poly: readonly number[]): number {
  let a = 0;
  const n = Math.floor(poly.length / 2);
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    a += poly[2 * i]! * poly[2 * j + 1]! - poly[2 * j]! * poly[2 * i + 1]!;
  }
  return Math.abs(a) / 2;
}

/**
 * Rasterises polygons into a row-major H×W mask: a pixel is set when its centre
 * (x + 0.5, y + 0.5) is inside a polygon (even-odd rule per polygon; polygons
 * are OR-ed), so the mask's area approximates the polygon area.
 */
export function polygonsToMask(polys: CocoPolygons, height: number, width: number): Uint8Array {
  const mask = new Uint8Array(height * width);
  for (const poly of polys) {
    const n = Math.floor(poly.length / 2);
    if (n < 3) continue;
    const xs: number[] = [];
    for (let y = 0; y < height; y++) {
      const cy = y + 0.5;
      xs.length = 0;
      for (let i = 0; i < n; i++) {
        const j = (i + 1) % n;
        const x0 = poly[2 * i]!,
          y0 = poly[2 * i + 1]!,
          x1 = poly[2 * j]!,
          y1 = poly[2 * j + 1]!;
        if ((y0 <= cy && y1 > cy) || (y1 <= cy && y0 > cy)) xs.push(x0 + ((cy - y0) / (y1 - y0)) * (x1 - x0));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        // pixels whose centre lies in [xs[k], xs[k+1])
        const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
        const to = Math.min(width - 1, Math.ceil(xs[k + 1]! - 0.5) - 1);
        for (let x = from; x <= to; x++) mask[y * width + x] = 1;
      }
    }
  }
  return mask;
}

/**
 * The binary mask (row-major, `height`×`width`, 0/1) of an annotation's
 * segmentation, or null when it has none. An RLE must have that size.
 */
export function cocoMask(ann: SegmentedAnnotation, height: number, width: number): Uint8Array | null {
  const seg = ann.segmentation;
  if (!seg) return null;
  if (isRle(seg)) {
    if (seg.size[0] !== height || seg.size[1] !== width) {
      throw new Error(`RLE size ${seg.size[1]}x${seg.size[0]} (w x h) does not match the ${width}x${height} image`);
    }
    return rleToMask(seg);
  }
  return polygonsToMask(seg, height, width);
}

/** Area of a segmentation in pixels (polygons: shoelace sum; RLE: foreground count). */
export function segmentationArea(seg: CocoSegmentation): number {
  if (!isRle(seg)) return seg.reduce((s, p) => s + polygonArea(p), 0);
  const counts = typeof seg.counts === 'string' ? rleDecodeString(seg.counts) : seg.counts;
  let a = 0;
  for (let i = 1; i < counts.length; i += 2) a += counts[i]!;
  return a;
}
