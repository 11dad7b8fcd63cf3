/**
 * The built-in default dataset: procedurally generated images of coloured
 * geometric shapes. Nothing to download; generated on first use and cached.
 *
 * Each image (default 256×256 RGB) has 1–6 flat-coloured shapes (circle,
 * square, triangle, star, hexagon, cross) between ~12 and ~120 px on a
 * textured background (smooth noise, gradient, stripes or checkerboard, with
 * fine luminance grain). Shapes are painted back to front, so later ones may
 * occlude earlier ones:
 *   - an occluded object keeps its whole (amodal) box, clipped to the image;
 *   - its mask holds only the pixels where it is visible;
 *   - an object whose visible area is under `minVisible` (25%) of its full area
 *     is not labelled (it is still painted: like an unlabelled heavily
 *     occluded object in a real dataset). `dropped` counts them.
 *
 * Labels per object: box (xyxy pixel edges, integers), class, colour attribute
 * (an index into a fixed palette: red, green, blue, yellow, magenta, cyan,
 * white), identity (the index of the object template: class × colour × size /
 * aspect / rotation variant, shared across images and splits) and an instance
 * mask stored as row-major run-length counts (see `encodeRle`).
 *
 * Rasterisation is exact and anti-aliasing free: a pixel belongs to a shape
 * when its centre is inside the polygon (even-odd scanline fill; circles are
 * 64-gons), so every shape pixel has exactly the palette colour.
 *
 * Everything is deterministic from the seed: image `i` of split `s` depends
 * only on (seed, s, i) and the options, so changing the size of one split does
 * not change the images of another.
 *
 * What it shares with the Fashion-MNIST compositor (./fashion.ts) lives beside
 * it: the palette, labelling and samples (./instances.ts), the textured
 * backgrounds (./backgrounds.ts), seeds and option hashes (./hashing.ts), the
 * on-disk cache (./instance-cache.ts) and the RLE masks (../rle.ts).
 */
import { join } from 'node:path';
import { Rng } from '../../util/rng.js';
import type { RgbImage } from '../types.js';
import { paintBackground } from './backgrounds.js';
import { imageSeed, mix32, optionsHash } from './hashing.js';
import { cacheRoot, ensureInstanceCache, type InstanceDataset } from './instance-cache.js';
import {
  COLOR_NAMES,
  checkInt,
  type InstanceImage,
  labelObjects,
  loadInstanceSample,
  PALETTE,
  type PaintedObject,
  standardSplits,
  withDefaults,
} from './instances.js';

/** Shape class names, in index order. */
export const SHAPE_NAMES: readonly string[] = ['circle', 'square', 'triangle', 'star', 'hexagon', 'cross'];

export type ShapeImage = InstanceImage;

/** Loads a record of a shapes dataset as a Sample (the loader every generated dataset shares). */
export const loadShapesSample = loadInstanceSample;

// ---------------------------------------------------------------------------
// Options, templates, rasterisation
// ---------------------------------------------------------------------------

export interface ShapesOptions {
  /** Default 0. */
  seed?: number;
  /** Image side in pixels (square images). Default 256. */
  size?: number;
  /** Images per split. Defaults 1000 / 200 / 200. */
  train?: number;
  val?: number;
  test?: number;
  /** Shapes painted per image (before occlusion drops). Defaults 1 and 6. */
  minObjects?: number;
  maxObjects?: number;
  /** Shape size range in pixels (nominal side / diameter). Defaults 12 and 120. */
  minSize?: number;
  maxSize?: number;
  /** Templates per class × colour (size / aspect / rotation variants). Default 2 (6 × 7 × 2 = 84 templates). */
  variants?: number;
  /** Objects whose visible fraction is below this are not labelled. Default 0.25. */
  minVisible?: number;
}

export type ResolvedShapesOptions = Required<ShapesOptions>;

/** Generator version: part of the cache key, bumped whenever the output for the same options changes. */
export const SHAPES_VERSION = 1;

export const SHAPES_DEFAULTS: ResolvedShapesOptions = {
  seed: 0,
  size: 256,
  train: 1000,
  val: 200,
  test: 200,
  minObjects: 1,
  maxObjects: 6,
  minSize: 12,
  maxSize: 120,
  variants: 2,
  minVisible: 0.25,
};

export function resolveShapesOptions(opts: ShapesOptions = {}): ResolvedShapesOptions {
  const o = withDefaults(SHAPES_DEFAULTS, opts);
  checkInt('shapes seed', o.seed, 0, 0xffffffff);
  checkInt('shapes size', o.size, 16, 4096);
  checkInt('shapes train', o.train, 0);
  checkInt('shapes val', o.val, 0);
  checkInt('shapes test', o.test, 0);
  checkInt('shapes minObjects', o.minObjects, 1, 1000);
  checkInt('shapes maxObjects', o.maxObjects, o.minObjects, 1000);
  if (!(o.minSize >= 3 && o.maxSize >= o.minSize)) throw new Error(`shapes sizes need 3 <= minSize <= maxSize; got ${o.minSize}..${o.maxSize}`);
  checkInt('shapes variants', o.variants, 1, 1000);
  if (!(o.minVisible >= 0 && o.minVisible <= 1)) throw new Error(`shapes minVisible must be in [0, 1]; got ${o.minVisible}`);
  return o;
}

/** A distinct object appearance; its index is the identity label. */
export interface ShapeTemplate {
  id: number;
  cls: number;
  color: number;
  /** Nominal size in pixels (instances vary by ×0.75..×1.33 around it). */
  size: number;
  /** Width / height before rotation. */
  aspect: number;
  /** Radians (instances vary by ±0.15 around it). */
  rotation: number;
}

const SIZE_JITTER_LO = 0.75;
const SIZE_JITTER_HI = 1.33;
const ROTATION_JITTER = 0.15;

/** Templates: every class × colour × `variants`, with sizes stratified over the size range. Deterministic from the seed. */
export function shapeTemplates(o: ResolvedShapesOptions): ShapeTemplate[] {
  const rng = new Rng(mix32(o.seed, 0x7e3a11));
  let lo = Math.log(o.minSize / SIZE_JITTER_LO);
  let hi = Math.log(o.maxSize / SIZE_JITTER_HI);
  if (lo > hi) lo = hi = (Math.log(o.minSize) + Math.log(o.maxSize)) / 2;
  const out: ShapeTemplate[] = [];
  for (let cls = 0; cls < SHAPE_NAMES.length; cls++) {
    for (let color = 0; color < COLOR_NAMES.length; color++) {
      for (let v = 0; v < o.variants; v++) {
        const u = (v + rng.next()) / o.variants;
        out.push({
          id: out.length,
          cls,
          color,
          size: Math.exp(lo + u * (hi - lo)),
          aspect: Math.exp((rng.next() - 0.5) * 0.6),
          rotation: rng.next() * 2 * Math.PI,
        });
      }
    }
  }
  return out;
}

function regularPolygon(n: number, phase: number, radius = 1): number[] {
  const pts: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = phase + (2 * Math.PI * i) / n;
    pts.push(radius * Math.cos(a), radius * Math.sin(a));
  }
  return pts;
}

/** Unit outlines (x, y pairs, within [-1, 1]²) of each class, in SHAPE_NAMES order. */
const OUTLINES: readonly number[][] = [
  regularPolygon(64, 0),
  [-1, -1, 1, -1, 1, 1, -1, 1],
  [0, -1, 1, 0.8, -1, 0.8],
  (() => {
    const pts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = i % 2 === 0 ? 1 : 0.45;
      const a = -Math.PI / 2 + (Math.PI * i) / 5;
      pts.push(r * Math.cos(a), r * Math.sin(a));
    }
    return pts;
  })(),
  regularPolygon(6, 0),
  (() => {
    const w = 0.34;
    return [-w, -1, w, -1, w, -w, 1, -w, 1, w, w, w, w, 1, -w, 1, -w, w, -1, w, -1, -w, -w, -w];
  })(),
];

/** Outline of class `cls` with nominal size `size`, width/height `aspect`, rotated by `rotation` around (cx, cy). */
export function shapePolygon(cls: number, size: number, aspect: number, rotation: number, cx: number, cy: number): Float64Array {
  const unit = OUTLINES[cls]!;
  const sx = (size / 2) * Math.sqrt(aspect);
  const sy = size / 2 / Math.sqrt(aspect);
  const c = Math.cos(rotation);
  const s = Math.sin(rotation);
  const out = new Float64Array(unit.length);
  for (let i = 0; i < unit.length; i += 2) {
    const u = unit[i]! * sx;
    const v = unit[i + 1]! * sy;
    out[i] = cx + u * c - v * s;
    out[i + 1] = cy + u * s + v * c;
  }
  return out;
}

const scratchXs: number[] = [];

/**
 * Even-odd scanline fill of a polygon: pixel (x, y) is inside when its centre
 * (x + 0.5, y + 0.5) is. Sets `owner` to `k` on inside pixels within the
 * image and returns the full inside area (outside-image pixels counted) and
 * the in-image box (xyxy pixel edges; null when nothing is in the image).
 */
export function fillPolygon(
  xy: Float64Array,
  width: number,
  height: number,
  owner: Int16Array,
  k: number,
): { fullArea: number; box: [number, number, number, number] | null } {
  const n = xy.length / 2;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 1; i < xy.length; i += 2) {
    minY = Math.min(minY, xy[i]!);
    maxY = Math.max(maxY, xy[i]!);
  }
  let full = 0;
  let bx1 = Infinity;
  let by1 = Infinity;
  let bx2 = -Infinity;
  let by2 = -Infinity;
  const xs = scratchXs;
  for (let y = Math.ceil(minY - 0.5); y + 0.5 <= maxY; y++) {
    const yc = y + 0.5;
    let m = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = xy[2 * i + 1]!;
      const yj = xy[2 * j + 1]!;
      if (yi <= yc !== yj <= yc) {
        const xi = xy[2 * i]!;
        const xj = xy[2 * j]!;
        xs[m++] = xi + ((yc - yi) * (xj - xi)) / (yj - yi);
      }
    }
    // Insertion sort: m is small (≤ ~12).
    for (let i = 1; i < m; i++) {
      const v = xs[i]!;
      let j = i - 1;
      while (j >= 0 && xs[j]! > v) {
        xs[j + 1] = xs[j]!;
        j--;
      }
      xs[j + 1] = v;
    }
    const inImage = y >= 0 && y < height;
    for (let p = 0; p + 1 < m; p += 2) {
      const a = Math.ceil(xs[p]! - 0.5);
      const b = Math.ceil(xs[p + 1]! - 0.5);
      if (b <= a) continue;
      full += b - a;
      if (!inImage) continue;
      const ca = Math.max(a, 0);
      const cb = Math.min(b, width);
      if (cb <= ca) continue;
      owner.fill(k, y * width + ca, y * width + cb);
      if (ca < bx1) bx1 = ca;
      if (cb > bx2) bx2 = cb;
      if (y < by1) by1 = y;
      if (y + 1 > by2) by2 = y + 1;
    }
  }
  return { fullArea: full, box: bx2 > bx1 ? [bx1, by1, bx2, by2] : null };
}

/** Image `index` of `split`: deterministic from (options, split, index). */
export function generateShapeImage(o: ResolvedShapesOptions, templates: readonly ShapeTemplate[], split: string, index: number): ShapeImage {
  const rng = new Rng(imageSeed(o.seed, split, index));
  const W = o.size;
  const H = o.size;
  const image: RgbImage = { data: new Uint8Array(W * H * 3), width: W, height: H };
  paintBackground(image, rng);
  const owner = new Int16Array(W * H).fill(-1);
  const count = rng.int(o.minObjects, o.maxObjects);
  const painted: PaintedObject[] = [];
  for (let k = 0; k < count; k++) {
    const t = rng.pick(templates);
    const jitter = Math.exp(Math.log(SIZE_JITTER_LO) + rng.next() * (Math.log(SIZE_JITTER_HI) - Math.log(SIZE_JITTER_LO)));
    const size = Math.min(o.maxSize, Math.max(o.minSize, t.size * jitter));
    const rotation = t.rotation + (rng.next() - 0.5) * 2 * ROTATION_JITTER;
    // Centres keep at least ~3/4 of the extent inside along each axis (some shapes touch the border).
    const lo = Math.min(size / 4, W / 2);
    const cx = lo + rng.next() * Math.max(0, W - 2 * lo);
    const cy = lo + rng.next() * Math.max(0, H - 2 * lo);
    const poly = shapePolygon(t.cls, size, t.aspect, rotation, cx, cy);
    const { fullArea, box } = fillPolygon(poly, W, H, owner, k);
    painted.push({ cls: t.cls, color: t.color, identity: t.id, box, fullArea });
  }
  const data = image.data;
  for (let i = 0; i < owner.length; i++) {
    const o2 = owner[i]!;
    if (o2 < 0) continue;
    const c = PALETTE[painted[o2]!.color]!;
    data[i * 3] = c[0];
    data[i * 3 + 1] = c[1];
    data[i * 3 + 2] = c[2];
  }
  const { objects, dropped } = labelObjects(owner, W, H, painted, o.minVisible);
  return { image, objects, dropped };
}

export interface GeneratedShapes {
  names: string[];
  /** Colour attribute names. */
  colors: string[];
  templates: ShapeTemplate[];
  options: ResolvedShapesOptions;
  /** Cache key of these options. */
  hash: string;
  splits: { train: ShapeImage[]; val: ShapeImage[]; test: ShapeImage[] };
}

export function shapesHash(o: ResolvedShapesOptions): string {
  return optionsHash({ generator: 'shapes', version: SHAPES_VERSION, ...o });
}

/** Generates the whole dataset in memory (no cache). */
export function generateShapes(opts: ShapesOptions = {}): GeneratedShapes {
  const o = resolveShapesOptions(opts);
  const templates = shapeTemplates(o);
  const gen = (split: 'train' | 'val' | 'test'): ShapeImage[] =>
    Array.from({ length: o[split] }, (_, i) => generateShapeImage(o, templates, split, i));
  return {
    names: [...SHAPE_NAMES],
    colors: [...COLOR_NAMES],
    templates,
    options: o,
    hash: shapesHash(o),
    splits: { train: gen('train'), val: gen('val'), test: gen('test') },
  };
}

// ---------------------------------------------------------------------------
// Shapes dataset entry points
// ---------------------------------------------------------------------------

export interface ShapesCacheOptions extends ShapesOptions {
  /** Progress bar on stderr (default), on a given stream, or none (false). */
  progress?: boolean | NodeJS.WritableStream;
}

export interface ShapesDataset extends InstanceDataset {
  templates: ShapeTemplate[];
  options: ResolvedShapesOptions;
}

/** The default cache directory of a shapes dataset with these options: <cacheRoot>/shapes-<hash>. */
export function defaultShapesDir(opts: ShapesOptions = {}): string {
  return join(cacheRoot(), `shapes-${shapesHash(resolveShapesOptions(opts))}`);
}

/**
 * Generates the shapes dataset into `dir` on first use (or when it holds a
 * dataset generated with other options) and reads it from there afterwards.
 */
export async function ensureShapesDataset(dir: string, opts: ShapesCacheOptions = {}): Promise<ShapesDataset> {
  const o = resolveShapesOptions(opts);
  const templates = shapeTemplates(o);
  const ds = await ensureInstanceCache(dir, {
    kind: 'shapes',
    hash: shapesHash(o),
    names: [...SHAPE_NAMES],
    attributes: [...COLOR_NAMES],
    numIdentities: templates.length,
    meta: { options: o, version: SHAPES_VERSION, templates },
    splits: standardSplits(o),
    generate: (split, i) => generateShapeImage(o, templates, split, i),
    progress: opts.progress,
  });
  return { ...ds, templates, options: o };
}

/** The shapes dataset, cached in `dir` (default: $YOLOR_CACHE_DIR or ~/.cache/yolor-ts, /shapes-<hash>). */
export async function shapesDataset(dir?: string, opts: ShapesCacheOptions = {}): Promise<ShapesDataset> {
  return ensureShapesDataset(dir ?? defaultShapesDir(opts), opts);
}
