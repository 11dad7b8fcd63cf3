/**
 * Pascal VOC writer: `JPEGImages/<stem><ext>`, `Annotations/<stem>.xml`,
 * `ImageSets/Main/<split>.txt` and `classes.txt` (the class order; VOC has
 * none), as a self-contained folder (see ../writing.ts).
 *
 * What VOC keeps: boxes in integer pixels: each coordinate rounded to the
 * nearest integer (at most 0.5 px off), except that a box rounded to zero width
 * or height is widened to 1 px; `difficult`. VOC has no crowd regions: such
 * objects are written with `<difficult>1</difficult>` (also ignored by
 * evaluation) plus an `<iscrowd>1</iscrowd>` element, and a note says so.
 * Segmentation outlines are not written (a note says so). The split 'all' is
 * not written (readers make it from every annotation file).
 */
import { join, resolve } from 'node:path';
import type { DetectionDataset, ImageRecord } from '../../types.js';
import {
  countAnnotations,
  hasSegmentation,
  splitCounts,
  splitsToWrite,
  staged,
  uniqueImages,
  type WriteOptions,
  type WriteResult,
} from '../writing.js';

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
  const objects = rec.annotations
    .map((a) => {
      const [x1, y1, x2, y2] = vocIntegerBox(a.box, rec.width, rec.height);
      return (
        '\t<object>\n' +
        `\t\t<name>${xmlEscape(names[a.cls] ?? `class${a.cls}`)}</name>\n` +
        '\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n' +
        `\t\t<difficult>${a.difficult || a.iscrowd ? 1 : 0}</difficult>\n` +
        (a.iscrowd ? '\t\t<iscrowd>1</iscrowd>\n' : '') +
        `\t\t<bndbox>\n\t\t\t<xmin>${x1}</xmin>\n\t\t\t<ymin>${y1}</ymin>\n\t\t\t<xmax>${x2}</xmax>\n\t\t\t<ymax>${y2}</ymax>\n\t\t</bndbox>\n` +
        '\t</object>\n'
      );
    })
    .join('');
  return (
    '<annotation>\n\t<folder>JPEGImages</folder>\n' +
    `\t<filename>${xmlEscape(filename)}</filename>\n` +
    `\t<size>\n\t\t<width>${rec.width}</width>\n\t\t<height>${rec.height}</height>\n\t\t<depth>3</depth>\n\t</size>\n` +
    `\t<segmented>0</segmented>\n${objects}</annotation>\n`
  );
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
      s.write(
        join('ImageSets', 'Main', `${split}.txt`),
        list
          .filter((r) => !seen.has(r.file) && seen.add(r.file))
          .map((r) => `${byFile.get(r.file)!.stem}\n`)
          .join(''),
      );
    }
    s.write('classes.txt', ds.names.map((n) => `${n}\n`).join(''));
    if (crowd > 0) notes.push(`${crowd} crowd (iscrowd) region(s) written as difficult objects: VOC has no crowd regions`);
    if (hasSegmentation(entries)) notes.push('segmentation outlines are not written (VOC boxes only)');
    return {
      format: 'voc',
      entry: resolve(dir),
      images: entries.length,
      annotations: countAnnotations(entries),
      splits: { ...splitCounts(splits), all: entries.length },
      notes,
    };
  });
}
