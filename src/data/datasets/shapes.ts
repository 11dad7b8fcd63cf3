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
 * The generic machinery here — palette, backgrounds, RLE masks, the on-disk
 * cache and sample loading — is shared with the Fashion-MNIST compositor
 * (./fashion.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFilesAtomic, recoverAtomicDir } from '../../io/atomic-write.js';
import { ProgressBar } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { decodeImage, encodePng } from '../image-io.js';
import type { DetectionDataset, ImageRecord, RgbImage, Sample } from '../types.js';

// ---------------------------------------------------------------------------
// Palette, hashing, cache location
// ---------------------------------------------------------------------------

/** Colour attribute names, in index order. */
export const COLOR_NAMES: readonly string[] = ['red', 'green', 'blue', 'yellow', 'magenta', 'cyan', 'white'];

/** RGB of each colour attribute. Saturated, so they stand out from the muted backgrounds. */
export const PALETTE: readonly (readonly [number, number, number])[] = [
  [225, 35, 35],
  [35, 190, 55],
  [45, 80, 235],
  [240, 220, 35],
  [220, 45, 220],
  [35, 215, 215],
  [245, 245, 245],
];

/** Shape class names, in index order. */
export const SHAPE_NAMES: readonly string[] = ['circle', 'square', 'triangle', 'star', 'hexagon', 'cross'];

/** A 32-bit hash of a list of integers (seeds per image). */
export function mix32(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A 32-bit FNV-1a hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** First 12 hex digits of the SHA-256 of `value`'s canonical JSON (key order does not matter). */
export function optionsHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}

/** Root of generated-dataset caches: $YOLOR_CACHE_DIR, else ~/.cache/yolor-ts. */
export function cacheRoot(): string {
  const env = process.env['YOLOR_CACHE_DIR'];
  return env ? resolve(env) : join(homedir(), '.cache', 'yolor-ts');
}

// ---------------------------------------------------------------------------
// Backgrounds
// ---------------------------------------------------------------------------

export type BackgroundKind = 'noise' | 'gradient' | 'stripes' | 'checker';
export const BACKGROUND_KINDS: readonly BackgroundKind[] = ['noise', 'gradient', 'stripes', 'checker'];

/** A low-saturation colour with every channel in [10, 195]. */
function mutedColor(rng: Rng): [number, number, number] {
  const g = 25 + rng.next() * 145;
  const c = (): number => Math.min(195, Math.max(10, g + (rng.next() - 0.5) * 50));
  return [c(), c(), c()];
}

/**
 * Paints a random textured background over the whole image: smooth value
 * noise, a linear gradient, stripes or a checkerboard between two muted
 * colours, plus fine luminance grain. Returns the kind used.
 */
export function paintBackground(img: RgbImage, rng: Rng): BackgroundKind {
  const { width: W, height: H, data } = img;
  const kind = rng.pick(BACKGROUND_KINDS);
  const a = mutedColor(rng);
  const b = mutedColor(rng);
  const t = new Float32Array(W * H);
  if (kind === 'noise') {
    const cell = rng.int(8, 48);
    const gw = Math.ceil(W / cell) + 2;
    const gh = Math.ceil(H / cell) + 2;
    const grid = new Float32Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
    for (let y = 0; y < H; y++) {
      const gy = y / cell;
      const y0 = Math.floor(gy);
      let fy = gy - y0;
      fy = fy * fy * (3 - 2 * fy);
      for (let x = 0; x < W; x++) {
        const gx = x / cell;
        const x0 = Math.floor(gx);
        let fx = gx - x0;
        fx = fx * fx * (3 - 2 * fx);
        const i = y0 * gw + x0;
        const top = grid[i]! + (grid[i + 1]! - grid[i]!) * fx;
        const bot = grid[i + gw]! + (grid[i + gw + 1]! - grid[i + gw]!) * fx;
        t[y * W + x] = top + (bot - top) * fy;
      }
    }
  } else if (kind === 'gradient') {
    const th = rng.next() * 2 * Math.PI;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const ext = Math.abs(c) * W + Math.abs(s) * H;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) t[y * W + x] = Math.min(1, Math.max(0, ((x - W / 2) * c + (y - H / 2) * s) / ext + 0.5));
    }
  } else if (kind === 'stripes') {
    const period = rng.int(6, 32);
    const th = rng.next() * Math.PI;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const smooth = rng.next() < 0.5;
    // One period sampled at 1024 phases: sinusoidal or square wave.
    const wave = new Float32Array(1024);
    for (let i = 0; i < 1024; i++) wave[i] = smooth ? 0.5 + 0.5 * Math.sin((2 * Math.PI * i) / 1024) : i < 512 ? 0 : 1;
    const dx = (c / period) * 1024;
    const dy = (s / period) * 1024;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) t[y * W + x] = wave[(x * dx + y * dy) & 1023]!;
    }
  } else {
    const cell = rng.int(8, 40);
    for (let y = 0; y < H; y++) {
      const cy = Math.floor(y / cell);
      for (let x = 0; x < W; x++) t[y * W + x] = (Math.floor(x / cell) + cy) & 1;
    }
  }
  // Integer colour lookup over 256 levels of t, then grain and clipping.
  const lut = new Int32Array(256 * 3);
  for (let q = 0; q < 256; q++) {
    const tq = q / 255;
    for (let ch = 0; ch < 3; ch++) lut[q * 3 + ch] = Math.round(a[ch]! + (b[ch]! - a[ch]!) * tq);
  }
  const grain = rng.int(0, 3);
  const span = 2 * grain + 1;
  // Fine grain from an inline xorshift32 seeded by the image's generator (no method call per pixel).
  let st = (Math.floor(rng.next() * 0xffffffff) | 1) >>> 0;
  for (let i = 0, n = W * H; i < n; i++) {
    const l = ((t[i]! * 255 + 0.5) | 0) * 3;
    let g = 0;
    if (grain > 0) {
      st ^= st << 13;
      st ^= st >>> 17;
      st ^= st << 5;
      g = (((st >>> 24) * span) >> 8) - grain;
    }
    const o = i * 3;
    // Muted colours lie in [10, 195] and |g| <= 3: no clipping needed.
    data[o] = lut[l]! + g;
    data[o + 1] = lut[l + 1]! + g;
    data[o + 2] = lut[l + 2]! + g;
  }
  return kind;
}

// ---------------------------------------------------------------------------
// Run-length masks
// ---------------------------------------------------------------------------

/**
 * Row-major run-length encoding of a binary mask: alternating run lengths,
 * starting and ending with a (possibly empty) run of zeros, so there is an odd
 * number of counts; they sum to w × h.
 * (COCO's uncompressed RLE is the same idea in column-major order.)
 */
export function encodeRle(mask: Uint8Array): number[] {
  const counts: number[] = [];
  let v = 0;
  let run = 0;
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i] ? 1 : 0;
    if (m !== v) {
      counts.push(run);
      run = 0;
      v = m;
    }
    run++;
  }
  counts.push(run);
  if (v === 1) counts.push(0);
  return counts;
}

/** Decodes `encodeRle` counts into a w × h 0/1 mask; throws when the counts do not cover exactly w × h pixels. */
export function decodeRle(counts: readonly number[], width: number, height: number): Uint8Array {
  const n = width * height;
  const mask = new Uint8Array(n);
  let p = 0;
  let v = 0;
  for (const c of counts) {
    if (!(Number.isInteger(c) && c >= 0) || p + c > n) throw new Error(`RLE mask: bad run length ${c} at pixel ${p} of ${width}×${height}`);
    if (v) mask.fill(1, p, p + c);
    p += c;
    v ^= 1;
  }
  if (p !== n) throw new Error(`RLE mask: runs cover ${p} pixels, the image has ${width}×${height} = ${n}`);
  return mask;
}

/** RLE (as `encodeRle`) of the pixels where `owner === k`, scanning only inside `box` (all such pixels must lie in it). */
export function encodeOwnerRle(owner: Int16Array, k: number, box: readonly number[], width: number, height: number): number[] {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  const counts: number[] = [];
  let last = 0;
  let open = false;
  const fullRows = x1 === 0 && x2 === width;
  for (let y = y1; y < y2; y++) {
    const row = y * width;
    for (let x = x1; x < x2; x++) {
      const p = row + x;
      if ((owner[p] === k) !== open) {
        counts.push(p - last);
        last = p;
        open = !open;
      }
    }
    if (open && !fullRows) {
      const p = row + x2;
      counts.push(p - last);
      last = p;
      open = false;
    }
  }
  const n = width * height;
  if (open) {
    const p = (y2 - 1) * width + x2;
    counts.push(p - last);
    last = p;
  }
  // `counts` so far ends with a ones-run (or is empty); close with the trailing zeros.
  counts.push(n - last);
  return counts;
}

// ---------------------------------------------------------------------------
// Generated instance images (shared by shapes and fashion)
// ---------------------------------------------------------------------------

/** One labelled object of a generated image. */
export interface InstanceObject {
  cls: number;
  /** Colour attribute index (into the palette / attribute names). */
  color: number;
  /** Identity (shapes: template index; fashion: source item index). */
  identity: number;
  /** xyxy pixel edges, integers: the whole object's extent (occluded parts included), clipped to the image. */
  box: [number, number, number, number];
  /** Visible (unoccluded, in-image) pixels: the mask's area. */
  area: number;
  /** Pixels of the whole object, occluded and out-of-image parts included. */
  fullArea: number;
  /** Visible-pixel mask, row-major RLE over the whole image (`decodeRle`). */
  rle: number[];
}

/** A generated image with its labels, objects in paint order (back to front). */
export interface InstanceImage {
  image: RgbImage;
  objects: InstanceObject[];
  /** Objects painted but left unlabelled (visible area under `minVisible`). */
  dropped: number;
}

export type ShapeImage = InstanceImage;

/**
 * Turns an owner map (pixel → object index in paint order, −1 for background)
 * into labelled objects: keeps those whose visible area is at least
 * `minVisible` of their full area, with RLE masks.
 */
export function labelObjects(
  owner: Int16Array,
  width: number,
  height: number,
  painted: readonly { cls: number; color: number; identity: number; box: [number, number, number, number] | null; fullArea: number }[],
  minVisible: number,
): { objects: InstanceObject[]; dropped: number } {
  const visible = new Int32Array(painted.length);
  for (let i = 0; i < owner.length; i++) {
    const o = owner[i]!;
    if (o >= 0) visible[o]!++;
  }
  const objects: InstanceObject[] = [];
  let dropped = 0;
  painted.forEach((p, k) => {
    const area = visible[k]!;
    if (!p.box || area === 0 || area < minVisible * p.fullArea) {
      dropped++;
      return;
    }
    objects.push({
      cls: p.cls,
      color: p.color,
      identity: p.identity,
      box: p.box,
      area,
      fullArea: p.fullArea,
      rle: encodeOwnerRle(owner, k, p.box, width, height),
    });
  });
  return { objects, dropped };
}

// ---------------------------------------------------------------------------
// Shapes: options, templates, rasterisation
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

export function checkInt(name: string, v: number, lo: number, hi = Number.MAX_SAFE_INTEGER): void {
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
    throw new Error(`${name} must be an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? '∞' : hi}]; got ${v}`);
  }
}

export function resolveShapesOptions(opts: ShapesOptions = {}): ResolvedShapesOptions {
  const o: ResolvedShapesOptions = { ...SHAPES_DEFAULTS };
  for (const k of Object.keys(SHAPES_DEFAULTS) as (keyof ShapesOptions)[]) {
    const v = opts[k];
    if (v !== undefined) o[k] = v;
  }
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
export function fillPolygon(xy: Float64Array, width: number, height: number, owner: Int16Array, k: number): { fullArea: number; box: [number, number, number, number] | null } {
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

/** Splits are seeded independently: 'train' / 'val' / 'test' (or any name). */
export function imageSeed(seed: number, split: string, index: number): number {
  return mix32(seed, hashString(split), index);
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
  const painted: { cls: number; color: number; identity: number; box: [number, number, number, number] | null; fullArea: number }[] = [];
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
// Samples
// ---------------------------------------------------------------------------

/** An image record of a generated dataset: the detection record plus masks and attributes. */
export interface InstanceImageRecord extends ImageRecord {
  /** Colour attribute per annotation. */
  colors: number[];
  /** Visible-pixel mask per annotation (row-major RLE, `decodeRle`). */
  rle: number[][];
  /** Visible pixels per annotation. */
  areas: number[];
  /** Objects painted but not labelled (too occluded). */
  dropped: number;
  /** Label-space sizes: multi-hot labels are classes then attributes. */
  numClasses: number;
  numAttributes: number;
}

/** Image-level multi-hot targets: [classes present…, colours present…]. */
export function multiHot(cls: ArrayLike<number>, colors: ArrayLike<number>, numClasses: number, numAttributes: number): Float32Array {
  const labels = new Float32Array(numClasses + numAttributes);
  for (let i = 0; i < cls.length; i++) labels[cls[i]!] = 1;
  for (let i = 0; i < colors.length; i++) labels[numClasses + colors[i]!] = 1;
  return labels;
}

/** A Sample from an in-memory generated image (no decoding). */
export function instanceImageToSample(img: InstanceImage, numClasses: number, numAttributes: number, file = ''): Sample {
  const { width: W, height: H } = img.image;
  const n = img.objects.length;
  const boxes = new Float32Array(n * 4);
  img.objects.forEach((o, i) => boxes.set(o.box, i * 4));
  return {
    image: img.image,
    boxes,
    cls: Int32Array.from(img.objects, (o) => o.cls),
    masks: img.objects.map((o) => decodeRle(o.rle, W, H)),
    identity: Int32Array.from(img.objects, (o) => o.identity),
    attrs: Int32Array.from(img.objects, (o) => o.color),
    labels: multiHot(img.objects.map((o) => o.cls), img.objects.map((o) => o.color), numClasses, numAttributes),
    file,
  };
}

/** Decoded per-instance masks (HW, 0/1) of a record, aligned with its annotations. */
export function recordMasks(record: InstanceImageRecord): Uint8Array[] {
  return record.rle.map((r) => decodeRle(r, record.width, record.height));
}

/** Multi-hot image labels of a record: classes then colour attributes. */
export function recordLabels(record: InstanceImageRecord): Float32Array {
  return multiHot(record.annotations.map((a) => a.cls), record.colors, record.numClasses, record.numAttributes);
}

/**
 * Loads one record of a generated dataset (shapes or fashion) as a Sample:
 * the image decoded, boxes, classes, masks, identities, colour attributes
 * (`attrs`) and multi-hot labels over classes + colours. The data loader reads
 * such records through `recordToSample` (../sample-source.ts), which calls this.
 */
export async function loadShapesSample(record: InstanceImageRecord): Promise<Sample> {
  const image = await decodeImage(record.file);
  if (image.width !== record.width || image.height !== record.height) {
    throw new Error(`${record.file}: image is ${image.width}×${image.height}, the labels say ${record.width}×${record.height}`);
  }
  const n = record.annotations.length;
  const boxes = new Float32Array(n * 4);
  record.annotations.forEach((a, i) => boxes.set(a.box, i * 4));
  return {
    image,
    boxes,
    cls: Int32Array.from(record.annotations, (a) => a.cls),
    masks: recordMasks(record),
    identity: Int32Array.from(record.annotations, (a) => a.identity ?? -1),
    attrs: Int32Array.from(record.colors),
    labels: recordLabels(record),
    file: record.file,
  };
}

// ---------------------------------------------------------------------------
// On-disk cache (shared)
// ---------------------------------------------------------------------------

/** A generated dataset read from its cache: a DetectionDataset with masks, attributes and identities. */
export interface InstanceDataset extends DetectionDataset {
  splits: Record<string, InstanceImageRecord[]>;
  /** Attribute (colour) names. */
  attributes: string[];
  /** Cache directory. */
  dir: string;
  /** Cache key (hash of the generation options). */
  hash: string;
  /** Number of distinct identities (identity ids are below this). */
  numIdentities: number;
  /** Whether this call generated the data (false: read from the cache). */
  generated: boolean;
  masks(record: InstanceImageRecord): Uint8Array[];
  /** Colour attribute per annotation. */
  attributeIds(record: InstanceImageRecord): number[];
  labels(record: InstanceImageRecord): Float32Array;
  loadSample(record: InstanceImageRecord): Promise<Sample>;
}

export const LABELS_FILE = 'labels.json';
const CACHE_FORMAT = 'yolor-ts generated instances';
const CACHE_FORMAT_VERSION = 1;

/** Objects are cached exactly as generated. */
type CachedObject = InstanceObject;

interface CachedImage {
  file: string;
  width: number;
  height: number;
  dropped: number;
  objects: CachedObject[];
}

interface CacheLabels {
  format: string;
  formatVersion: number;
  kind: string;
  hash: string;
  names: string[];
  attributes: string[];
  numIdentities: number;
  meta: Record<string, unknown>;
  splits: Record<string, CachedImage[]>;
}

export interface InstanceCacheSpec {
  /** 'shapes', 'fashion'; also the dataset name. */
  kind: string;
  hash: string;
  names: string[];
  attributes: string[];
  numIdentities: number;
  /** Stored in the labels file (options, templates, source fingerprint …). */
  meta: Record<string, unknown>;
  /** Split names and sizes, in order. */
  splits: [string, number][];
  generate: (split: string, index: number) => InstanceImage;
  /** Progress on stderr (default), a given stream, or none (false). */
  progress?: boolean | NodeJS.WritableStream;
  /** Extra check of a cached labels file's meta (e.g. the source data fingerprint); false regenerates. */
  acceptCached?: (meta: Record<string, unknown>) => boolean;
}

function readCacheLabels(dir: string, kind: string, hash: string): CacheLabels | null {
  const file = join(dir, LABELS_FILE);
  if (!existsSync(file)) return null;
  let labels: CacheLabels;
  try {
    labels = JSON.parse(readFileSync(file, 'utf8')) as CacheLabels;
  } catch {
    return null;
  }
  if (labels.format !== CACHE_FORMAT || labels.formatVersion !== CACHE_FORMAT_VERSION || labels.kind !== kind || labels.hash !== hash) return null;
  for (const images of Object.values(labels.splits ?? {})) {
    for (const im of images) if (!existsSync(join(dir, im.file))) return null;
  }
  return labels;
}

function toDataset(dir: string, labels: CacheLabels, generated: boolean): InstanceDataset {
  const numClasses = labels.names.length;
  const numAttributes = labels.attributes.length;
  const splits: Record<string, InstanceImageRecord[]> = {};
  let id = 0;
  for (const [split, images] of Object.entries(labels.splits)) {
    splits[split] = images.map((im) => ({
      id: id++,
      file: join(dir, im.file),
      width: im.width,
      height: im.height,
      annotations: im.objects.map((o) => ({ cls: o.cls, box: [...o.box] as [number, number, number, number], identity: o.identity })),
      colors: im.objects.map((o) => o.color),
      rle: im.objects.map((o) => o.rle),
      areas: im.objects.map((o) => o.area),
      dropped: im.dropped,
      numClasses,
      numAttributes,
    }));
  }
  return {
    name: labels.kind,
    source: dir,
    format: 'builtin',
    names: [...labels.names],
    splits,
    bad: [],
    attributes: [...labels.attributes],
    dir,
    hash: labels.hash,
    numIdentities: labels.numIdentities,
    generated,
    masks: recordMasks,
    attributeIds: (r) => [...r.colors],
    labels: recordLabels,
    loadSample: loadShapesSample,
  };
}

/** Whether `dir` holds a generated dataset (shapes or fashion, any options): its labels.json in the cache format. */
export function isInstanceCacheDir(dir: string): boolean {
  const file = join(dir, LABELS_FILE);
  if (!existsSync(file)) return false;
  try {
    const head = JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown };
    return head.format === CACHE_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Reads a generated dataset folder as it is (e.g. made with custom options by
 * `shapesDataset(dir, opts)`), with masks, attributes and identities. Errors name
 * the folder and what is wrong.
 */
export function readInstanceCache(dir: string): InstanceDataset {
  const file = join(dir, LABELS_FILE);
  let labels: CacheLabels;
  try {
    labels = JSON.parse(readFileSync(file, 'utf8')) as CacheLabels;
  } catch (err) {
    throw new Error(`${file}: cannot read the generated dataset's labels (${(err as Error).message.split('\n')[0]})`);
  }
  if (labels.format !== CACHE_FORMAT) throw new Error(`${file}: not a generated yolor-ts dataset (format ${JSON.stringify(labels.format)})`);
  if (labels.formatVersion !== CACHE_FORMAT_VERSION) {
    throw new Error(`${file}: generated-dataset format version ${labels.formatVersion}, this version reads ${CACHE_FORMAT_VERSION}: generate it again`);
  }
  for (const images of Object.values(labels.splits ?? {})) {
    for (const im of images) if (!existsSync(join(dir, im.file))) throw new Error(`${dir}: image ${im.file} listed in ${LABELS_FILE} is missing`);
  }
  return toDataset(dir, labels, false);
}

function progressStream(p: InstanceCacheSpec['progress']): NodeJS.WritableStream | null {
  if (p === false) return null;
  if (p === undefined || p === true) return process.stderr;
  return p;
}

/**
 * Returns the dataset cached in `dir` when its key matches `spec.hash`;
 * otherwise generates every image, encodes PNGs and writes the directory
 * atomically (images/<split>/<index>.png + labels.json), then returns it.
 */
export async function ensureInstanceCache(dir: string, spec: InstanceCacheSpec): Promise<InstanceDataset> {
  const root = resolve(dir);
  await recoverAtomicDir(root);
  const cached = readCacheLabels(root, spec.kind, spec.hash);
  if (cached && (!spec.acceptCached || spec.acceptCached(cached.meta ?? {}))) return toDataset(root, cached, false);

  const total = spec.splits.reduce((s, [, n]) => s + n, 0);
  const stream = progressStream(spec.progress);
  const bar = stream ? new ProgressBar({ total, label: `generating ${spec.kind}`, unit: 'img', stream }) : null;
  const files: Record<string, Uint8Array> = {};
  const labels: CacheLabels = {
    format: CACHE_FORMAT,
    formatVersion: CACHE_FORMAT_VERSION,
    kind: spec.kind,
    hash: spec.hash,
    names: spec.names,
    attributes: spec.attributes,
    numIdentities: spec.numIdentities,
    meta: spec.meta,
    splits: {},
  };
  const BATCH = 16;
  for (const [split, n] of spec.splits) {
    const out: CachedImage[] = [];
    labels.splits[split] = out;
    const digits = Math.max(6, String(Math.max(0, n - 1)).length);
    for (let start = 0; start < n; start += BATCH) {
      const jobs: Promise<void>[] = [];
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        const img = spec.generate(split, i);
        const rel = `images/${split}/${String(i).padStart(digits, '0')}.png`;
        out.push({
          file: rel,
          width: img.image.width,
          height: img.image.height,
          dropped: img.dropped,
          objects: img.objects.map((o) => ({ cls: o.cls, color: o.color, identity: o.identity, box: o.box, area: o.area, fullArea: o.fullArea, rle: o.rle })),
        });
        jobs.push(
          encodePng(img.image).then((buf) => {
            files[rel] = buf;
            bar?.tick();
          }),
        );
      }
      await Promise.all(jobs);
    }
  }
  files[LABELS_FILE] = Buffer.from(JSON.stringify(labels));
  await writeFilesAtomic(root, files);
  bar?.finish();
  return toDataset(root, labels, true);
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
    splits: [
      ['train', o.train],
      ['val', o.val],
      ['test', o.test],
    ],
    generate: (split, i) => generateShapeImage(o, templates, split, i),
    progress: opts.progress,
  });
  return { ...ds, templates, options: o };
}

/** The shapes dataset, cached in `dir` (default: $YOLOR_CACHE_DIR or ~/.cache/yolor-ts, /shapes-<hash>). */
export async function shapesDataset(dir?: string, opts: ShapesCacheOptions = {}): Promise<ShapesDataset> {
  return ensureShapesDataset(dir ?? defaultShapesDir(opts), opts);
}
