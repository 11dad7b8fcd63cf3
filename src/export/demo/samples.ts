/**
 * The demo's sample images: a few images of the checkpoint's own validation
 * data, copied into the served folder with a `samples.json` list, so that
 * the page opens on an image with detections instead of an empty canvas.
 *
 * Where they come from (`--samples`):
 *   - `auto` (default): the dataset and split the checkpoint was validated on,
 *     as recorded in its metadata (`data: { source, split }`, written by
 *     `yolor train`) or, for older checkpoints, in the run's args.yaml two
 *     folders up (weights/best → the run directory);
 *   - a directory (or one image file): its images, sorted by name;
 *   - `none`: no samples.
 * In `auto` mode nothing found is not an error: the list is empty and its
 * `note` says why, which the page shows next to the image picker.
 *
 * Images the browser decodes (PNG, JPEG, WebP, BMP, GIF) are copied as they
 * are; others (TIFF) are converted to PNG.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { listImages } from '../../data/image-files.js';
import { decodeImage, encodePng, readImageSize } from '../../data/image-io.js';
import { readYamlFile } from '../../io/yaml.js';

export const SAMPLES_JSON = 'samples.json';
/** Samples copied at most. */
export const MAX_SAMPLES = 8;

const BROWSER_FORMATS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif']);

export interface DemoSample {
  /** File name under the samples folder. */
  file: string;
  /** The original file's name, for display. */
  name: string;
  width: number;
  height: number;
}

/** `samples.json`, as demo/src/samples.ts reads it. */
export interface DemoSamples {
  /** Where the images came from, for display (e.g. "shapes-small, val split"), or null. */
  source: string | null;
  images: DemoSample[];
  /** Why there are no images (shown by the page); absent when there are some. */
  note?: string;
}

/** Which validation data a checkpoint records. */
export interface ValDataRef {
  source: string;
  split: string;
}

/** The dataset and split a checkpoint was validated on: its metadata's `data`, else its run's args.yaml; null when neither says. */
export function checkpointValData(weights: string, metadata: Record<string, unknown>): ValDataRef | null {
  const data = metadata.data as { source?: unknown; split?: unknown } | undefined;
  if (data && typeof data.source === 'string' && data.source)
    return { source: data.source, split: typeof data.split === 'string' ? data.split : 'val' };
  const args = join(resolve(weights), '..', '..', 'args.yaml');
  if (!existsSync(args)) return null;
  try {
    const a = readYamlFile(args) as { data?: unknown; valSplit?: unknown } | null;
    if (!a || typeof a.data !== 'string' || !a.data) return null;
    // A relative path in args.yaml is relative to where training ran: try the current directory, then the run's parent.
    const source = [resolve(a.data), resolve(dirname(args), '..', a.data)].find((p) => existsSync(p)) ?? a.data;
    return { source, split: typeof a.valSplit === 'string' ? a.valSplit : 'val' };
  } catch {
    return null;
  }
}

interface Found {
  files: Array<{ path: string; width?: number; height?: number }>;
  source: string | null;
  note?: string;
}

async function fromValData(ref: ValDataRef, limit: number): Promise<Found> {
  const { datasetSplit, loadDetectionDatasetAsync } = await import('../../data/resolve.js');
  const where = `${ref.source} (${ref.split} split)`;
  try {
    const ds = await loadDetectionDatasetAsync(ref.source);
    const records = datasetSplit(ds, ref.split)
      .filter((r) => existsSync(r.file))
      .slice(0, limit);
    if (records.length === 0) return { files: [], source: where, note: `the validation data ${where} has no image files here` };
    return { files: records.map((r) => ({ path: r.file, width: r.width, height: r.height })), source: `${ds.name}, ${ref.split} split` };
  } catch (err) {
    return { files: [], source: where, note: `the validation data ${where} cannot be read: ${(err as Error).message.split('\n')[0]}` };
  }
}

async function find(spec: string, weights: string, metadata: Record<string, unknown>, limit: number): Promise<Found> {
  if (spec === 'none') return { files: [], source: null, note: 'no sample images (--samples none)' };
  if (spec !== 'auto') {
    // An explicit folder: a missing one is the user's error; an empty one only a note.
    if (!existsSync(resolve(spec))) throw new Error(`--samples ${spec}: no such file or directory`);
    let files: string[];
    try {
      files = listImages(spec);
    } catch (err) {
      return { files: [], source: spec, note: (err as Error).message };
    }
    return { files: files.slice(0, limit).map((path) => ({ path })), source: spec };
  }
  const ref = checkpointValData(weights, metadata);
  if (!ref) return { files: [], source: null, note: 'the checkpoint does not record its validation data (pass --samples DIR)' };
  return fromValData(ref, limit);
}

/**
 * Copies up to `limit` sample images into `dir` (created) and writes
 * `dir/samples.json`; returns its content. Throws only for an explicit
 * `--samples` path that does not exist.
 */
export async function writeSamples(
  dir: string,
  opts: { spec?: string; weights: string; metadata: Record<string, unknown>; limit?: number },
): Promise<DemoSamples> {
  const limit = opts.limit ?? MAX_SAMPLES;
  const found = await find(opts.spec ?? 'auto', opts.weights, opts.metadata, limit);
  await mkdir(dir, { recursive: true });
  const images: DemoSample[] = [];
  const skipped: string[] = [];
  for (const f of found.files) {
    const ext = extname(f.path).toLowerCase();
    const file = `${String(images.length).padStart(2, '0')}${BROWSER_FORMATS.has(ext) ? ext : '.png'}`;
    try {
      const size = f.width && f.height ? { width: f.width, height: f.height } : await readImageSize(f.path);
      if (BROWSER_FORMATS.has(ext)) await copyFile(f.path, join(dir, file));
      else await writeFile(join(dir, file), await encodePng(await decodeImage(f.path)));
      images.push({ file, name: basename(f.path), ...size });
    } catch (err) {
      skipped.push(`${basename(f.path)}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const note = images.length > 0 ? undefined : (found.note ?? (skipped.length ? `no readable sample images (${skipped[0]})` : 'no sample images'));
  const samples: DemoSamples = { source: found.source, images, ...(note ? { note } : {}) };
  await writeFile(join(dir, SAMPLES_JSON), `${JSON.stringify(samples, null, 2)}\n`);
  return samples;
}
