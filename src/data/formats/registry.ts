/**
 * The dataset formats: one entry each (see ./format.ts for what an entry is),
 * listed here once, in detection order: a folder is read as the first format
 * whose detector recognises it, a file by the format that claims its extension.
 * `--data` resolution (../resolve.ts) and `yolor data convert` know the formats
 * only through this list; ./names.ts has their names for the CLI.
 */
import type { DetectionDataset } from '../types.js';
import { cocoFormat } from './coco/index.js';
import type { DatasetFormat } from './format.js';
import type { FormatName, WritableFormat } from './names.js';
import { vocFormat } from './voc/index.js';
import type { WriteOptions, WriteResult } from './writing.js';
import { yoloFormat } from './yolo/index.js';

type WithWriter = Required<Pick<DatasetFormat, 'write'>>;

/** Keyed by name: the compiler checks that every name of FORMAT_NAMES has its entry, and every writable one a writer. */
const FORMATS = {
  voc: vocFormat,
  coco: cocoFormat,
  yolo: yoloFormat,
} satisfies { readonly [N in FormatName]: DatasetFormat<N> & (N extends WritableFormat ? WithWriter : unknown) };

/** What the registered formats' detectors return. */
export type RegisteredFormatMatch = NonNullable<ReturnType<(typeof FORMATS)[FormatName]['detect']>>;

/** Every dataset format, in detection order. */
export const DATASET_FORMATS: readonly DatasetFormat[] = Object.values(FORMATS);

export function datasetFormat(name: FormatName): DatasetFormat {
  return FORMATS[name];
}

/** Writes `ds` in `format` into the folder `dir` (see ./writing.ts and each format's writer for what is kept). */
export function writeDataset(ds: DetectionDataset, format: WritableFormat, dir: string, opts: WriteOptions = {}): WriteResult {
  return FORMATS[format].write(ds, dir, opts);
}
