/**
 * Labelled image sets for classification (the linear probe, train/probe.ts):
 * class names and a train and a test split, each item an RGB image of a fixed
 * size × size and a class index. Three sources:
 *
 *   - Fashion-MNIST (`fashion-mnist`, found as data/datasets/fashion-source.ts
 *     finds it, or a folder holding the IDX files): the 28×28 grey items become
 *     three equal channels, resized (bilinear) to size × size; train = the 60 000
 *     train items, test = the 10 000 t10k items (a folder with only the train
 *     files is split like a one-level class folder: item i is test when i % 5 == 4).
 *   - A class-per-folder directory: `DIR/train/<class>/*.png|jpg|…` with
 *     `DIR/val/<class>/…` (or `DIR/test/<class>/…`); class names are the train
 *     folder names, sorted. Or one level, `DIR/<class>/…`, split
 *     deterministically 80/20: within each class the files are sorted by name and
 *     every fifth (the 5th, 10th, …: index % 5 == 4) is test. Images are resized
 *     so that the shorter side is `size` (bilinear, block-averaged first when
 *     shrinking) and centre-cropped to size × size.
 *   - Object crops of any detection dataset (`crops`): every box of the train
 *     split (train) and of the val split (test; `datasetSplit` falls back to test)
 *     except crowd regions, cut out as a square centred on the box whose side is
 *     the box's longer side plus a context margin (default 10 % of it on each
 *     side), grey (114) where it leaves the image, resized to size × size and
 *     labelled with the box's class.
 *
 * `limitTrain` / `limitTest` keep the first N items of a seeded shuffle (kept in
 * their original order, so the subset depends only on the seed and N). Every
 * problem (unreadable image, empty class folder, no images, no boxes) is an error
 * naming the file or folder. Decoded, resized items of the folder and crop
 * sources are kept in memory up to `cacheBytes` (default 512 MiB), so a second
 * pass over the data (another model) does not decode again.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { Rng } from '../util/rng.js';
import { PAD_VALUE, resizeRgb } from './augment/letterbox-image.js';
import { FASHION_NAMES, type FashionFiles, fashionFilesIn, findFashionFiles, loadFashionSource } from './datasets/fashion-source.js';
import type { IdxImages, IdxLabels } from './formats/idx.js';
import { IMAGE_EXTENSIONS } from './image-files.js';
import { decodeImage } from './image-io.js';
import { datasetSplit, loadDetectionDatasetAsync } from './resolve.js';
import type { RgbImage } from './types.js';

/** The `--data` word for Fashion-MNIST (its IDX files, wherever installed). */
export const FASHION_MNIST = 'fashion-mnist';

export type ClassificationKind = 'fashion-mnist' | 'folder' | 'crops';

export interface ClassificationSplit {
  readonly count: number;
  /** Class index of item i (into the data's names). */
  label(i: number): number;
  /** Where item i comes from, for messages: a file, `file box k`, or `idx-file[item]`. */
  describe(i: number): string;
  /** Item i as an RGB image of size × size. */
  image(i: number): Promise<RgbImage>;
}

export interface ClassificationData {
  kind: ClassificationKind;
  /** What was read: the folder, the IDX folder or the detection dataset's source. */
  source: string;
  names: string[];
  /** Side of every image, in pixels. */
  size: number;
  train: ClassificationSplit;
  test: ClassificationSplit;
  /** How the splits were made, in one line (for reports). */
  splitNote: string;
  /** Item counts before `limitTrain` / `limitTest`. */
  full: { train: number; test: number };
}

export interface ClassificationOptions {
  /** Side of the images handed out (pixels). */
  size: number;
  /** Object crops of a detection dataset instead of whole images. */
  crops?: boolean;
  /** Context around a crop's box, as a fraction of its longer side on each side (default 0.1). */
  cropMargin?: number;
  /** Keep the first N train / test items of a seeded shuffle. */
  limitTrain?: number;
  limitTest?: number;
  /** Seed of the limit shuffles (default 0). */
  seed?: number;
  /** Where the Fashion-MNIST IDX files are, for `fashion-mnist` (else $YOLOR_FASHION_DIR or the system folders). */
  fashionDir?: string;
  /** Memory for decoded, resized items of the folder and crop sources (default 512 MiB). */
  cacheBytes?: number;
}

const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;

/** True when `spec` (a `--data` value) names Fashion-MNIST: the word or a folder holding its IDX files. */
export function isFashionMnistSpec(spec: string): boolean {
  const path = resolve(spec);
  if (existsSync(path)) return statSync(path).isDirectory() && fashionFilesIn(path) !== null;
  return spec === FASHION_MNIST;
}

/** The first `limit` of 0 … count−1 in a seeded (Fisher–Yates) shuffle, in increasing order; all when limit ≥ count. */
export function limitIndices(count: number, limit: number | undefined, seed: number): Int32Array {
  const all = Int32Array.from({ length: count }, (_, i) => i);
  if (limit === undefined || limit >= count) return all;
  if (!(Number.isInteger(limit) && limit > 0)) throw new Error(`item limit must be a positive integer, got ${limit}`);
  const rng = new Rng(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.subarray(0, limit).sort();
}

/** The images of `indices` as one NHWC float32 batch in [0, 1] (decoding at most `concurrency` at a time). */
export async function classificationBatch(split: ClassificationSplit, indices: ArrayLike<number>, concurrency = 8): Promise<Float32Array> {
  const n = indices.length;
  const images: RgbImage[] = new Array(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const k = next++;
      images[k] = await split.image(indices[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const px = images[0] ? images[0].width * images[0].height * 3 : 0;
  const out = new Float32Array(n * px);
  images.forEach((im, k) => {
    if (im.data.length !== px)
      throw new Error(`${split.describe(indices[k]!)}: item is ${im.width}×${im.height}, the others ${images[0]!.width}×${images[0]!.height}`);
    const d = im.data;
    const o = k * px;
    for (let i = 0; i < px; i++) out[o + i] = d[i]! / 255;
  });
  return out;
}

/** The labels of a split as an array. */
export function splitLabels(split: ClassificationSplit): Int32Array {
  return Int32Array.from({ length: split.count }, (_, i) => split.label(i));
}

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/** A bounded store of decoded, resized items (no eviction: once full, later items are decoded each time). */
class ItemCache {
  private readonly items = new Map<string, RgbImage>();
  private bytes = 0;
  constructor(private readonly budget: number) {}
  async get(key: string, make: () => Promise<RgbImage>): Promise<RgbImage> {
    const hit = this.items.get(key);
    if (hit) return hit;
    const im = await make();
    if (this.bytes + im.data.length <= this.budget) {
      this.items.set(key, im);
      this.bytes += im.data.length;
    }
    return im;
  }
}

interface Item {
  label: number;
  describe: string;
}

function makeSplit<T extends Item>(items: readonly T[], load: (item: T, index: number) => Promise<RgbImage>): ClassificationSplit {
  return {
    count: items.length,
    label: (i) => items[i]!.label,
    describe: (i) => items[i]!.describe,
    image: (i) => {
      const item = items[i];
      if (!item) throw new Error(`item ${i} out of range (the split has ${items.length})`);
      return load(item, i);
    },
  };
}

function pick<T>(items: readonly T[], keep: Int32Array): T[] {
  return Array.from(keep, (i) => items[i]!);
}

/** Resizes so the shorter side is `size`, then takes the centred size × size square. */
export function resizeCenterCrop(img: RgbImage, size: number): RgbImage {
  const s = size / Math.min(img.width, img.height);
  const w = Math.max(size, Math.round(img.width * s));
  const h = Math.max(size, Math.round(img.height * s));
  const r = resizeRgb(img, w, h);
  if (w === size && h === size) return r;
  const x0 = (w - size) >> 1;
  const y0 = (h - size) >> 1;
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) data.set(r.data.subarray(((y0 + y) * w + x0) * 3, ((y0 + y) * w + x0 + size) * 3), y * size * 3);
  return { data, width: size, height: size };
}

/**
 * The square crop around box [x1, y1, x2, y2] (pixels of `img`) with `margin`
 * × its longer side of context on each side, grey outside the image, resized
 * to size × size.
 */
export function cropBox(img: RgbImage, box: readonly [number, number, number, number], margin: number, size: number): RgbImage {
  const [x1, y1, x2, y2] = box;
  const side = Math.max(1, Math.round(Math.max(x2 - x1, y2 - y1) * (1 + 2 * margin)));
  const x0 = Math.round((x1 + x2) / 2 - side / 2);
  const y0 = Math.round((y1 + y2) / 2 - side / 2);
  const data = new Uint8Array(side * side * 3).fill(PAD_VALUE);
  const cx0 = Math.max(0, x0);
  const cx1 = Math.min(img.width, x0 + side);
  for (let y = Math.max(0, y0); y < Math.min(img.height, y0 + side); y++) {
    if (cx1 <= cx0) break;
    data.set(img.data.subarray((y * img.width + cx0) * 3, (y * img.width + cx1) * 3), ((y - y0) * side + (cx0 - x0)) * 3);
  }
  return resizeRgb({ data, width: side, height: side }, size, size);
}

// ---------------------------------------------------------------------------
// Fashion-MNIST
// ---------------------------------------------------------------------------

function fashionItemImage(images: IdxImages, i: number, size: number): RgbImage {
  const { rows, cols } = images;
  const n = rows * cols;
  const grey = images.data.subarray(i * n, (i + 1) * n);
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const v = grey[p]!;
    data[p * 3] = v;
    data[p * 3 + 1] = v;
    data[p * 3 + 2] = v;
  }
  const im = { data, width: cols, height: rows };
  return cols === size && rows === size ? im : resizeRgb(im, size, size);
}

function fashionData(files: FashionFiles, opts: ClassificationOptions, seed: number): ClassificationData {
  const src = loadFashionSource(files);
  type FItem = Item & { images: IdxImages; index: number };
  const items = (part: { images: IdxImages; labels: IdxLabels }, keep: (i: number) => boolean): FItem[] => {
    const out: FItem[] = [];
    for (let i = 0; i < part.labels.count; i++) {
      if (keep(i)) out.push({ label: part.labels.data[i]!, describe: `${part.images.file}[${i}]`, images: part.images, index: i });
    }
    return out;
  };
  const train = src.test ? items(src.train, () => true) : items(src.train, (i) => i % 5 !== 4);
  const test = src.test ? items(src.test, () => true) : items(src.train, (i) => i % 5 === 4);
  const load = (it: FItem): Promise<RgbImage> => Promise.resolve(fashionItemImage(it.images, it.index, opts.size));
  return {
    kind: 'fashion-mnist',
    source: files.dir,
    names: [...FASHION_NAMES],
    size: opts.size,
    train: makeSplit(pick(train, limitIndices(train.length, opts.limitTrain, seed * 2 + 1)), load),
    test: makeSplit(pick(test, limitIndices(test.length, opts.limitTest, seed * 2 + 2)), load),
    splitNote: src.test ? 'train: the train IDX items; test: the t10k items' : 'no t10k files: item i of the train files is test when i % 5 == 4',
    full: { train: train.length, test: test.length },
  };
}

// ---------------------------------------------------------------------------
// Class-per-folder directories
// ---------------------------------------------------------------------------

function subfolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory())
    .sort();
}

/** The image files of one class folder (sorted); an error naming it when it has none. */
function classImages(dir: string): string[] {
  const files = readdirSync(dir)
    .filter((f) => !f.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`${dir}: empty class folder (no ${IMAGE_EXTENSIONS.join(', ')} images)`);
  return files;
}

type FileItem = Item & { file: string };

function folderItems(root: string, names: readonly string[], classDirs: readonly string[], where: string): FileItem[] {
  const out: FileItem[] = [];
  for (const c of classDirs) {
    const label = names.indexOf(c);
    if (label < 0) throw new Error(`${join(where, c)}: class '${c}' has no folder in ${root} (classes: ${names.join(', ')})`);
    for (const file of classImages(join(where, c))) out.push({ label, describe: file, file });
  }
  return out;
}

function folderData(root: string, opts: ClassificationOptions, seed: number): ClassificationData {
  const LAYOUT = 'expected DIR/<class>/*.png|jpg, or DIR/train/<class>/… with DIR/val/<class>/… (or DIR/test/<class>/…)';
  const trainDir = join(root, 'train');
  let train: FileItem[];
  let test: FileItem[];
  let names: string[];
  let splitNote: string;
  if (existsSync(trainDir) && statSync(trainDir).isDirectory()) {
    const testDir = ['val', 'test'].map((s) => join(root, s)).find((d) => existsSync(d) && statSync(d).isDirectory());
    if (!testDir) throw new Error(`${root}: has train/ but no val/ or test/ folder (${LAYOUT})`);
    names = subfolders(trainDir);
    if (names.length === 0) throw new Error(`${trainDir}: no class folders (${LAYOUT})`);
    train = folderItems(trainDir, names, names, trainDir);
    const testClasses = subfolders(testDir);
    if (testClasses.length === 0) throw new Error(`${testDir}: no class folders (${LAYOUT})`);
    test = folderItems(trainDir, names, testClasses, testDir);
    splitNote = `train: ${relative(root, trainDir)}/; test: ${relative(root, testDir)}/`;
  } else {
    names = subfolders(root);
    if (names.length === 0) throw new Error(`${root}: no class folders (${LAYOUT})`);
    const all = folderItems(root, names, names, root);
    const rank = new Map<number, number>();
    train = [];
    test = [];
    for (const it of all) {
      const k = rank.get(it.label) ?? 0;
      rank.set(it.label, k + 1);
      (k % 5 === 4 ? test : train).push(it);
    }
    splitNote = 'one level: within each class (files sorted by name) every fifth file is test (80/20)';
  }
  if (test.length === 0) throw new Error(`${root}: no test images (a one-level folder needs at least 5 images in a class to split off a test image)`);
  const cache = new ItemCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
  const load = (it: FileItem): Promise<RgbImage> => cache.get(it.file, async () => resizeCenterCrop(await decodeImage(it.file), opts.size));
  return {
    kind: 'folder',
    source: root,
    names,
    size: opts.size,
    train: makeSplit(pick(train, limitIndices(train.length, opts.limitTrain, seed * 2 + 1)), load),
    test: makeSplit(pick(test, limitIndices(test.length, opts.limitTest, seed * 2 + 2)), load),
    splitNote,
    full: { train: train.length, test: test.length },
  };
}

// ---------------------------------------------------------------------------
// Object crops of a detection dataset
// ---------------------------------------------------------------------------

type CropItem = Item & { file: string; width: number; height: number; box: [number, number, number, number] };

async function cropData(spec: string, opts: ClassificationOptions, seed: number): Promise<ClassificationData> {
  const ds = await loadDetectionDatasetAsync(spec);
  const margin = opts.cropMargin ?? 0.1;
  if (!(margin >= 0)) throw new Error(`crop margin must be ≥ 0, got ${margin}`);
  const items = (split: string): CropItem[] => {
    const out: CropItem[] = [];
    for (const r of datasetSplit(ds, split)) {
      r.annotations.forEach((a, k) => {
        if (a.iscrowd) return;
        if (!(a.box[2] > a.box[0] && a.box[3] > a.box[1])) return;
        out.push({
          label: a.cls,
          describe: `${r.file} box ${k} (${ds.names[a.cls] ?? a.cls})`,
          file: r.file,
          width: r.width,
          height: r.height,
          box: a.box,
        });
      });
    }
    if (out.length === 0) throw new Error(`${ds.source}: the ${split} split has no boxes to crop`);
    return out;
  };
  const train = items('train');
  const test = items('val');
  // Boxes of one image are consecutive: the last few decoded images are kept for the next boxes.
  const decoded = new Map<string, Promise<RgbImage>>();
  const decode = (file: string): Promise<RgbImage> => {
    let p = decoded.get(file);
    if (!p) {
      p = decodeImage(file);
      decoded.set(file, p);
      if (decoded.size > 16) decoded.delete(decoded.keys().next().value!);
    }
    return p;
  };
  const cache = new ItemCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
  const load = (it: CropItem): Promise<RgbImage> =>
    cache.get(it.describe, async () => {
      const img = await decode(it.file);
      // Boxes are in the pixels the dataset recorded; scale if the decoded image differs.
      const sx = img.width / (it.width || img.width);
      const sy = img.height / (it.height || img.height);
      const b: [number, number, number, number] = [it.box[0] * sx, it.box[1] * sy, it.box[2] * sx, it.box[3] * sy];
      return cropBox(img, b, margin, opts.size);
    });
  return {
    kind: 'crops',
    source: ds.source,
    names: [...ds.names],
    size: opts.size,
    train: makeSplit(pick(train, limitIndices(train.length, opts.limitTrain, seed * 2 + 1)), load),
    test: makeSplit(pick(test, limitIndices(test.length, opts.limitTest, seed * 2 + 2)), load),
    splitNote: `object crops (margin ${margin} of the longer side): train: the train split's boxes; test: the val split's boxes`,
    full: { train: train.length, test: test.length },
  };
}

// ---------------------------------------------------------------------------

/** Reads a labelled image set (see the module comment). */
export async function loadClassificationData(spec: string, opts: ClassificationOptions): Promise<ClassificationData> {
  if (!(Number.isInteger(opts.size) && opts.size > 0)) throw new Error(`image size must be a positive integer, got ${opts.size}`);
  for (const [k, v] of [
    ['limitTrain', opts.limitTrain],
    ['limitTest', opts.limitTest],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
  const seed = opts.seed ?? 0;
  if (opts.crops) return cropData(spec, opts, seed);
  const path = resolve(spec);
  if (!existsSync(path)) {
    if (spec === FASHION_MNIST) return fashionData(findFashionFiles(opts.fashionDir), opts, seed);
    throw new Error(
      `${spec}: no such folder (expected a class-per-folder directory, a folder with the Fashion-MNIST IDX files, '${FASHION_MNIST}', or a detection dataset with --crops)`,
    );
  }
  if (!statSync(path).isDirectory())
    throw new Error(
      `${spec}: not a folder (expected a class-per-folder directory or the Fashion-MNIST IDX files; a detection dataset needs --crops)`,
    );
  const fashion = fashionFilesIn(path);
  return fashion ? fashionData(fashion, opts, seed) : folderData(path, opts, seed);
}
