/**
 * Ultralytics (YOLO) writer: `images/<stem><ext>`, `labels/<stem>.txt` (labels
 * are found by replacing `/images/` with `/labels/` in the image path), one
 * list file `<split>.txt` of `./images/...` per split, and `data.yaml` (no
 * `path:`, so the root is the YAML's folder), as a self-contained folder (see
 * ../writing.ts).
 *
 * What YOLO keeps: boxes normalised with 8 decimals (error below 1e-3 px for
 * images up to 10^5 px); VOC `difficult` and COCO `iscrowd` in the `yolor_flags`
 * JSON named in data.yaml (this package's extension; Ultralytics ignores it).
 * Segmentation outlines are not written (YOLO detection labels keep the boxes;
 * a note says so).
 */
import { join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
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

/** A normalised coordinate with 8 decimals, trailing zeros trimmed. */
function norm(v: number): string {
  const s = v.toFixed(8).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
}

/** One YOLO label row per annotation: `cls cx cy w h`, normalised by the image size. */
export function yoloLabelText(rec: ImageRecord): string {
  return rec.annotations
    .map((a) => {
      const [x1, y1, x2, y2] = a.box;
      const w = rec.width,
        h = rec.height;
      return `${a.cls} ${norm((x1 + x2) / 2 / w)} ${norm((y1 + y2) / 2 / h)} ${norm((x2 - x1) / w)} ${norm((y2 - y1) / h)}\n`;
    })
    .join('');
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
      const lines = list
        .filter((r) => !seen.has(r.file) && seen.add(r.file))
        .map((r) => {
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
    if (!('train' in yaml) || !('val' in yaml))
      notes.push(`no ${'train' in yaml ? 'val' : 'train'} split: Ultralytics needs both 'train' and 'val' in data.yaml`);
    if (hasSegmentation(entries)) notes.push('segmentation outlines are not written (YOLO detection labels keep the boxes)');
    s.write(
      'data.yaml',
      `# ${ds.name}: converted by yolor from ${ds.source} (${ds.format})\n` +
        "# path: omitted, so the dataset root is this file's folder\n" +
        stringifyYaml(yaml),
    );
    return {
      format: 'yolo',
      entry: join(resolve(dir), 'data.yaml'),
      images: entries.length,
      annotations: countAnnotations(entries),
      splits: splitCounts(splits),
      notes,
    };
  });
}
