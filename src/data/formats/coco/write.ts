/**
 * COCO writer, in the official and Ultralytics COCO layout: `images/<split>/<file>`
 * and `annotations/instances_<split>.json` whose `file_name`s are relative to
 * that split's image folder (pycocotools-style `join(img_dir, file_name)`), as
 * a self-contained folder (see ../writing.ts).
 *
 * An image in several splits (VOC's trainval, say) is stored once, in the
 * folder of the first of train, val, test and then the other splits that has
 * it; the later splits' `file_name` is `../<that split>/<file>` (every split's
 * folder exists, so such a path opens). Image ids are the source's own where
 * they are unique integers (a COCO source keeps its ids), else 1..n; category
 * ids are a COCO source's own, else 1..nc in class order, as in real COCO files.
 *
 * What COCO keeps: boxes exactly (JSON doubles), `iscrowd`, `segmentation`
 * (with its `area`), and VOC's `difficult` as a non-standard `"difficult": 1`
 * on the annotation (pycocotools ignores it).
 */
import { join, resolve } from 'node:path';
import type { DetectionDataset, ImageRecord } from '../../types.js';
import {
  countAnnotations,
  type OutputImage,
  splitCounts,
  splitsToWrite,
  staged,
  uniqueImages,
  uniqueStem,
  type WriteOptions,
  type WriteResult,
} from '../writing.js';
import { type SegmentedAnnotation, segmentationArea } from './segmentation.js';

/** COCO image ids: the records' own where they are unique, else 1..n. */
function cocoImageIds(entries: OutputImage[]): Map<string, number | string> {
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
export function cocoInstancesJson(
  ds: DetectionDataset,
  images: readonly ImageRecord[],
  fileName: (rec: ImageRecord) => string,
  imageIds?: Map<string, number | string>,
  annIds?: Map<ImageRecord, number>,
): Record<string, unknown> {
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
  return splits
    .map((s, i) => [s, i] as const)
    .sort((p, q) => rank(p[0][0]) - rank(q[0][0]) || p[1] - q[1])
    .map(([s]) => s);
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
      s.write(
        join('annotations', `instances_${split}.json`),
        `${JSON.stringify(
          cocoInstancesJson(
            ds,
            images.map((r) => byFile.get(r.file)!.rec),
            fileName,
            imageIds,
            annIds,
          ),
        )}\n`,
      );
    }
    const only = splits.length === 1 ? join('annotations', `instances_${splits[0]![0]}.json`) : '';
    return {
      format: 'coco',
      entry: only ? join(resolve(dir), only) : resolve(dir),
      images: entries.length,
      annotations: countAnnotations(entries),
      splits: splitCounts(splits),
      notes: [],
    };
  });
}
