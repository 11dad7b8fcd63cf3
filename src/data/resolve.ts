/**
 * `--data` resolution: a dataset is named by a path whose format is detected
 * (a VOC root: a folder with Annotations/). A path that exists but matches no
 * known format gets a message saying what was looked for.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isVocRoot, readVoc } from './formats/voc.js';
import type { DetectionDataset, ImageRecord } from './types.js';

export function loadDetectionDataset(spec: string): DetectionDataset {
  const path = resolve(spec);
  if (!existsSync(path)) throw new Error(`dataset not found: ${spec}`);
  if (statSync(path).isDirectory()) {
    if (isVocRoot(path)) return readVoc(path);
    throw new Error(`${spec}: a folder, but not a Pascal VOC root (expected Annotations/ with .xml files)`);
  }
  throw new Error(`${spec}: unrecognised dataset format (expected a Pascal VOC root folder)`);
}

/** A split by name; 'train' falls back to 'trainval' and then 'all' when a dataset has no such split. */
export function datasetSplit(ds: DetectionDataset, split: string): ImageRecord[] {
  const fallbacks: Record<string, string[]> = { train: ['train', 'trainval', 'all'], val: ['val', 'test'], test: ['test', 'val'] };
  for (const name of fallbacks[split] ?? [split]) {
    const s = ds.splits[name];
    if (s && s.length > 0) return s;
  }
  throw new Error(`${ds.source}: no '${split}' split (has: ${Object.keys(ds.splits).join(', ')})`);
}
