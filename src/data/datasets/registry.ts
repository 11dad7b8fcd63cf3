/**
 * The built-in datasets, generated on first use and cached (`--data shapes`),
 * and the folders they are cached in: a generated-dataset folder (labels.json
 * written by the shapes / fashion generators, with any options) is read as it
 * is when `--data` names it. Their generators are imported when a dataset is
 * loaded: the other formats do not need them.
 */
import type { DatasetReader, FormatMatch } from '../formats/format.js';
import type { DetectionDataset } from '../types.js';
import { isInstanceCacheDir, readInstanceCache } from './instance-cache.js';

export interface BuiltinLoadOptions {
  /** The cache folder (default: <cache root>/<dataset>-<hash of its options>; see `cacheRoot`). */
  dir?: string;
  /** Progress of a generation on stderr (default), on a given stream, or none (false). */
  progress?: boolean | NodeJS.WritableStream;
}

export interface BuiltinDataset<N extends string = string> {
  /** What `--data` names it by. */
  readonly name: N;
  readonly description: string;
  /** Generates it into its cache folder on first use, reads it from there afterwards. */
  load(options?: BuiltinLoadOptions): Promise<DetectionDataset>;
}

/**
 * 'shapes-small': the quick built-in job (the default of `yolor train`): 240/60/60 images of
 * 256 px with 1–4 shapes of 24–100 px, so that a few epochs finish in minutes on 2 cores.
 */
export const SHAPES_SMALL = { train: 240, val: 60, test: 60, size: 256, minObjects: 1, maxObjects: 4, minSize: 24, maxSize: 100 } as const;

function builtin<const N extends string>(entry: BuiltinDataset<N>): BuiltinDataset<N> {
  return entry;
}

/** Every built-in dataset, once. */
export const BUILTIN_DATASET_REGISTRY = [
  builtin({
    name: 'shapes',
    description: 'coloured geometric shapes on textured backgrounds: 6 classes, 7 colours, masks and identities; 1000/200/200 images of 256 px',
    load: async (o = {}) => (await import('./shapes.js')).shapesDataset(o.dir, { progress: o.progress }),
  }),
  builtin({
    name: 'shapes-small',
    description: 'the shapes dataset for quick jobs: 240/60/60 images of 256 px with 1–4 shapes of 24–100 px',
    load: async (o = {}) => ({
      ...(await (await import('./shapes.js')).shapesDataset(o.dir, { ...SHAPES_SMALL, progress: o.progress })),
      name: 'shapes-small',
    }),
  }),
  builtin({
    name: 'shapes-pretrain',
    description:
      'unlabelled scenes for `yolor pretrain`: shapes-small’s look under another seed (1), 3000 train images, no val/test — never the evaluation images',
    load: async (o = {}) => ({
      ...(await (await import('./shapes.js')).shapesDataset(o.dir, { ...SHAPES_SMALL, seed: 1, train: 3000, val: 0, test: 0, progress: o.progress })),
      name: 'shapes-pretrain',
    }),
  }),
  builtin({
    name: 'fashion',
    description: 'Fashion-MNIST items tinted and composited on textured backgrounds: 10 classes, 7 colours; needs the Fashion-MNIST IDX files',
    load: async (o = {}) => (await import('./fashion.js')).fashionDataset(o.dir, { progress: o.progress }),
  }),
] as const;

export type BuiltinDatasetName = (typeof BUILTIN_DATASET_REGISTRY)[number]['name'];

/** The built-in dataset names. */
export const BUILTIN_DATASETS: readonly BuiltinDatasetName[] = BUILTIN_DATASET_REGISTRY.map((d) => d.name);

/** The built-in dataset called `name`, if there is one. */
export function builtinDataset(name: string): (typeof BUILTIN_DATASET_REGISTRY)[number] | undefined {
  return BUILTIN_DATASET_REGISTRY.find((d) => d.name === name);
}

export type GeneratedMatch = FormatMatch<'generated'>;

/** A generated-dataset folder: boxes, masks, attributes and identities, read as they were generated. */
export const generatedDatasetFolder = {
  name: 'generated',
  detect: (path, ctx) => (ctx.folder && isInstanceCacheDir(path) ? { format: 'generated', path } : null),
  read: async (match) => readInstanceCache(match.path),
  readSync: (match) => readInstanceCache(match.path),
} satisfies DatasetReader<'generated', GeneratedMatch>;
