/**
 * Unlabelled images for self-supervised pretraining, decoded once and kept in
 * memory at the pretraining size (S×S RGB, bilinear resize of the whole image:
 * the aspect ratio is not kept). What they come from:
 *   - `--source DIR|FILE`: the image files of a folder (recursively) or one file;
 *     a Fashion-MNIST IDX images file (`*-images-idx3-ubyte[.gz]`: grey, made RGB);
 *     or the word `fashion-mnist` (the installed training images);
 *   - `--data D`: the images of one split (default train) of any dataset yolor-ts
 *     reads; only each record's image file is used, never its annotations.
 * A file that cannot be decoded is an error naming it (or, with skipBad, skipped and
 * counted); an empty source is an error.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { resizeRgb } from './augment/letterbox-image.js';
import { findFashionFiles } from './datasets/fashion-source.js';
import { readIdxImages } from './formats/idx.js';
import { IMAGE_EXTENSIONS } from './image-files.js';
import { decodeImage } from './image-io.js';
import { datasetSplit, loadDetectionDatasetAsync } from './resolve.js';

export interface UnlabelledImages {
  /** What they came from, for messages and the run's args. */
  source: string;
  /** Image side in pixels. */
  size: number;
  /** Each image, S×S×3 bytes. */
  pixels: Uint8Array[];
  /** Where each image came from (a file, or `IDX-file#index`). */
  names: string[];
  /** Files that could not be decoded and were skipped (skipBad). */
  skipped: Array<{ file: string; problem: string }>;
}

export interface UnlabelledOptions {
  source?: string;
  data?: string;
  /** Split of `data` (default train). */
  split?: string;
  size: number;
  /** Use at most this many images (the first N in source order). */
  limit?: number;
  skipBad?: boolean;
  /** Called after each decoded image (progress). */
  onImage?: (done: number, total: number) => void;
}

/** The image files under a folder, recursively, sorted; or the one file named. */
export function listImagesRecursive(path: string): string[] {
  const root = resolve(path);
  if (!existsSync(root)) throw new Error(`${path}: no such file or directory`);
  if (statSync(root).isFile()) return [root];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (IMAGE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) out.push(p);
    }
  };
  walk(root);
  return out;
}

const IDX_IMAGES = /-images[-.]idx3-ubyte(\.gz)?$/;

/** Grey IDX items as S×S RGB images. */
function idxImages(file: string, size: number, limit: number | undefined): { pixels: Uint8Array[]; names: string[] } {
  const idx = readIdxImages(file);
  const n = Math.min(idx.count, limit ?? idx.count);
  const px = idx.rows * idx.cols;
  const pixels: Uint8Array[] = [];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const rgb = new Uint8Array(px * 3);
    for (let k = 0; k < px; k++) {
      const v = idx.data[i * px + k]!;
      rgb[3 * k] = v;
      rgb[3 * k + 1] = v;
      rgb[3 * k + 2] = v;
    }
    pixels.push(resizeRgb({ data: rgb, width: idx.cols, height: idx.rows }, size, size).data);
    names.push(`${basename(file)}#${i}`);
  }
  return { pixels, names };
}

/** Reads and resizes the unlabelled images `opts` names. */
export async function loadUnlabelledImages(opts: UnlabelledOptions): Promise<UnlabelledImages> {
  if ((opts.source === undefined) === (opts.data === undefined)) throw new Error('pretraining images: give exactly one of --source and --data');
  if (!(Number.isInteger(opts.size) && opts.size > 0)) throw new Error(`pretraining images: size ${opts.size} is not a positive integer`);
  let files: string[];
  let source: string;
  if (opts.source !== undefined) {
    source = opts.source;
    const idxFile = opts.source === 'fashion-mnist' ? findFashionFiles().trainImages : IDX_IMAGES.test(opts.source) ? resolve(opts.source) : null;
    if (idxFile) {
      if (!existsSync(idxFile)) throw new Error(`${opts.source}: no such file`);
      const r = idxImages(idxFile, opts.size, opts.limit);
      if (!r.pixels.length) throw new Error(`${idxFile}: no images`);
      return { source: idxFile, size: opts.size, ...r, skipped: [] };
    }
    files = listImagesRecursive(opts.source);
    if (!files.length) throw new Error(`${opts.source}: no images (${IMAGE_EXTENSIONS.join(', ')}) in this folder or below`);
  } else {
    const split = opts.split ?? 'train';
    const ds = await loadDetectionDatasetAsync(opts.data!);
    source = `${opts.data} (${split} split)`;
    files = datasetSplit(ds, split).map((r) => r.file);
    if (!files.length) throw new Error(`${opts.data}: the ${split} split has no images`);
  }
  if (opts.limit !== undefined) files = files.slice(0, opts.limit);
  const pixels: Uint8Array[] = [];
  const names: string[] = [];
  const skipped: UnlabelledImages['skipped'] = [];
  for (const file of files) {
    try {
      const img = await decodeImage(file);
      pixels.push(resizeRgb(img, opts.size, opts.size).data);
      names.push(file);
    } catch (err) {
      const problem = (err as Error).message;
      if (!opts.skipBad) throw new Error(`${file}: ${problem} (--skip-bad skips unreadable images)`);
      skipped.push({ file, problem });
    }
    opts.onImage?.(pixels.length + skipped.length, files.length);
  }
  if (!pixels.length) throw new Error(`${source}: none of its ${files.length} images could be decoded`);
  return { source, size: opts.size, pixels, names, skipped };
}
