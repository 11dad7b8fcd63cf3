/**
 * COCO instances reader (the *dataset* side; src/eval/coco-json.ts reads COCO
 * for evaluation and is where the JSON-with-positions parser comes from).
 *
 * - images: `file_name` is resolved against, in order, `opts.imageDir` (only
 *   that, when given), `images/` next to the JSON, the JSON's folder, and the
 *   official / Ultralytics COCO layouts (`../<split>/`, `../images/<split>/`,
 *   `../images/`, `../`). An absolute `file_name` is used as is. An image entry
 *   without `file_name`, or whose file is in none of those places, is reported
 *   ('skipped') and left out together with its annotations.
 * - annotations: bbox [x, y, w, h] → xyxy pixels, checked and clipped with
 *   validateBox like every format; `iscrowd`; the non-standard `difficult: 1`
 *   this package writes for VOC's difficult flag; `segmentation` (polygons,
 *   compressed and uncompressed RLE) is kept on the annotation
 *   (SegmentedAnnotation) and `cocoMask` turns it into a binary mask.
 * - categories: class indices are contiguous in category-id order (numbers
 *   first, then string ids); names from `name`. The ids themselves need not be
 *   contiguous ([1, 3, 7] gives classes 0, 1, 2) and are kept as the dataset's
 *   `categoryIds`, and each image's own `id` as its record's `cocoId`, so that
 *   results can be written in the JSON's ids (`predict --save-json`).
 * - bad input: malformed JSON throws `FILE:LINE:COL: malformed JSON: ...`; a JSON
 *   that is not an instances file throws; every bad entry (unknown image_id or
 *   category_id, bad bbox, bad image entry) is reported in `bad` and dropped.
 * - image sizes: from `width`/`height`; where missing, `readCoco` reads them
 *   from the image header (sharp, orientation-aware) while `readCocoSync`
 *   reports the image as skipped.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { readJsonFile } from '../../../io/json.js';
import { readImageSize } from '../../image-io.js';
import type { BadInput, DetectionDataset, ImageRecord } from '../../types.js';
import { mapLimit, validateBox } from '../reading.js';
import type { CocoSegmentation, SegmentedAnnotation } from './segmentation.js';

export interface CocoReadOptions {
  /** Folder the images' `file_name`s are relative to (default: searched, see the module comment). */
  imageDir?: string;
  /** Concurrency of image-header reads for images without width/height (default 16). */
  concurrency?: number;
  /** The already-parsed content of `path` when it is a JSON file (saves reading it twice). */
  json?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The split a COCO file name stands for: instances_val2017.json → 'val'; other names → the stem. */
export function cocoSplitName(file: string): string {
  const stem = basename(file, extname(file)).replace(/^instances_/, '');
  const m = /^(train|val|test|minival|trainval|valminusminival)(?:\d{4})?$/.exec(stem);
  return m ? m[1]! : stem;
}

/** Throws unless `raw` looks like a COCO instances object (the message says what it is instead). */
export function checkCocoInstances(raw: unknown, source: string): asserts raw is Obj {
  if (Array.isArray(raw)) {
    throw new Error(`${source}: a JSON array (a detection results file?), not a COCO instances file with 'images'/'annotations'/'categories'`);
  }
  if (!isObj(raw) || !('images' in raw || 'annotations' in raw || 'categories' in raw)) {
    throw new Error(`${source}: JSON without 'images'/'annotations'/'categories': not a COCO instances file`);
  }
  for (const key of ['images', 'categories'] as const) {
    if (!(key in raw)) throw new Error(`${source}: not a COCO instances file: no '${key}' array`);
  }
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (key in raw && !Array.isArray(raw[key])) throw new Error(`${source}: '${key}' must be an array, got ${show(raw[key])}`);
  }
}

export { readJsonFile } from '../../../io/json.js';

interface CategoryEntry {
  id: number | string;
  name: string;
}

function compareIds(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Categories of one instances object, reporting (and leaving out) entries without a usable id. */
function readCategories(raw: Obj, source: string, bad: BadInput[]): CategoryEntry[] {
  const out: CategoryEntry[] = [];
  const seen = new Set<number | string>();
  (raw.categories as unknown[]).forEach((c, i) => {
    const where = `categories[${i}]`;
    if (!isObj(c) || !isId(c.id)) {
      bad.push({ file: source, problem: `${where}: no usable 'id' (${show(c)})`, action: 'skipped' });
      return;
    }
    if (seen.has(c.id)) {
      bad.push({ file: source, problem: `${where}: duplicate category id ${show(c.id)}`, action: 'skipped' });
      return;
    }
    seen.add(c.id);
    out.push({ id: c.id, name: typeof c.name === 'string' && c.name !== '' ? c.name : `class${String(c.id)}` });
  });
  return out;
}

/** Where images of a COCO file are looked for, most likely first. */
function imageDirCandidates(jsonPath: string, opts: CocoReadOptions): string[] {
  if (opts.imageDir) return [resolve(opts.imageDir)];
  const dir = dirname(jsonPath);
  const stem = basename(jsonPath, extname(jsonPath)).replace(/^instances_/, '');
  const up = dirname(dir);
  return [...new Set([join(dir, 'images'), dir, join(up, stem), join(up, 'images', stem), join(up, 'images'), up])];
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export interface CocoParseResult {
  dataset: DetectionDataset;
  /** Records whose width/height were not in the JSON (0 until filled). */
  needSize: ImageRecord[];
}

/**
 * The synchronous core: one or more parsed instances objects (one per split) →
 * a dataset. `categories` is the union over all files, so several split files
 * share one class list.
 */
export function cocoToDataset(
  files: { path: string; split: string; raw: unknown }[],
  name: string,
  source: string,
  opts: CocoReadOptions = {},
): CocoParseResult {
  const bad: BadInput[] = [];
  const cats = new Map<number | string, string>();
  for (const f of files) {
    checkCocoInstances(f.raw, f.path);
    for (const c of readCategories(f.raw, f.path, bad)) if (!cats.has(c.id)) cats.set(c.id, c.name);
  }
  const catIds = [...cats.keys()].sort(compareIds);
  const clsOf = new Map(catIds.map((id, i) => [id, i]));
  const names = catIds.map((id) => cats.get(id)!);
  const splits: Record<string, ImageRecord[]> = {};
  const needSize: ImageRecord[] = [];
  let nextId = 0;
  for (const f of files) {
    const raw = f.raw as Obj;
    const dirs = imageDirCandidates(f.path, opts);
    let lastDir = 0;
    const byId = new Map<number | string, ImageRecord | null>();
    const list: ImageRecord[] = [];
    const annCount = new Map<number | string, number>();
    for (const a of (raw.annotations ?? []) as unknown[]) {
      if (isObj(a) && isId(a.image_id)) annCount.set(a.image_id, (annCount.get(a.image_id) ?? 0) + 1);
    }
    const unused = (id: number | string): string => {
      const n = annCount.get(id) ?? 0;
      return n > 0 ? ` (its ${n} annotation${n === 1 ? ' is' : 's are'} not used)` : '';
    };
    (raw.images as unknown[]).forEach((im, i) => {
      const where = `images[${i}]`;
      if (!isObj(im) || !isId(im.id)) {
        bad.push({ file: f.path, problem: `${where}: no usable 'id' (${show(im)})`, action: 'skipped' });
        return;
      }
      const what = `${where} (id ${show(im.id)})`;
      if (byId.has(im.id)) {
        bad.push({ file: f.path, problem: `${what}: duplicate image id; the first entry is used`, action: 'skipped' });
        return;
      }
      byId.set(im.id, null);
      if (typeof im.file_name !== 'string' || im.file_name === '') {
        bad.push({ file: f.path, problem: `${what}: no 'file_name'${unused(im.id)}`, action: 'skipped' });
        return;
      }
      let file: string | undefined;
      if (isAbsolute(im.file_name)) {
        if (isFile(im.file_name)) file = im.file_name;
      } else {
        for (let k = 0; k < dirs.length && file === undefined; k++) {
          const d = (lastDir + k) % dirs.length;
          const p = join(dirs[d]!, im.file_name);
          if (isFile(p)) {
            file = p;
            lastDir = d;
          }
        }
      }
      if (file === undefined) {
        const looked = isAbsolute(im.file_name) ? '' : ` (looked in ${dirs.join(', ')})`;
        bad.push({ file: f.path, problem: `${what}: image file '${im.file_name}' not found${looked}${unused(im.id)}`, action: 'skipped' });
        return;
      }
      const w = im.width,
        h = im.height;
      const sized = typeof w === 'number' && typeof h === 'number' && w > 0 && h > 0;
      const rec: ImageRecord = {
        id: typeof im.id === 'number' ? im.id : nextId,
        cocoId: im.id,
        file,
        width: sized ? w : 0,
        height: sized ? h : 0,
        annotations: [],
      };
      nextId = Math.max(nextId, rec.id + 1);
      if (!sized) needSize.push(rec);
      byId.set(im.id, rec);
      list.push(rec);
    });
    ((raw.annotations ?? []) as unknown[]).forEach((a, i) => {
      let where = `annotations[${i}]`;
      if (!isObj(a)) {
        bad.push({ file: f.path, problem: `${where}: expected an object, got ${show(a)}`, action: 'dropped' });
        return;
      }
      if (a.id !== undefined) where += ` (id ${show(a.id)})`;
      if (!isId(a.image_id) || !byId.has(a.image_id)) {
        bad.push({ file: f.path, problem: `${where}: image_id ${show(a.image_id)} is not in 'images'`, action: 'dropped' });
        return;
      }
      const rec = byId.get(a.image_id);
      if (!rec) return; // its image was skipped; reported there with the annotation count
      const cls = isId(a.category_id) ? clsOf.get(a.category_id) : undefined;
      if (cls === undefined) {
        bad.push({ file: f.path, problem: `${where}: category_id ${show(a.category_id)} is not in 'categories'`, action: 'dropped' });
        return;
      }
      const b = a.bbox;
      if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        bad.push({ file: f.path, problem: `${where}: bbox must be [x, y, width, height] (4 finite numbers), got ${show(b)}`, action: 'dropped' });
        return;
      }
      const [x, y, bw, bh] = b as number[];
      const xyxy: [number, number, number, number] = [x!, y!, x! + bw!, y! + bh!];
      let box: [number, number, number, number] | null = xyxy;
      if (!(bw! > 0) || !(bh! > 0)) {
        bad.push({ file: f.path, problem: `${where}: bbox ${show(b)} has non-positive width or height`, action: 'dropped' });
        return;
      }
      if (rec.width > 0) box = validateBox(xyxy, rec.width, rec.height, where, bad, f.path);
      if (!box) return;
      const ann: SegmentedAnnotation = { cls, box };
      if (a.iscrowd === 1 || a.iscrowd === true) ann.iscrowd = true;
      if (a.difficult === 1 || a.difficult === true) ann.difficult = true;
      const seg = parseSegmentation(a.segmentation);
      if (seg === 'bad') {
        bad.push({
          file: f.path,
          problem: `${where}: segmentation is neither polygons nor RLE (${show(a.segmentation)}); kept the box only`,
          action: 'dropped',
        });
      } else if (seg) {
        ann.segmentation = seg;
      }
      rec.annotations.push(ann);
    });
    splits[f.split] = list;
  }
  if (!('all' in splits)) {
    const seen = new Set<string>();
    const all: ImageRecord[] = [];
    for (const list of Object.values(splits)) {
      for (const r of list) {
        if (!seen.has(r.file)) {
          seen.add(r.file);
          all.push(r);
        }
      }
    }
    splits.all = all;
  }
  return { dataset: { name, source, format: 'coco', names, categoryIds: catIds, splits, bad }, needSize };
}

/** Polygons, RLE, nothing (undefined / empty list) or 'bad'. */
function parseSegmentation(v: unknown): CocoSegmentation | undefined | 'bad' {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    if (v.every((p) => Array.isArray(p) && p.length >= 6 && p.length % 2 === 0 && p.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
      return v as number[][];
    }
    return 'bad';
  }
  if (isObj(v) && Array.isArray(v.size) && v.size.length === 2 && v.size.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
    const counts = v.counts;
    if (typeof counts === 'string' || (Array.isArray(counts) && counts.every((x) => Number.isInteger(x) && (x as number) >= 0))) {
      return { size: [v.size[0] as number, v.size[1] as number], counts: counts as string | number[] };
    }
  }
  return 'bad';
}

/** Image sizes for records the JSON gave none: read from headers, or reported and left out. */
async function fillSizes(res: CocoParseResult, concurrency: number): Promise<DetectionDataset> {
  const failed = new Set<ImageRecord>();
  await mapLimit(res.needSize, concurrency, async (rec) => {
    try {
      const s = await readImageSize(rec.file);
      rec.width = s.width;
      rec.height = s.height;
    } catch (err) {
      failed.add(rec);
      res.dataset.bad.push({
        file: rec.file,
        problem: `cannot read the image size: ${(err as Error).message.replace(`${rec.file}: `, '')}`,
        action: 'skipped',
      });
    }
  });
  for (const rec of res.needSize) {
    if (failed.has(rec)) continue;
    rec.annotations = rec.annotations.filter((a, i) => {
      const box = validateBox(a.box, rec.width, rec.height, `annotation ${i} of image id ${rec.id}`, res.dataset.bad, rec.file);
      if (box) a.box = box;
      return box !== null;
    });
  }
  return dropRecords(res.dataset, failed);
}

function dropRecords(ds: DetectionDataset, drop: Set<ImageRecord>): DetectionDataset {
  if (drop.size === 0) return ds;
  for (const k of Object.keys(ds.splits)) ds.splits[k] = ds.splits[k]!.filter((r) => !drop.has(r));
  return ds;
}

/** The instances JSON files of a COCO folder: `instances_*.json` in it or in its `annotations/`. */
export function cocoDirFiles(dir: string): string[] {
  for (const d of [dir, join(dir, 'annotations')]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    const files = readdirSync(d)
      .filter((f) => /^instances_.+\.json$/.test(f))
      .sort();
    if (files.length > 0) return files.map((f) => join(d, f));
  }
  return [];
}

function cocoSources(path: string): { files: { path: string; split: string }[]; name: string } {
  const p = resolve(path);
  if (statSync(p).isDirectory()) {
    const files = cocoDirFiles(p);
    if (files.length === 0) throw new Error(`${path}: a folder without instances_*.json (in it or in annotations/): not a COCO dataset folder`);
    return { files: files.map((f) => ({ path: f, split: cocoSplitName(f) })), name: basename(p) };
  }
  const split = cocoSplitName(p);
  return { files: [{ path: p, split }], name: basename(p, extname(p)) };
}

function parseSources(path: string, opts: CocoReadOptions): CocoParseResult {
  const { files, name } = cocoSources(path);
  const single = files.length === 1 && files[0]!.path === resolve(path);
  return cocoToDataset(
    files.map((f) => ({ ...f, raw: single && opts.json !== undefined ? opts.json : readJsonFile(f.path) })),
    name,
    resolve(path),
    opts,
  );
}

/**
 * Reads a COCO instances JSON file, or a folder of `instances_<split>.json`
 * files (one split each). Missing image sizes are read from the image headers.
 */
export async function readCoco(path: string, opts: CocoReadOptions = {}): Promise<DetectionDataset> {
  return fillSizes(parseSources(path, opts), opts.concurrency ?? 16);
}

/** readCoco without reading image headers: images without width/height in the JSON are reported and left out. */
export function readCocoSync(path: string, opts: CocoReadOptions = {}): DetectionDataset {
  const res = parseSources(path, opts);
  for (const rec of res.needSize) {
    res.dataset.bad.push({
      file: rec.file,
      problem: 'no width/height in the COCO JSON (the synchronous reader does not open images)',
      action: 'skipped',
    });
  }
  return dropRecords(res.dataset, new Set(res.needSize));
}
