/**
 * Fashion-MNIST composites: 28×28 Fashion-MNIST items (10 classes), tinted
 * with a palette colour, scaled (28 → 28..112 px, bilinear) and pasted at
 * random positions on textured backgrounds (as for the shapes dataset),
 * 1–6 per image, later items occluding earlier ones.
 *
 * Labels per object, as for shapes:
 *   - class    = the item's Fashion-MNIST label;
 *   - box      = bounding box of the scaled item's pixels above `threshold`
 *                (occluded parts included, clipped to the image);
 *   - mask     = its visible pixels above `threshold`;
 *   - color    = the tint (colour attribute);
 *   - identity = the source item index (train-file index; items from the
 *                t10k file are numbered after the train file's items).
 * Item pixels above the threshold are opaque: colour = tint × (0.3 + 0.7·v/255);
 * the rest of the item's square shows the background.
 *
 * Identities: the train split draws its items from a pool of `trainItems`
 * items of the train file, val and test from disjoint pools of `evalItems`
 * items (from the t10k file when present), so each item reappears across
 * images while val/test items are unseen in training.
 *
 * The IDX files come from the `fashionDir` option, $YOLOR_FASHION_DIR, or
 * the Debian package `dataset-fashion-mnist` (see ./fashion-source.ts).
 */
import { join } from 'node:path';
import { Rng } from '../../util/rng.js';
import type { IdxImages, IdxLabels } from '../formats/idx.js';
import type { RgbImage } from '../types.js';
import { paintBackground } from './backgrounds.js';
import {
  FASHION_NAMES,
  type FashionFiles,
  type FashionSource,
  fashionMissingMessage,
  findFashionFiles,
  loadFashionSource,
} from './fashion-source.js';
import { imageSeed, optionsHash } from './hashing.js';
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

/** Same loader as shapes: decodes the PNG and returns masks, identities and multi-hot labels. */
export const loadFashionSample = loadInstanceSample;

// ---------------------------------------------------------------------------
// Options and generation
// ---------------------------------------------------------------------------

export interface FashionOptions {
  /** Default 0. */
  seed?: number;
  /** Image side in pixels (square). Default 256. */
  size?: number;
  /** Images per split. Defaults 1000 / 200 / 200. */
  train?: number;
  val?: number;
  test?: number;
  /** Items per image. Defaults 1 and 6. */
  minObjects?: number;
  maxObjects?: number;
  /** Pasted item width range in pixels (28 = original size). Defaults 28 and 112. */
  minScale?: number;
  maxScale?: number;
  /** Item pixels above this (0–255, after scaling) are the item. Default 24. */
  threshold?: number;
  /** Items whose visible fraction is below this are not labelled. Default 0.25. */
  minVisible?: number;
  /** Distinct source items used by the train split (identities). Default 1000. */
  trainItems?: number;
  /** Distinct source items used by each of val and test. Default 200. */
  evalItems?: number;
}

export type ResolvedFashionOptions = Required<FashionOptions>;

export const FASHION_VERSION = 1;

export const FASHION_DEFAULTS: ResolvedFashionOptions = {
  seed: 0,
  size: 256,
  train: 1000,
  val: 200,
  test: 200,
  minObjects: 1,
  maxObjects: 6,
  minScale: 28,
  maxScale: 112,
  threshold: 24,
  minVisible: 0.25,
  trainItems: 1000,
  evalItems: 200,
};

export function resolveFashionOptions(opts: FashionOptions = {}): ResolvedFashionOptions {
  const o = withDefaults(FASHION_DEFAULTS, opts);
  checkInt('fashion seed', o.seed, 0, 0xffffffff);
  checkInt('fashion size', o.size, 16, 4096);
  checkInt('fashion train', o.train, 0);
  checkInt('fashion val', o.val, 0);
  checkInt('fashion test', o.test, 0);
  checkInt('fashion minObjects', o.minObjects, 1, 1000);
  checkInt('fashion maxObjects', o.maxObjects, o.minObjects, 1000);
  checkInt('fashion minScale', o.minScale, 4, 4096);
  checkInt('fashion maxScale', o.maxScale, o.minScale, 4096);
  checkInt('fashion threshold', o.threshold, 0, 254);
  if (!(o.minVisible >= 0 && o.minVisible <= 1)) throw new Error(`fashion minVisible must be in [0, 1]; got ${o.minVisible}`);
  checkInt('fashion trainItems', o.trainItems, 1);
  checkInt('fashion evalItems', o.evalItems, 1);
  return o;
}

export function fashionHash(o: ResolvedFashionOptions): string {
  return optionsHash({ generator: 'fashion', version: FASHION_VERSION, ...o });
}

/** `k` distinct integers from [0, n) in random order (partial Fisher–Yates), excluding `exclude`. */
function sampleIndices(rng: Rng, n: number, k: number, exclude?: Set<number>): number[] {
  const all: number[] = [];
  for (let i = 0; i < n; i++) if (!exclude?.has(i)) all.push(i);
  const m = Math.min(k, all.length);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng.next() * (all.length - i));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, m);
}

/** One pool entry: where the item's pixels are and its label / identity. */
interface PoolItem {
  data: Uint8Array;
  offset: number;
  label: number;
  identity: number;
}

export interface FashionPools {
  train: PoolItem[];
  val: PoolItem[];
  test: PoolItem[];
  rows: number;
  cols: number;
}

/** Item pools per split (see the module comment); deterministic from the seed. */
export function fashionPools(src: FashionSource, o: ResolvedFashionOptions): FashionPools {
  const rng = new Rng(imageSeed(o.seed, 'fashion-pools', 0));
  const { rows, cols } = src.train.images;
  const px = rows * cols;
  const item = (part: { images: IdxImages; labels: IdxLabels }, i: number, idOffset: number): PoolItem => ({
    data: part.images.data,
    offset: i * px,
    label: part.labels.data[i]!,
    identity: idOffset + i,
  });
  const nTrain = src.train.images.count;
  const trainIdx = sampleIndices(rng, nTrain, o.trainItems);
  const train = trainIdx.map((i) => item(src.train, i, 0));
  let val: PoolItem[];
  let test: PoolItem[];
  if (src.test) {
    const t = src.test;
    const valIdx = sampleIndices(rng, t.images.count, o.evalItems);
    const testIdx = sampleIndices(rng, t.images.count, o.evalItems, new Set(valIdx));
    val = valIdx.map((i) => item(t, i, nTrain));
    test = (testIdx.length ? testIdx : valIdx).map((i) => item(t, i, nTrain));
  } else {
    const used = new Set(trainIdx);
    const valIdx = sampleIndices(rng, nTrain, o.evalItems, used);
    valIdx.forEach((i) => {
      used.add(i);
    });
    const testIdx = sampleIndices(rng, nTrain, o.evalItems, used);
    // Tiny sources may have nothing left: fall back to the train pool rather than fail.
    val = (valIdx.length ? valIdx : trainIdx).map((i) => item(src.train, i, 0));
    test = (testIdx.length ? testIdx : valIdx.length ? valIdx : trainIdx).map((i) => item(src.train, i, 0));
  }
  if (train.length === 0) throw new Error(`${src.files.trainImages}: no items`);
  return { train, val, test, rows, cols };
}

/** Bilinear resize of a rows×cols uint8 item to h×w (pixel-centre aligned). */
function resizeItem(src: Uint8Array, offset: number, rows: number, cols: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  const sx = cols / w;
  const sy = rows / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(rows - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(rows - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(cols - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(cols - 1, x0 + 1);
      const wx = fx - x0;
      const a = src[offset + y0 * cols + x0]!;
      const b = src[offset + y0 * cols + x1]!;
      const c = src[offset + y1 * cols + x0]!;
      const d = src[offset + y1 * cols + x1]!;
      const top = a + (b - a) * wx;
      const bot = c + (d - c) * wx;
      out[y * w + x] = Math.round(top + (bot - top) * wy);
    }
  }
  return out;
}

/** The colour of an item pixel of intensity `v` tinted with palette colour `color`. */
export function tintedPixel(color: number, v: number): [number, number, number] {
  const c = PALETTE[color]!;
  const f = 0.3 + (0.7 * v) / 255;
  return [Math.round(c[0] * f), Math.round(c[1] * f), Math.round(c[2] * f)];
}

let tintLut: Uint8Array | null = null;

/** `tintedPixel` for every colour × intensity: (color × 256 + v) × 3 → RGB. */
function tintTable(): Uint8Array {
  if (!tintLut) {
    tintLut = new Uint8Array(PALETTE.length * 256 * 3);
    for (let c = 0; c < PALETTE.length; c++) for (let v = 0; v < 256; v++) tintLut.set(tintedPixel(c, v), (c * 256 + v) * 3);
  }
  return tintLut;
}

/** Image `index` of `split`: deterministic from (options, source items, split, index). */
export function generateFashionImage(o: ResolvedFashionOptions, pools: FashionPools, split: string, index: number): InstanceImage {
  const pool = split === 'train' ? pools.train : split === 'val' ? pools.val : split === 'test' ? pools.test : pools.train;
  const rng = new Rng(imageSeed(o.seed, `fashion-${split}`, index));
  const W = o.size;
  const H = o.size;
  const image: RgbImage = { data: new Uint8Array(W * H * 3), width: W, height: H };
  paintBackground(image, rng);
  const owner = new Int16Array(W * H).fill(-1);
  const shade = new Uint8Array(W * H);
  const count = rng.int(o.minObjects, o.maxObjects);
  const painted: PaintedObject[] = [];
  for (let k = 0; k < count; k++) {
    const item = rng.pick(pool);
    const color = rng.int(0, COLOR_NAMES.length - 1);
    const w = rng.int(o.minScale, o.maxScale);
    const h = Math.max(1, Math.round((w * pools.rows) / pools.cols));
    const pix = resizeItem(item.data, item.offset, pools.rows, pools.cols, w, h);
    // Up to a quarter of the item's square may hang over each border.
    const x0 = Math.round(-w / 4 + rng.next() * Math.max(0, W - w / 2));
    const y0 = Math.round(-h / 4 + rng.next() * Math.max(0, H - h / 2));
    let full = 0;
    let bx1 = Infinity;
    let by1 = Infinity;
    let bx2 = -Infinity;
    let by2 = -Infinity;
    for (let y = 0; y < h; y++) {
      const iy = y0 + y;
      const inRow = iy >= 0 && iy < H;
      for (let x = 0; x < w; x++) {
        const v = pix[y * w + x]!;
        if (v <= o.threshold) continue;
        full++;
        const ix = x0 + x;
        if (!inRow || ix < 0 || ix >= W) continue;
        const p = iy * W + ix;
        owner[p] = k;
        shade[p] = v;
        if (ix < bx1) bx1 = ix;
        if (ix + 1 > bx2) bx2 = ix + 1;
        if (iy < by1) by1 = iy;
        if (iy + 1 > by2) by2 = iy + 1;
      }
    }
    painted.push({ cls: item.label, color, identity: item.identity, box: bx2 > bx1 ? [bx1, by1, bx2, by2] : null, fullArea: full });
  }
  const data = image.data;
  const lut = tintTable();
  for (let i = 0; i < owner.length; i++) {
    const k = owner[i]!;
    if (k < 0) continue;
    const l = (painted[k]!.color * 256 + shade[i]!) * 3;
    data[i * 3] = lut[l]!;
    data[i * 3 + 1] = lut[l + 1]!;
    data[i * 3 + 2] = lut[l + 2]!;
  }
  const { objects, dropped } = labelObjects(owner, W, H, painted, o.minVisible);
  return { image, objects, dropped };
}

export interface FashionSourceOptions {
  /** Folder with the IDX files (else $YOLOR_FASHION_DIR, else the system package). */
  fashionDir?: string;
}

export interface GeneratedFashion {
  names: string[];
  colors: string[];
  options: ResolvedFashionOptions;
  hash: string;
  files: FashionFiles;
  splits: { train: InstanceImage[]; val: InstanceImage[]; test: InstanceImage[] };
}

/** Generates the whole dataset in memory (no cache). */
export function generateFashion(opts: FashionOptions & FashionSourceOptions = {}): GeneratedFashion {
  const o = resolveFashionOptions(opts);
  const src = loadFashionSource(findFashionFiles(opts.fashionDir));
  const pools = fashionPools(src, o);
  const gen = (split: 'train' | 'val' | 'test'): InstanceImage[] =>
    Array.from({ length: o[split] }, (_, i) => generateFashionImage(o, pools, split, i));
  return {
    names: [...FASHION_NAMES],
    colors: [...COLOR_NAMES],
    options: o,
    hash: fashionHash(o),
    files: src.files,
    splits: { train: gen('train'), val: gen('val'), test: gen('test') },
  };
}

// ---------------------------------------------------------------------------
// Cached dataset
// ---------------------------------------------------------------------------

export interface FashionCacheOptions extends FashionOptions, FashionSourceOptions {
  /** Progress bar on stderr (default), on a given stream, or none (false). */
  progress?: boolean | NodeJS.WritableStream;
}

export interface FashionDataset extends InstanceDataset {
  options: ResolvedFashionOptions;
}

/** <cacheRoot>/fashion-<hash of the options>. */
export function defaultFashionDir(opts: FashionOptions = {}): string {
  return join(cacheRoot(), `fashion-${fashionHash(resolveFashionOptions(opts))}`);
}

/**
 * Generates the composites into `dir` on first use (or when the options or the
 * source data changed) and reads them from there afterwards. A valid cache is
 * used even when the IDX files are no longer installed, unless `fashionDir`
 * or $YOLOR_FASHION_DIR names a folder without them.
 */
export async function ensureFashionDataset(dir: string, opts: FashionCacheOptions = {}): Promise<FashionDataset> {
  const o = resolveFashionOptions(opts);
  let located: FashionFiles | null = null;
  let missing: Error | null = null;
  try {
    located = findFashionFiles(opts.fashionDir);
  } catch (err) {
    if (opts.fashionDir ?? process.env.YOLOR_FASHION_DIR) throw err;
    missing = err as Error;
  }
  let src: FashionSource | null = null;
  const source = (): FashionSource => {
    if (!src) {
      if (!located) throw missing ?? new Error(fashionMissingMessage([]));
      src = loadFashionSource(located);
    }
    return src;
  };
  let pools: FashionPools | null = null;
  const ds = await ensureInstanceCache(dir, {
    kind: 'fashion',
    hash: fashionHash(o),
    names: [...FASHION_NAMES],
    attributes: [...COLOR_NAMES],
    get numIdentities() {
      return located ? source().train.images.count + (source().test?.images.count ?? 0) : 0;
    },
    get meta() {
      return { options: o, version: FASHION_VERSION, source: source().fingerprint, files: located };
    },
    splits: standardSplits(o),
    generate: (split, i) => {
      pools ??= fashionPools(source(), o);
      return generateFashionImage(o, pools, split, i);
    },
    progress: opts.progress,
    acceptCached: (meta) => !located || meta.source === source().fingerprint,
  });
  return { ...ds, options: o };
}

/** The Fashion-MNIST composites, cached in `dir` (default: $YOLOR_CACHE_DIR or ~/.cache/yolor-ts, /fashion-<hash>). */
export async function fashionDataset(dir?: string, opts: FashionCacheOptions = {}): Promise<FashionDataset> {
  return ensureFashionDataset(dir ?? defaultFashionDir(opts), opts);
}
