/**
 * What `yolor predict` runs on and how its COCO results (`--save-json`) name
 * images and classes:
 *   - a plain file or folder (`--source`): image_id is the file stem, category_id
 *     the 0-based class index (there are no other ids to use);
 *   - a COCO dataset (`--data instances.json`, alone: a split's images; with
 *     `--source DIR`: the folder's images, each of which must be one of the
 *     JSON's images, its `file_name` resolved against DIR): the JSON's own image
 *     `id` and each class's original `category_id`, so that the results score
 *     against that JSON with `yolor cocoeval` or pycocotools;
 *   - any other dataset (`--data` VOC / YOLO / built-in): its split's images,
 *     named as plain files (convert it with `yolor data convert --to coco` to
 *     get ids that a COCO ground truth shares).
 */
import { basename, extname, resolve } from 'node:path';
import { datasetSplit } from '../data/resolve.js';
import type { DetectionDataset, ImageRecord } from '../data/types.js';
import type { CocoId } from '../eval/coco.js';

export interface ResultIds {
  /** 'dataset': the COCO dataset's own ids; 'file': file stem and 0-based class index. */
  form: 'dataset' | 'file';
  imageId(file: string): CocoId;
  categoryId(cls: number): CocoId;
}

/** File stem and 0-based class index. */
export const fileResultIds: ResultIds = {
  form: 'file',
  imageId: (file) => basename(file, extname(file)),
  categoryId: (cls) => cls,
};

/** The COCO ids of `records`' images (the records of one COCO dataset) and of its classes. */
export function cocoResultIds(ds: DetectionDataset, records: readonly ImageRecord[], hint = ''): ResultIds {
  const catIds = ds.categoryIds;
  if (ds.format !== 'coco' || !catIds) throw new Error(`${ds.source}: not a COCO dataset: it has no image and category ids of its own`);
  const byFile = new Map<string, { id: CocoId }>();
  for (const r of records) {
    const file = resolve(r.file);
    const id = r.cocoId ?? r.id;
    const had = byFile.get(file);
    if (had && had.id !== id) {
      throw new Error(`${r.file}: two image ids in ${ds.source} (${JSON.stringify(had.id)} and ${JSON.stringify(id)})${hint}`);
    }
    byFile.set(file, { id });
  }
  return {
    form: 'dataset',
    imageId(file) {
      const e = byFile.get(resolve(file));
      if (!e) throw new Error(`${file}: not an image of ${ds.source}`);
      return e.id;
    },
    categoryId(cls) {
      const id = catIds[cls];
      if (id === undefined) throw new Error(`class ${cls}: ${ds.source} has only ${catIds.length} categories`);
      return id;
    },
  };
}

export interface PredictInput {
  /** Image files, in prediction order. */
  files: string[];
  ids: ResultIds;
  /** Things to tell the user (images of the ground truth that are not predicted, ...). */
  notes: string[];
}

function skippedNote(ds: DetectionDataset): string[] {
  const skipped = ds.bad.filter((b) => b.action === 'skipped').length;
  return skipped > 0
    ? [
        `${skipped} image entr${skipped === 1 ? 'y' : 'ies'} of ${ds.source} could not be used (see 'yolor data stats --data ${ds.source}'): ` +
          'a COCO evaluation of these predictions counts their objects as missed',
      ]
    : [];
}

/** `--data D [--split S]`: the split's images; COCO datasets name them by their own ids. */
export function datasetInput(ds: DetectionDataset, split: string): PredictInput {
  const records = datasetSplit(ds, split);
  const seen = new Set<string>();
  const files = records.map((r) => r.file).filter((f) => !seen.has(f) && seen.add(f));
  if (ds.format !== 'coco') return { files, ids: fileResultIds, notes: [] };
  return { files, ids: cocoResultIds(ds, records), notes: skippedNote(ds) };
}

/**
 * `--source DIR --data instances.json`: the folder's images (`files`, from
 * listImages), each matched to the COCO image whose `file_name` resolves to it
 * (the dataset must have been read with DIR as its image folder). A file that
 * is none of the JSON's images is an error naming it: results mixing ids and
 * file stems would not score.
 */
export function sourceInDataset(files: readonly string[], ds: DetectionDataset, source: string, split?: string): PredictInput {
  if (ds.format !== 'coco') {
    throw new Error(
      `${ds.source}: a ${ds.format} dataset has no image ids to match --source ${source} to; ` +
        "pass --data alone to predict its images, or convert it with 'yolor data convert --to coco'",
    );
  }
  const records = split === undefined ? Object.values(ds.splits).flat() : datasetSplit(ds, split);
  const ids = cocoResultIds(ds, records, split === undefined ? ': choose one with --split' : '');
  const known = new Set(records.map((r) => resolve(r.file)));
  const unknown = files.filter((f) => !known.has(resolve(f)));
  if (unknown.length > 0) {
    const why = `no image entry's file_name, resolved against ${source}, names ${unknown.length === 1 ? 'it' : 'them'}`;
    if (unknown.length === 1) throw new Error(`${unknown[0]!}: not in ${ds.source}: ${why}`);
    const shown = unknown
      .slice(0, 3)
      .map((f) => basename(f))
      .join(', ');
    throw new Error(`${unknown.length} images of ${source} are not in ${ds.source} (${shown}${unknown.length > 3 ? ', ...' : ''}): ${why}`);
  }
  const notes = skippedNote(ds);
  const here = new Set(files.map((f) => resolve(f)));
  const absent = [...known].filter((f) => !here.has(f)).length;
  if (absent > 0)
    notes.push(`${absent} image(s) of ${ds.source} are not in ${source}: a COCO evaluation of these predictions counts their objects as missed`);
  return { files: [...files], ids, notes };
}
