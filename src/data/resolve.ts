/**
 * `--data` resolution: a dataset is named by a path whose format is detected —
 *   - a Pascal VOC root: a folder with Annotations/ (classes.txt, when present,
 *     fixes the class order; otherwise names are sorted);
 *   - a COCO instances .json file, or a folder of instances_<split>.json files
 *     (in it or in its annotations/);
 *   - an Ultralytics dataset .yaml, or a folder with data.yaml / dataset.yaml;
 *   - a generated dataset folder (labels.json written by the shapes / fashion
 *     generators, e.g. with custom options): boxes, masks, attributes, identities;
 *   - a built-in name: 'shapes', 'shapes-small', 'fashion' (when no such path exists).
 * A path that exists but matches no known format, or a file of the right kind
 * with the wrong content (a JSON that is not COCO instances, a YAML that is not
 * a dataset), gets a message saying what was looked for.
 *
 * `loadDetectionDatasetAsync` reads every format. `loadDetectionDataset` is the
 * synchronous variant for callers that cannot await: VOC and COCO only (COCO
 * images without width/height in the JSON are reported and left out), because
 * YOLO labels need the image sizes from the image files and built-in datasets
 * are generated asynchronously.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { readJsonFile } from '../io/json.js';
import { readYamlFile } from '../io/yaml.js';
import { checkCocoInstances, cocoDirFiles, readCoco, readCocoSync } from './formats/coco.js';
import { isVocRoot, readVoc } from './formats/voc.js';
import { checkDatasetYaml, readYolo } from './formats/yolo.js';
import { isInstanceCacheDir, readInstanceCache } from './datasets/shapes.js';
import type { DetectionDataset, ImageRecord } from './types.js';

export type DatasetFormatRequest = 'auto' | 'voc' | 'coco' | 'yolo';

export const BUILTIN_DATASETS = ['shapes', 'shapes-small', 'fashion'] as const;

/**
 * 'shapes-small': the quick built-in job (the default of `yolor train`): 240/60/60 images of
 * 256 px with 1–4 shapes of 24–100 px, so that a few epochs finish in minutes on 2 cores.
 */
export const SHAPES_SMALL = { train: 240, val: 60, test: 60, size: 256, minObjects: 1, maxObjects: 4, minSize: 24, maxSize: 100 } as const;

export interface LoadDatasetOptions {
  /** Force a format instead of detecting it (default 'auto'). */
  format?: DatasetFormatRequest;
  /** COCO: the folder image file_names are relative to. */
  imageDir?: string;
  /** Concurrency of image-header reads (YOLO, COCO without sizes). */
  concurrency?: number;
}

export type DetectedDataset =
  | { format: 'voc' | 'yolo'; path: string }
  /** `json`: the parsed file when `path` is a JSON file (read once, not twice). */
  | { format: 'coco'; path: string; json?: unknown }
  | { format: 'builtin'; name: (typeof BUILTIN_DATASETS)[number] }
  /** A generated dataset folder (shapes/fashion with any options). */
  | { format: 'generated'; path: string };

const EXPECTED = 'expected a Pascal VOC root folder, a COCO instances .json, an Ultralytics dataset .yaml ' +
  `or a built-in dataset name: ${BUILTIN_DATASETS.join(', ')}`;

function yamlIn(dir: string): string | undefined {
  return ['data.yaml', 'dataset.yaml', 'data.yml', 'dataset.yml'].map((f) => join(dir, f)).find((f) => existsSync(f));
}

/** Which reader a `--data` value needs; throws a message naming what was looked for. */
export function detectDatasetFormat(spec: string, format: DatasetFormatRequest = 'auto'): DetectedDataset {
  const path = resolve(spec);
  if (!existsSync(path)) {
    const builtin = BUILTIN_DATASETS.find((n) => n === spec);
    if (builtin && format === 'auto') return { format: 'builtin', name: builtin };
    throw new Error(`dataset not found: ${spec}${format === 'auto' && !/[\\/.]/.test(spec) ? ` (built-in datasets: ${BUILTIN_DATASETS.join(', ')})` : ''}`);
  }
  if (statSync(path).isDirectory()) {
    const yaml = yamlIn(path);
    const cocoFiles = cocoDirFiles(path);
    switch (format) {
      case 'voc':
        if (isVocRoot(path)) return { format: 'voc', path };
        throw new Error(`${spec}: not a Pascal VOC root (expected Annotations/ with .xml files)`);
      case 'coco':
        if (cocoFiles.length > 0) return { format: 'coco', path };
        throw new Error(`${spec}: a folder without instances_*.json (in it or in annotations/): not a COCO dataset folder`);
      case 'yolo':
        if (yaml) return { format: 'yolo', path: yaml };
        throw new Error(`${spec}: a folder without data.yaml or dataset.yaml: pass the Ultralytics dataset YAML`);
      case 'auto':
        if (isInstanceCacheDir(path)) return { format: 'generated', path };
        if (isVocRoot(path)) return { format: 'voc', path };
        if (cocoFiles.length > 0) return { format: 'coco', path };
        if (yaml) return { format: 'yolo', path: yaml };
        throw new Error(`${spec}: a folder, but not a Pascal VOC root (expected Annotations/ with .xml files), ` +
          'a COCO folder (instances_*.json) or an Ultralytics dataset folder (data.yaml)');
    }
  }
  const ext = extname(path).toLowerCase();
  const as = format === 'auto' ? (ext === '.json' ? 'coco' : ext === '.yaml' || ext === '.yml' ? 'yolo' : undefined) : format;
  if (as === 'coco') {
    const json = readJsonFile(path);
    checkCocoInstances(json, spec);
    return { format: 'coco', path, json };
  }
  if (as === 'yolo') {
    checkDatasetYaml(readYamlFile(path, spec), spec);
    return { format: 'yolo', path };
  }
  if (as === 'voc') throw new Error(`${spec}: a file; a Pascal VOC dataset is the root folder (the one with Annotations/)`);
  if (ext === '.xml') throw new Error(`${spec}: a single VOC annotation file; pass the VOC root folder (the one with Annotations/)`);
  if (ext === '.txt') throw new Error(`${spec}: a list file; pass the dataset YAML that names it`);
  throw new Error(`${spec}: unrecognised dataset format (${EXPECTED})`);
}

function vocNames(root: string): string[] | undefined {
  const f = join(root, 'classes.txt');
  if (!existsSync(f)) return undefined;
  const names = readFileSync(f, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return names.length > 0 ? names : undefined;
}

function readVocRoot(path: string): DetectionDataset {
  const names = vocNames(path);
  return names ? readVoc(path, { names }) : readVoc(path);
}

async function loadBuiltin(name: (typeof BUILTIN_DATASETS)[number]): Promise<DetectionDataset> {
  // Imported on use: generating a built-in dataset pulls in its generator, which other formats do not need.
  if (name === 'shapes') return (await import('./datasets/shapes.js')).shapesDataset();
  if (name === 'shapes-small') {
    const ds = await (await import('./datasets/shapes.js')).shapesDataset(undefined, { ...SHAPES_SMALL });
    return { ...ds, name: 'shapes-small' };
  }
  return (await import('./datasets/fashion.js')).fashionDataset();
}

/** Reads any supported dataset (see the module comment). */
export async function loadDetectionDatasetAsync(spec: string, opts: LoadDatasetOptions = {}): Promise<DetectionDataset> {
  const d = detectDatasetFormat(spec, opts.format);
  switch (d.format) {
    case 'builtin':
      return loadBuiltin(d.name);
    case 'generated':
      return readInstanceCache(d.path);
    case 'voc':
      return readVocRoot(d.path);
    case 'coco':
      return readCoco(d.path, { imageDir: opts.imageDir, concurrency: opts.concurrency, json: d.json });
    case 'yolo':
      return readYolo(d.path, { concurrency: opts.concurrency });
  }
}

/** Synchronous loading: VOC and COCO (see the module comment); YOLO and built-ins need loadDetectionDatasetAsync. */
export function loadDetectionDataset(spec: string, opts: LoadDatasetOptions = {}): DetectionDataset {
  const d = detectDatasetFormat(spec, opts.format);
  switch (d.format) {
    case 'builtin':
      throw new Error(`built-in dataset '${d.name}' is generated asynchronously: load it with loadDetectionDatasetAsync`);
    case 'generated':
      return readInstanceCache(d.path);
    case 'voc':
      return readVocRoot(d.path);
    case 'coco':
      return readCocoSync(d.path, { imageDir: opts.imageDir, json: d.json });
    case 'yolo':
      throw new Error(`${spec}: YOLO datasets need image sizes read from the images: load it with loadDetectionDatasetAsync`);
  }
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
