/**
 * Writes a DetectionDataset as COCO, YOLO (Ultralytics) or Pascal VOC, so that
 * reading the output back gives the same images, boxes, classes and splits.
 *
 * The output is self-contained: every image is in it, hard-linked to the
 * source file where both are on one file system (no extra space; editing one
 * edits both), else — or with `images: 'copy'` — copied; never a symbolic link
 * (one into a cache or a source folder breaks when that moves or is deleted,
 * and when the output is shared). Every reference in the output is relative, so
 * the folder can be moved, archived or shared as it is:
 *   - COCO (the official and Ultralytics COCO layout): `images/<split>/<file>`
 *     and `annotations/instances_<split>.json` whose `file_name`s are relative
 *     to that split's image folder (pycocotools-style `join(img_dir,
 *     file_name)`). An image in several splits (VOC's trainval, say) is stored
 *     once, in the folder of the first of train, val, test and then the other
 *     splits that has it; the later splits' `file_name` is `../<that split>/<file>`
 *     (every split's folder exists, so such a path opens). Image ids are the
 *     source's own where they are unique integers (a COCO source keeps its
 *     ids), else 1..n; category ids are a COCO source's own, else 1..nc in
 *     class order, as in real COCO files.
 *   - YOLO: `images/<stem><ext>`, `labels/<stem>.txt` (labels are found by
 *     replacing `/images/` with `/labels/` in the image path), one list file
 *     `<split>.txt` of `./images/...` per split, and `data.yaml` (no `path:`, so
 *     the root is the YAML's folder).
 *   - VOC: `JPEGImages/<stem><ext>`, `Annotations/<stem>.xml`,
 *     `ImageSets/Main/<split>.txt` and `classes.txt` (the class order; VOC has none).
 * File names are made unique (`name_1`, ...) where two images of one output folder would share one.
 *
 * What each format keeps:
 *   - boxes: COCO exact (JSON doubles); YOLO normalised with 8 decimals (error
 *     below 1e-3 px for images up to 10^5 px); VOC integer pixels: each
 *     coordinate rounded to the nearest integer (at most 0.5 px off), except
 *     that a box rounded to zero width or height is widened to 1 px.
 *   - difficult: VOC `<difficult>`; COCO a non-standard `"difficult": 1` on the
 *     annotation (pycocotools ignores it); YOLO the `yolor_flags` JSON named in
 *     data.yaml.
 *   - iscrowd: COCO `iscrowd`; YOLO `yolor_flags`; VOC has no crowd regions: such
 *     objects are written with `<difficult>1</difficult>` (also ignored by
 *     evaluation) plus an `<iscrowd>1</iscrowd>` element, and a note says so.
 *   - segmentation: COCO only (YOLO and VOC writes keep the box; a note says so).
 * Splits: every split except 'all', and 'all' itself only where it has images
 * that no other split has (readers rebuild 'all' as the union).
 *
 * The output folder is written beside itself and renamed into place, so a
 * failed conversion leaves no half-written dataset; an existing non-empty
 * folder is replaced only with `overwrite`.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import type { DetectionDataset, ImageRecord } from '../types.js';
import { segmentationArea, type SegmentedAnnotation } from './coco.js';

export type WritableFormat = 'coco' | 'yolo' | 'voc';

export interface WriteOptions {
  /** 'link' (default): hard links where possible, else copies; 'copy': always copies (see the module comment). */
  images?: 'link' | 'copy';
  /** Replace an existing non-empty output folder. */
  overwrite?: boolean;
}

export interface WriteResult {
  format: WritableFormat;
  /** The output folder (absolute). */
  dir: string;
  /** What to pass as `--data` to read it back. */
  entry: string;
  images: number;
  annotations: number;
  /** Images per written split. */
  splits: Record<string, number>;
  /** Things the format could not keep, images that were missing, ... */
  notes: string[];
}

// ---------------------------------------------------------------- shared

/** The splits a writer writes: all but 'all', plus 'all' where it holds images no other split has. */
export function splitsToWrite(ds: DetectionDataset): [string, ImageRecord[]][] {
  const named = Object.entries(ds.splits).filter(([k]) => k !== 'all');
  const all = ds.splits['all'];
  if (!all) return named;
  const covered = new Set(named.flatMap(([, l]) => l.map((r) => r.file)));
  return all.some((r) => !covered.has(r.file)) || named.length === 0 ? [...named, ['all', all]] : named;
}

interface Entry {
  rec: ImageRecord;
  stem: string;
  ext: string;
}

/** `file`'s stem, with `_1`, `_2`, ... added where `used` (lower-cased stems) already has it; adds the result to `used`. */
function uniqueStem(file: string, used: Set<string>): { stem: string; ext: string } {
  const ext = extname(file);
  const base = basename(file, ext) || 'image';
  let stem = base;
  for (let n = 1; used.has(stem.toLowerCase()); n++) stem = `${base}_${n}`;
  used.add(stem.toLowerCase());
  return { stem, ext: ext || '.jpg' };
}

/** Every distinct image (by file) of the dataset, with a file stem unique in the dataset. */
function uniqueImages(ds: DetectionDataset): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const used = new Set<string>();
  for (const list of Object.values(ds.splits)) {
    for (const rec of list) {
      if (!out.has(rec.file)) out.set(rec.file, { rec, ...uniqueStem(rec.file, used) });
    }
  }
  return out;
}

function countAnnotations(images: Iterable<Entry>): number {
  let n = 0;
  for (const e of images) n += e.rec.annotations.length;
  return n;
}

/** A staging folder beside `dir`; `commit` renames it into place. */
class Staging {
  readonly target: string;
  readonly temp: string;
  readonly missing: string[] = [];
  /** Why hard-linking failed (then every image is copied), or null. */
  private linkFailed: string | null = null;

  constructor(dir: string, private readonly opts: WriteOptions) {
    this.target = resolve(dir);
    if (existsSync(this.target) && readdirSync(this.target).length > 0 && !opts.overwrite) {
      throw new Error(`${dir}: exists and is not empty (use --force to replace it)`);
    }
    mkdirSync(dirname(this.target), { recursive: true });
    this.temp = `${this.target}.tmp-${process.pid}-${Date.now().toString(36)}`;
    mkdirSync(this.temp);
  }

  write(rel: string, data: string): void {
    const p = join(this.temp, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }

  /** Hard-links (or copies) an image to `rel`; a missing source is recorded, not fatal. */
  image(src: string, rel: string): void {
    if (!existsSync(src)) {
      this.missing.push(src);
      return;
    }
    const dest = join(this.temp, rel);
    mkdirSync(dirname(dest), { recursive: true });
    // The real file: link(2) on a symbolic link would link the link itself.
    const real = realpathSync(src);
    if (this.opts.images !== 'copy' && this.linkFailed === null) {
      try {
        linkSync(real, dest);
        return;
      } catch (err) {
        this.linkFailed = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
    }
    copyFileSync(real, dest);
  }

  /** Makes a folder (relative to the output) that may stay empty. */
  folder(rel: string): void {
    mkdirSync(join(this.temp, rel), { recursive: true });
  }

  notes(): string[] {
    const out: string[] = [];
    if (this.missing.length > 0) {
      out.push(`${this.missing.length} image file(s) not found, not linked or copied (first: ${this.missing[0]})`);
    }
    if (this.linkFailed !== null) {
      const why = this.linkFailed === 'EXDEV' ? 'the output is on another file system than the images' : this.linkFailed;
      out.push(`images were copied: hard links are not possible here (${why})`);
    }
    return out;
  }

  commit(): void {
    const old = existsSync(this.target) ? `${this.target}.old-${process.pid}-${Date.now().toString(36)}` : null;
    if (old) renameSync(this.target, old);
    try {
      renameSync(this.temp, this.target);
    } catch (err) {
      if (old) renameSync(old, this.target);
      throw err;
    }
    if (old) rmSync(old, { recursive: true, force: true });
  }

  abort(): void {
    rmSync(this.temp, { recursive: true, force: true });
  }
}

function staged(dir: string, opts: WriteOptions, fn: (s: Staging) => Omit<WriteResult, 'dir' | 'notes'> & { notes: string[] }): WriteResult {
  const s = new Staging(dir, opts);
  try {
    const r = fn(s);
    const notes = [...r.notes, ...s.notes()];
    s.commit();
    return { ...r, dir: s.target, notes };
  } catch (err) {
    s.abort();
    throw err;
  }
}

function splitCounts(splits: [string, ImageRecord[]][]): Record<string, number> {
  return Object.fromEntries(splits.map(([k, l]) => [k, l.length]));
}

function hasSegmentation(images: Iterable<Entry>): boolean {
  for (const e of images) if (e.rec.annotations.some((a) => (a as SegmentedAnnotation).segmentation)) return true;
  return false;
}

// ---------------------------------------------------------------- COCO

/** COCO image ids: the records' own where they are unique, else 1..n. */
function cocoImageIds(entries: Entry[]): Map<string, number | string> {
  const ids = entries.map((e) => e.rec.cocoId ?? e.rec.id);
  const unique = new Set(ids).size === ids.length && ids.every((i) => Number.isInteger(i));
  return new Map(entries.map((e, i) => [e.rec.file, unique ? ids[i]! : i + 1]));
}

/** The category id of each class: a COCO source's own (when there is one per class), else 1..nc. */
export function cocoCategoryIds(ds: DetectionDataset): Array<number | string> {
  const own = ds.categoryIds;
  if (own && own.length === ds.names.length && new Set(own).size === own.length) return [...own];
  return ds.names.map((_, i) => i + 1);
}

/**
 * A COCO instances object for `images` (`fileName` gives each image's
 * file_name; image ids from `imageIds`, else 1..n; category ids from
 * cocoCategoryIds).
 */
export function cocoInstancesJson(ds: DetectionDataset, images: readonly ImageRecord[], fileName: (rec: ImageRecord) => string,
  imageIds?: Map<string, number | string>, annIds?: Map<ImageRecord, number>): Record<string, unknown> {
  const catIds = cocoCategoryIds(ds);
  const outImages: Record<string, unknown>[] = [];
  const outAnns: Record<string, unknown>[] = [];
  let nextAnn = 1;
  images.forEach((rec, i) => {
    const imageId = imageIds?.get(rec.file) ?? i + 1;
    outImages.push({ id: imageId, file_name: fileName(rec), width: rec.width, height: rec.height });
    let annId = annIds?.get(rec) ?? nextAnn;
    for (const a of rec.annotations as SegmentedAnnotation[]) {
      const [x1, y1, x2, y2] = a.box;
      const ann: Record<string, unknown> = {
        id: annId++,
        image_id: imageId,
        category_id: catIds[a.cls],
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area: a.segmentation ? segmentationArea(a.segmentation) : (x2 - x1) * (y2 - y1),
        iscrowd: a.iscrowd ? 1 : 0,
      };
      if (a.segmentation) ann.segmentation = a.segmentation;
      if (a.difficult) ann.difficult = 1;
      outAnns.push(ann);
    }
    nextAnn = annId;
  });
  return {
    info: { description: `${ds.name}, converted by yolor from ${ds.source} (${ds.format})` },
    images: outImages,
    annotations: outAnns,
    categories: ds.names.map((name, i) => ({ id: catIds[i], name, supercategory: '' })),
  };
}

/** Splits in the order images are stored: train, val, test, then the others as they come. */
function storageOrder(splits: [string, ImageRecord[]][]): [string, ImageRecord[]][] {
  const rank = (k: string): number => {
    const i = ['train', 'val', 'test'].indexOf(k);
    return i < 0 ? 3 : i;
  };
  return splits.map((s, i) => [s, i] as const).sort((p, q) => rank(p[0][0]) - rank(q[0][0]) || p[1] - q[1]).map(([s]) => s);
}

/** `images/<split>/` + `annotations/instances_<split>.json` per split (see the module comment). */
export function writeCoco(ds: DetectionDataset, dir: string, opts: WriteOptions = {}): WriteResult {
  return staged(dir, opts, (s) => {
    const entries = [...uniqueImages(ds).values()];
    const byFile = new Map(entries.map((e) => [e.rec.file, e]));
    const imageIds = cocoImageIds(entries);
    // Annotation ids are global, so an image in two split files has the same annotation ids in both.
    const annIds = new Map<ImageRecord, number>();
    let next = 1;
    for (const e of entries) {
      annIds.set(e.rec, next);
      next += e.rec.annotations.length;
    }
    const splits = storageOrder(splitsToWrite(ds));
    // Each image is stored once, under the first split that has it, by a name unique in that folder.
    const home = new Map<string, { split: string; name: string }>();
    for (const [split, list] of splits) {
      s.folder(join('images', split));
      const used = new Set<string>();
      for (const r of list) {
        if (home.has(r.file)) continue;
        const { stem, ext } = uniqueStem(r.file, used);
        home.set(r.file, { split, name: `${stem}${ext}` });
        s.image(r.file, join('images', split, `${stem}${ext}`));
      }
    }
    for (const [split, list] of splits) {
      const fileName = (rec: ImageRecord): string => {
        const at = home.get(rec.file)!;
        return at.split === split ? at.name : `../${at.split}/${at.name}`;
      };
      const seen = new Set<string>();
      const images = list.filter((r) => !seen.has(r.file) && seen.add(r.file));
      s.write(join('annotations', `instances_${split}.json`),
        `${JSON.stringify(cocoInstancesJson(ds, images.map((r) => byFile.get(r.file)!.rec), fileName, imageIds, annIds))}\n`);
    }
    const only = splits.length === 1 ? join('annotations', `instances_${splits[0]![0]}.json`) : '';
    return {
      format: 'coco', entry: only ? join(resolve(dir), only) : resolve(dir), images: entries.length,
      annotations: countAnnotations(entries), splits: splitCounts(splits), notes: [],
    };
  });
}

// ---------------------------------------------------------------- YOLO

/** A normalised coordinate with 8 decimals, trailing zeros trimmed. */
function norm(v: number): string {
  const s = v.toFixed(8).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
}

/** One YOLO label row per annotation: `cls cx cy w h`, normalised by the image size. */
export function yoloLabelText(rec: ImageRecord): string {
  return rec.annotations.map((a) => {
    const [x1, y1, x2, y2] = a.box;
    const w = rec.width, h = rec.height;
    return `${a.cls} ${norm((x1 + x2) / 2 / w)} ${norm((y1 + y2) / 2 / h)} ${norm((x2 - x1) / w)} ${norm((y2 - y1) / h)}\n`;
  }).join('');
}

/** data.yaml + images/ + labels/ + one list file per split. */
export function writeYolo(ds: DetectionDataset, dir: string, opts: WriteOptions = {}): WriteResult {
  return staged(dir, opts, (s) => {
    const entries = [...uniqueImages(ds).values()];
    const byFile = new Map(entries.map((e) => [e.rec.file, e]));
    const flags: Record<string, { difficult?: number[]; iscrowd?: number[] }> = {};
    for (const e of entries) {
      s.image(e.rec.file, join('images', `${e.stem}${e.ext}`));
      s.write(join('labels', `${e.stem}.txt`), yoloLabelText(e.rec));
      const difficult: number[] = [];
      const iscrowd: number[] = [];
      e.rec.annotations.forEach((a, i) => {
        if (a.difficult) difficult.push(i + 1);
        if (a.iscrowd) iscrowd.push(i + 1);
      });
      if (difficult.length + iscrowd.length > 0) {
        flags[`labels/${e.stem}.txt`] = { ...(difficult.length ? { difficult } : {}), ...(iscrowd.length ? { iscrowd } : {}) };
      }
    }
    const splits = splitsToWrite(ds);
    const yaml: Record<string, unknown> = {};
    const extra: Record<string, string> = {};
    const order = (k: string): number => (['train', 'val', 'test'].indexOf(k) + 4) % 4;
    for (const [split, list] of [...splits].sort((a, b) => order(a[0]) - order(b[0]))) {
      const seen = new Set<string>();
      const lines = list.filter((r) => !seen.has(r.file) && seen.add(r.file)).map((r) => {
        const e = byFile.get(r.file)!;
        return `./images/${e.stem}${e.ext}\n`;
      });
      s.write(`${split}.txt`, lines.join(''));
      if (['train', 'val', 'test'].includes(split)) yaml[split] = `${split}.txt`;
      else extra[split] = `${split}.txt`;
    }
    yaml.nc = ds.names.length;
    yaml.names = new Map(ds.names.map((n, i) => [i, n]));
    if (Object.keys(extra).length > 0) yaml.yolor_splits = extra;
    if (Object.keys(flags).length > 0) {
      s.write('flags.json', `${JSON.stringify(flags, null, 1)}\n`);
      yaml.yolor_flags = 'flags.json';
    }
    const notes: string[] = [];
    if (!('train' in yaml) || !('val' in yaml)) notes.push(`no ${'train' in yaml ? 'val' : 'train'} split: Ultralytics needs both 'train' and 'val' in data.yaml`);
    if (hasSegmentation(entries)) notes.push('segmentation outlines are not written (YOLO detection labels keep the boxes)');
    s.write('data.yaml', `# ${ds.name}: converted by yolor from ${ds.source} (${ds.format})\n` +
      '# path: omitted, so the dataset root is this file\'s folder\n' + stringifyYaml(yaml));
    return {
      format: 'yolo', entry: join(resolve(dir), 'data.yaml'), images: entries.length,
      annotations: countAnnotations(entries), splits: splitCounts(splits), notes,
    };
  });
}

// ---------------------------------------------------------------- VOC

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** VOC integer box: each coordinate rounded, clamped to the image, at least 1 px wide and high. */
export function vocIntegerBox(box: readonly number[], width: number, height: number): [number, number, number, number] {
  const fix = (a: number, b: number, size: number): [number, number] => {
    let lo = Math.min(Math.max(Math.round(a), 0), size);
    let hi = Math.min(Math.max(Math.round(b), 0), size);
    if (hi <= lo) {
      if (lo + 1 <= size) hi = lo + 1;
      else lo = hi - 1;
    }
    return [lo, hi];
  };
  const [x1, x2] = fix(box[0]!, box[2]!, width);
  const [y1, y2] = fix(box[1]!, box[3]!, height);
  return [x1, y1, x2, y2];
}

export function vocXml(rec: ImageRecord, filename: string, names: readonly string[]): string {
  const objects = rec.annotations.map((a) => {
    const [x1, y1, x2, y2] = vocIntegerBox(a.box, rec.width, rec.height);
    return '\t<object>\n' +
      `\t\t<name>${xmlEscape(names[a.cls] ?? `class${a.cls}`)}</name>\n` +
      '\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n' +
      `\t\t<difficult>${a.difficult || a.iscrowd ? 1 : 0}</difficult>\n` +
      (a.iscrowd ? '\t\t<iscrowd>1</iscrowd>\n' : '') +
      `\t\t<bndbox>\n\t\t\t<xmin>${x1}</xmin>\n\t\t\t<ymin>${y1}</ymin>\n\t\t\t<xmax>${x2}</xmax>\n\t\t\t<ymax>${y2}</ymax>\n\t\t</bndbox>\n` +
      '\t</object>\n';
  }).join('');
  return '<annotation>\n\t<folder>JPEGImages</folder>\n' +
    `\t<filename>${xmlEscape(filename)}</filename>\n` +
    `\t<size>\n\t\t<width>${rec.width}</width>\n\t\t<height>${rec.height}</height>\n\t\t<depth>3</depth>\n\t</size>\n` +
    `\t<segmented>0</segmented>\n${objects}</annotation>\n`;
}

/** Annotations/ + JPEGImages/ + ImageSets/Main/<split>.txt + classes.txt. */
export function writeVoc(ds: DetectionDataset, dir: string, opts: WriteOptions = {}): WriteResult {
  return staged(dir, opts, (s) => {
    const entries = [...uniqueImages(ds).values()];
    const byFile = new Map(entries.map((e) => [e.rec.file, e]));
    let crowd = 0;
    for (const e of entries) {
      const filename = `${e.stem}${e.ext}`;
      s.image(e.rec.file, join('JPEGImages', filename));
      s.write(join('Annotations', `${e.stem}.xml`), vocXml(e.rec, filename, ds.names));
      crowd += e.rec.annotations.filter((a) => a.iscrowd).length;
    }
    const splits = splitsToWrite(ds).filter(([k]) => k !== 'all');
    const notes: string[] = [];
    for (const [split, list] of splits) {
      if (split.includes('_')) notes.push(`split '${split}' has '_' in its name: VOC readers take such lists for per-class lists`);
      const seen = new Set<string>();
      s.write(join('ImageSets', 'Main', `${split}.txt`),
        list.filter((r) => !seen.has(r.file) && seen.add(r.file)).map((r) => `${byFile.get(r.file)!.stem}\n`).join(''));
    }
    s.write('classes.txt', ds.names.map((n) => `${n}\n`).join(''));
    if (crowd > 0) notes.push(`${crowd} crowd (iscrowd) region(s) written as difficult objects: VOC has no crowd regions`);
    if (hasSegmentation(entries)) notes.push('segmentation outlines are not written (VOC boxes only)');
    return {
      format: 'voc', entry: resolve(dir), images: entries.length, annotations: countAnnotations(entries),
      splits: { ...splitCounts(splits), all: entries.length }, notes,
    };
  });
}

export function writeDataset(ds: DetectionDataset, format: WritableFormat, dir: string, opts: WriteOptions = {}): WriteResult {
  switch (format) {
    case 'coco':
      return writeCoco(ds, dir, opts);
    case 'yolo':
      return writeYolo(ds, dir, opts);
    case 'voc':
      return writeVoc(ds, dir, opts);
  }
}
