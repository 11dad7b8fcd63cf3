/**
 * `--data` resolution: a dataset is named by a path whose format is detected by
 * the formats of the registry (formats/registry.ts), in its order —
 *   - a Pascal VOC root: a folder with Annotations/ (classes.txt, when present,
 *     fixes the class order; otherwise names are sorted);
 *   - a COCO instances .json file, or a folder of instances_<split>.json files
 *     (in it or in its annotations/);
 *   - an Ultralytics dataset .yaml, or a folder with data.yaml / dataset.yaml;
 * — or by the built-in dataset registry (datasets/registry.ts):
 *   - a generated dataset folder (labels.json written by the shapes / fashion
 *     generators, e.g. with custom options): boxes, masks, attributes,
 *     identities; recognised before the formats;
 *   - a built-in name: 'shapes', 'shapes-small', 'shapes-pretrain', 'fashion' (when no such path exists).
 * A path that exists but matches no known format, or a file of the right kind
 * with the wrong content (a JSON that is not COCO instances, a YAML that is not
 * a dataset), gets a message saying what was looked for.
 *
 * `loadDetectionDatasetAsync` reads every format. `loadDetectionDataset` is the
 * synchronous variant for callers that cannot await: the formats with a
 * synchronous reader (VOC and COCO; COCO images without width/height in the
 * JSON are reported and left out) and generated folders, because YOLO labels
 * need the image sizes from the image files and built-in datasets are
 * generated asynchronously.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import {
  BUILTIN_DATASETS,
  type BuiltinDataset,
  type BuiltinDatasetName,
  builtinDataset,
  type GeneratedMatch,
  generatedDatasetFolder,
} from './datasets/registry.js';
import type { DatasetReader, FormatMatch, FormatReadOptions } from './formats/format.js';
import type { DatasetFormatRequest } from './formats/names.js';
import { DATASET_FORMATS, datasetFormat, type RegisteredFormatMatch } from './formats/registry.js';
import type { DetectionDataset, ImageRecord } from './types.js';

export { BUILTIN_DATASETS, SHAPES_SMALL } from './datasets/registry.js';
export type { DatasetFormatRequest } from './formats/names.js';

export interface LoadDatasetOptions extends FormatReadOptions {
  /** Force a format instead of detecting it (default 'auto'). */
  format?: DatasetFormatRequest;
}

export type DetectedDataset =
  | RegisteredFormatMatch
  | { format: 'builtin'; name: BuiltinDatasetName }
  /** A generated dataset folder (shapes/fashion with any options). */
  | GeneratedMatch;

type Detection = { builtin: BuiltinDataset<BuiltinDatasetName>; match: DetectedDataset } | { reader: DatasetReader; match: FormatMatch };

/** `a, b or c` */
function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function detect(spec: string, request: DatasetFormatRequest): Detection {
  const path = resolve(spec);
  if (!existsSync(path)) {
    const builtin = request === 'auto' ? builtinDataset(spec) : undefined;
    if (builtin) return { builtin, match: { format: 'builtin', name: builtin.name } };
    throw new Error(
      `dataset not found: ${spec}${request === 'auto' && !/[\\/.]/.test(spec) ? ` (built-in datasets: ${BUILTIN_DATASETS.join(', ')})` : ''}`,
    );
  }
  const folder = statSync(path).isDirectory();
  const ctx = { spec, folder };
  if (request !== 'auto') {
    const format = datasetFormat(request);
    const match = format.detect(path, ctx);
    if (match) return { reader: format, match };
    throw new Error(`${spec}: ${folder ? format.describe.notFolder : (format.describe.notFile ?? `not ${format.describe.entry}`)}`);
  }
  const ext = extname(path).toLowerCase();
  const readers: readonly DatasetReader[] = folder
    ? [generatedDatasetFolder, ...DATASET_FORMATS]
    : DATASET_FORMATS.filter((f) => f.extensions.includes(ext));
  for (const reader of readers) {
    const match = reader.detect(path, ctx);
    if (match) return { reader, match };
  }
  if (folder) throw new Error(`${spec}: a folder, but not ${orList(DATASET_FORMATS.map((f) => f.describe.folder))}`);
  const hint = DATASET_FORMATS.map((f) => f.partFiles?.[ext]).find((h) => h !== undefined);
  if (hint) throw new Error(`${spec}: ${hint}`);
  const expected = `${DATASET_FORMATS.map((f) => f.describe.entry).join(', ')} or a built-in dataset name: ${BUILTIN_DATASETS.join(', ')}`;
  throw new Error(`${spec}: unrecognised dataset format (expected ${expected})`);
}

/** Which reader a `--data` value needs; throws a message naming what was looked for. */
export function detectDatasetFormat(spec: string, format: DatasetFormatRequest = 'auto'): DetectedDataset {
  // Every reader detect() can return is registered (formats/registry.ts) or the generated-folder reader.
  return detect(spec, format).match as DetectedDataset;
}

/** Reads any supported dataset (see the module comment). */
export async function loadDetectionDatasetAsync(spec: string, opts: LoadDatasetOptions = {}): Promise<DetectionDataset> {
  const d = detect(spec, opts.format ?? 'auto');
  return 'builtin' in d ? d.builtin.load() : d.reader.read(d.match, opts);
}

/** Synchronous loading: VOC, COCO and generated folders (see the module comment); YOLO and built-ins need loadDetectionDatasetAsync. */
export function loadDetectionDataset(spec: string, opts: LoadDatasetOptions = {}): DetectionDataset {
  const d = detect(spec, opts.format ?? 'auto');
  if ('builtin' in d) throw new Error(`built-in dataset '${d.builtin.name}' is generated asynchronously: load it with loadDetectionDatasetAsync`);
  if (!d.reader.readSync) {
    throw new Error(`${spec}: ${d.reader.asyncOnly ?? `${d.reader.name} datasets are read asynchronously`}: load it with loadDetectionDatasetAsync`);
  }
  return d.reader.readSync(d.match, opts);
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
