/**
 * What every writer shares (the writers are beside their readers: ./coco/write.ts,
 * ./yolo/write.ts, ./voc/write.ts). A written dataset reads back with the same
 * images, boxes, classes and splits, within what its format keeps.
 *
 * The output is self-contained: every image is in it, hard-linked to the
 * source file where both are on one file system (no extra space; editing one
 * edits both), else — or with `images: 'copy'` — copied; never a symbolic link
 * (one into a cache or a source folder breaks when that moves or is deleted,
 * and when the output is shared). Every reference in the output is relative, so
 * the folder can be moved, archived or shared as it is. File names are made
 * unique (`name_1`, ...) where two images of one output folder would share one.
 *
 * Splits: every split except 'all', and 'all' itself only where it has images
 * that no other split has (readers rebuild 'all' as the union).
 *
 * The output folder is written beside itself and renamed into place, so a
 * failed conversion leaves no half-written dataset; an existing non-empty
 * folder is replaced only with `overwrite`.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { DetectionDataset, ImageRecord } from '../types.js';
import type { SegmentedAnnotation } from './coco/segmentation.js';
import type { WritableFormat } from './names.js';

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

/** The splits a writer writes: all but 'all', plus 'all' where it holds images no other split has. */
export function splitsToWrite(ds: DetectionDataset): [string, ImageRecord[]][] {
  const named = Object.entries(ds.splits).filter(([k]) => k !== 'all');
  const all = ds.splits.all;
  if (!all) return named;
  const covered = new Set(named.flatMap(([, l]) => l.map((r) => r.file)));
  return all.some((r) => !covered.has(r.file)) || named.length === 0 ? [...named, ['all', all]] : named;
}

/** An image of the output: its record and a file stem unique in the output. */
export interface OutputImage {
  rec: ImageRecord;
  stem: string;
  ext: string;
}

/** `file`'s stem, with `_1`, `_2`, ... added where `used` (lower-cased stems) already has it; adds the result to `used`. */
export function uniqueStem(file: string, used: Set<string>): { stem: string; ext: string } {
  const ext = extname(file);
  const base = basename(file, ext) || 'image';
  let stem = base;
  for (let n = 1; used.has(stem.toLowerCase()); n++) stem = `${base}_${n}`;
  used.add(stem.toLowerCase());
  return { stem, ext: ext || '.jpg' };
}

/** Every distinct image (by file) of the dataset, with a file stem unique in the dataset. */
export function uniqueImages(ds: DetectionDataset): Map<string, OutputImage> {
  const out = new Map<string, OutputImage>();
  const used = new Set<string>();
  for (const list of Object.values(ds.splits)) {
    for (const rec of list) {
      if (!out.has(rec.file)) out.set(rec.file, { rec, ...uniqueStem(rec.file, used) });
    }
  }
  return out;
}

export function countAnnotations(images: Iterable<OutputImage>): number {
  let n = 0;
  for (const e of images) n += e.rec.annotations.length;
  return n;
}

/** A staging folder beside `dir`; `commit` renames it into place. */
export class Staging {
  readonly target: string;
  readonly temp: string;
  readonly missing: string[] = [];
  /** Why hard-linking failed (then every image is copied), or null. */
  private linkFailed: string | null = null;

  constructor(
    dir: string,
    private readonly opts: WriteOptions,
  ) {
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

export function staged(dir: string, opts: WriteOptions, fn: (s: Staging) => Omit<WriteResult, 'dir' | 'notes'> & { notes: string[] }): WriteResult {
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

export function splitCounts(splits: [string, ImageRecord[]][]): Record<string, number> {
  return Object.fromEntries(splits.map(([k, l]) => [k, l.length]));
}

export function hasSegmentation(images: Iterable<OutputImage>): boolean {
  for (const e of images) if (e.rec.annotations.some((a) => (a as SegmentedAnnotation).segmentation)) return true;
  return false;
}
