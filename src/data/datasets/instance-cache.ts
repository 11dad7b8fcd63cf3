/**
 * The on-disk cache of a generated dataset (shapes, fashion): a folder with
 * `images/<split>/<index>.png` and `labels.json`, which holds every object's
 * box, class, colour, identity, areas and row-major RLE mask, the class and
 * attribute names, and the generation key (`kind` + `hash` of the options) that
 * says whether the folder holds the dataset asked for.
 *
 * `ensureInstanceCache` generates a folder when it does not hold the dataset
 * asked for (written atomically, so an interrupted generation leaves nothing
 * half-written) and reads it otherwise; `readInstanceCache` reads any such
 * folder as it is (the `--data` of a dataset generated with custom options).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { recoverAtomicDir, writeFilesAtomic } from '../../io/atomic-write.js';
import { ProgressBar } from '../../util/progress.js';
import { encodePng } from '../image-io.js';
import type { DetectionDataset, Sample } from '../types.js';
import { type InstanceImage, type InstanceImageRecord, type InstanceObject, loadInstanceSample, recordLabels, recordMasks } from './instances.js';

/** Root of generated-dataset caches: $YOLOR_CACHE_DIR, else ~/.cache/yolor-ts. */
export function cacheRoot(): string {
  const env = process.env.YOLOR_CACHE_DIR;
  return env ? resolve(env) : join(homedir(), '.cache', 'yolor-ts');
}

/** A generated dataset read from its cache: a DetectionDataset with masks, attributes and identities. */
export interface InstanceDataset extends DetectionDataset {
  splits: Record<string, InstanceImageRecord[]>;
  /** Attribute (colour) names. */
  attributes: string[];
  /** Cache directory. */
  dir: string;
  /** Cache key (hash of the generation options). */
  hash: string;
  /** Number of distinct identities (identity ids are below this). */
  numIdentities: number;
  /** Whether this call generated the data (false: read from the cache). */
  generated: boolean;
  masks(record: InstanceImageRecord): Uint8Array[];
  /** Colour attribute per annotation. */
  attributeIds(record: InstanceImageRecord): number[];
  labels(record: InstanceImageRecord): Float32Array;
  loadSample(record: InstanceImageRecord): Promise<Sample>;
}

export const LABELS_FILE = 'labels.json';
const CACHE_FORMAT = 'yolor-ts generated instances';
const CACHE_FORMAT_VERSION = 1;

/** Objects are cached exactly as generated. */
type CachedObject = InstanceObject;

interface CachedImage {
  file: string;
  width: number;
  height: number;
  dropped: number;
  objects: CachedObject[];
}

interface CacheLabels {
  format: string;
  formatVersion: number;
  kind: string;
  hash: string;
  names: string[];
  attributes: string[];
  numIdentities: number;
  meta: Record<string, unknown>;
  splits: Record<string, CachedImage[]>;
}

export interface InstanceCacheSpec {
  /** 'shapes', 'fashion'; also the dataset name. */
  kind: string;
  hash: string;
  names: string[];
  attributes: string[];
  numIdentities: number;
  /** Stored in the labels file (options, templates, source fingerprint …). */
  meta: Record<string, unknown>;
  /** Split names and sizes, in order. */
  splits: [string, number][];
  generate: (split: string, index: number) => InstanceImage;
  /** Progress on stderr (default), a given stream, or none (false). */
  progress?: boolean | NodeJS.WritableStream;
  /** Extra check of a cached labels file's meta (e.g. the source data fingerprint); false regenerates. */
  acceptCached?: (meta: Record<string, unknown>) => boolean;
}

/**
 * The labels.json of `dir`, checked: in the cache format and version, and every
 * image it lists present. Throws naming the file (or folder) and what is wrong.
 */
function checkedLabels(dir: string): CacheLabels {
  const file = join(dir, LABELS_FILE);
  let labels: CacheLabels;
  try {
    labels = JSON.parse(readFileSync(file, 'utf8')) as CacheLabels;
  } catch (err) {
    throw new Error(`${file}: cannot read the generated dataset's labels (${(err as Error).message.split('\n')[0]})`);
  }
  if (labels.format !== CACHE_FORMAT) throw new Error(`${file}: not a generated yolor-ts dataset (format ${JSON.stringify(labels.format)})`);
  if (labels.formatVersion !== CACHE_FORMAT_VERSION) {
    throw new Error(
      `${file}: generated-dataset format version ${labels.formatVersion}, this version reads ${CACHE_FORMAT_VERSION}: generate it again`,
    );
  }
  for (const images of Object.values(labels.splits ?? {})) {
    for (const im of images) if (!existsSync(join(dir, im.file))) throw new Error(`${dir}: image ${im.file} listed in ${LABELS_FILE} is missing`);
  }
  return labels;
}

/** The labels of `dir` when it holds a valid cache of exactly this dataset (`kind` and `hash`), else null. */
function cachedLabels(dir: string, kind: string, hash: string): CacheLabels | null {
  let labels: CacheLabels;
  try {
    labels = checkedLabels(dir);
  } catch {
    return null;
  }
  return labels.kind === kind && labels.hash === hash ? labels : null;
}

function toDataset(dir: string, labels: CacheLabels, generated: boolean): InstanceDataset {
  const numClasses = labels.names.length;
  const numAttributes = labels.attributes.length;
  const splits: Record<string, InstanceImageRecord[]> = {};
  let id = 0;
  for (const [split, images] of Object.entries(labels.splits)) {
    splits[split] = images.map((im) => ({
      id: id++,
      file: join(dir, im.file),
      width: im.width,
      height: im.height,
      annotations: im.objects.map((o) => ({ cls: o.cls, box: [...o.box] as [number, number, number, number], identity: o.identity })),
      colors: im.objects.map((o) => o.color),
      rle: im.objects.map((o) => o.rle),
      areas: im.objects.map((o) => o.area),
      dropped: im.dropped,
      numClasses,
      numAttributes,
    }));
  }
  return {
    name: labels.kind,
    source: dir,
    format: 'builtin',
    names: [...labels.names],
    splits,
    bad: [],
    attributes: [...labels.attributes],
    dir,
    hash: labels.hash,
    numIdentities: labels.numIdentities,
    generated,
    masks: recordMasks,
    attributeIds: (r) => [...r.colors],
    labels: recordLabels,
    loadSample: loadInstanceSample,
  };
}

/** Whether `dir` holds a generated dataset (shapes or fashion, any options): its labels.json in the cache format. */
export function isInstanceCacheDir(dir: string): boolean {
  const file = join(dir, LABELS_FILE);
  if (!existsSync(file)) return false;
  try {
    const head = JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown };
    return head.format === CACHE_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Reads a generated dataset folder as it is (e.g. made with custom options by
 * `shapesDataset(dir, opts)`), with masks, attributes and identities. Errors name
 * the folder and what is wrong.
 */
export function readInstanceCache(dir: string): InstanceDataset {
  return toDataset(dir, checkedLabels(dir), false);
}

function progressStream(p: InstanceCacheSpec['progress']): NodeJS.WritableStream | null {
  if (p === false) return null;
  if (p === undefined || p === true) return process.stderr;
  return p;
}

/**
 * Returns the dataset cached in `dir` when its key matches `spec.hash`;
 * otherwise generates every image, encodes PNGs and writes the directory
 * atomically (images/<split>/<index>.png + labels.json), then returns it.
 */
export async function ensureInstanceCache(dir: string, spec: InstanceCacheSpec): Promise<InstanceDataset> {
  const root = resolve(dir);
  await recoverAtomicDir(root);
  const cached = cachedLabels(root, spec.kind, spec.hash);
  if (cached && (!spec.acceptCached || spec.acceptCached(cached.meta ?? {}))) return toDataset(root, cached, false);

  const total = spec.splits.reduce((s, [, n]) => s + n, 0);
  const stream = progressStream(spec.progress);
  const bar = stream ? new ProgressBar({ total, label: `generating ${spec.kind}`, unit: 'img', stream }) : null;
  const files: Record<string, Uint8Array> = {};
  const labels: CacheLabels = {
    format: CACHE_FORMAT,
    formatVersion: CACHE_FORMAT_VERSION,
    kind: spec.kind,
    hash: spec.hash,
    names: spec.names,
    attributes: spec.attributes,
    numIdentities: spec.numIdentities,
    meta: spec.meta,
    splits: {},
  };
  const BATCH = 16;
  for (const [split, n] of spec.splits) {
    const out: CachedImage[] = [];
    labels.splits[split] = out;
    const digits = Math.max(6, String(Math.max(0, n - 1)).length);
    for (let start = 0; start < n; start += BATCH) {
      const jobs: Promise<void>[] = [];
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        const img = spec.generate(split, i);
        const rel = `images/${split}/${String(i).padStart(digits, '0')}.png`;
        out.push({
          file: rel,
          width: img.image.width,
          height: img.image.height,
          dropped: img.dropped,
          objects: img.objects.map((o) => ({
            cls: o.cls,
            color: o.color,
            identity: o.identity,
            box: o.box,
            area: o.area,
            fullArea: o.fullArea,
            rle: o.rle,
          })),
        });
        jobs.push(
          encodePng(img.image).then((buf) => {
            files[rel] = buf;
            bar?.tick();
          }),
        );
      }
      await Promise.all(jobs);
    }
  }
  files[LABELS_FILE] = Buffer.from(JSON.stringify(labels));
  await writeFilesAtomic(root, files);
  bar?.finish();
  return toDataset(root, labels, true);
}
