/**
 * Ultralytics (YOLO) dataset reader.
 *
 * The dataset YAML:
 *   path:  dataset root; relative to the YAML's folder (default: that folder)
 *   train, val, test: a folder of images (searched recursively), a .txt list of
 *          image paths (relative lines are relative to the list's folder), or a
 *          list of those; relative to `path`
 *   names: a list, or a map {0: name, 1: name, ...}; `nc`, when present, must agree
 *   yolor_splits: {name: source}: further splits (this package's extension)
 *   yolor_flags: a JSON file {"<label file relative to path>": {"difficult": [line, ...],
 *          "iscrowd": [line, ...]}} (this package's extension, written by writeYolo
 *          so VOC `difficult` and COCO `iscrowd` survive a round trip; Ultralytics
 *          ignores both keys)
 *
 * Labels: the image path with its last `/images/` replaced by `/labels/` and the
 * extension by `.txt`; one row per object, `cls cx cy w h` normalised to [0, 1],
 * or a segment row `cls x1 y1 ... xn yn` (n ≥ 3; the box is the polygon's extent
 * and the polygon is kept as `segmentation` in pixels). Bad rows — wrong column
 * count, non-numbers, a class id out of range, coordinates outside [0, 1] by
 * more than 1e-3, non-positive size, duplicates — are reported with the label
 * file and line and dropped. A missing label file is an image without objects
 * (not an error). Image sizes come from the image headers (sharp metadata,
 * EXIF orientation applied), read concurrently (16 at a time by default); an
 * image that cannot be read is reported and left out.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { readYamlFile } from '../../../io/yaml.js';
import { readImageSize } from '../../image-io.js';
import type { BadInput, DetectionDataset, ImageRecord } from '../../types.js';
import type { SegmentedAnnotation } from '../coco/segmentation.js';
import { mapLimit, validateBox } from '../reading.js';

/** Ultralytics' image extensions. */
export const IMAGE_EXTENSIONS = new Set(['.bmp', '.dng', '.jpeg', '.jpg', '.mpo', '.png', '.tif', '.tiff', '.webp', '.pfm', '.heic']);

/** Coordinates may exceed [0, 1] by this much (rounding in label tools) before a row is dropped. */
export const COORD_TOLERANCE = 1e-3;

/** Box edges this close (relative to the image size) outside the image are clamped silently: rounding noise, not a problem. */
const SNAP = 1e-6;

export interface YoloReadOptions {
  /** Concurrency of image-header reads (default 16). */
  concurrency?: number;
}

export interface YoloDatasetYaml {
  /** Absolute dataset root. */
  root: string;
  names: string[];
  /** Split name → image sources (absolute folders or list files). */
  splits: Record<string, string[]>;
  /** Absolute path of the yolor_flags JSON, when present. */
  flags?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseNames(v: unknown, file: string): string[] {
  if (Array.isArray(v)) {
    return v.map((n, i) => {
      if (typeof n !== 'string' && typeof n !== 'number') throw new Error(`${file}: names[${i}] must be a string, got ${JSON.stringify(n)}`);
      return String(n);
    });
  }
  if (isObj(v)) {
    const entries = Object.entries(v).map(([k, n]) => [Number(k), n] as const);
    const bad = entries.find(([k]) => !Number.isInteger(k) || k < 0);
    if (bad) throw new Error(`${file}: 'names' keys must be class ids 0, 1, ...; got '${String(bad[0])}'`);
    entries.sort((a, b) => a[0] - b[0]);
    entries.forEach(([k], i) => {
      if (k !== i) throw new Error(`${file}: 'names' class ids must be 0..${entries.length - 1} without gaps; ${i} is missing`);
    });
    return entries.map(([, n]) => String(n));
  }
  throw new Error(`${file}: 'names' must be a list or a map {0: name, ...}`);
}

export { readYamlFile } from '../../../io/yaml.js';

/** Parses and checks a dataset YAML (throws with the file and the key on anything unusable). */
export function parseDatasetYaml(file: string): YoloDatasetYaml {
  const path = resolve(file);
  const raw = readYamlFile(path);
  checkDatasetYaml(raw, path);
  const yamlDir = dirname(path);
  const root = typeof raw.path === 'string' && raw.path !== '' ? resolve(yamlDir, raw.path) : yamlDir;
  const names = parseNames(raw.names, path);
  if (raw.nc !== undefined && raw.nc !== names.length) {
    throw new Error(`${path}: nc is ${JSON.stringify(raw.nc)} but 'names' has ${names.length} classes`);
  }
  const sources = (v: unknown, key: string): string[] => {
    const list = Array.isArray(v) ? v : [v];
    return list.map((s) => {
      if (typeof s !== 'string' || s === '') throw new Error(`${path}: '${key}' must be a path or a list of paths, got ${JSON.stringify(s)}`);
      return resolve(root, s);
    });
  };
  const splits: Record<string, string[]> = {};
  for (const key of ['train', 'val', 'test']) {
    if (raw[key] !== undefined && raw[key] !== null && raw[key] !== '') splits[key] = sources(raw[key], key);
  }
  if (raw.yolor_splits !== undefined) {
    if (!isObj(raw.yolor_splits)) throw new Error(`${path}: 'yolor_splits' must be a map {split: path}`);
    for (const [k, v] of Object.entries(raw.yolor_splits)) splits[k] = sources(v, `yolor_splits.${k}`);
  }
  const out: YoloDatasetYaml = { root, names, splits };
  if (typeof raw.yolor_flags === 'string') out.flags = resolve(root, raw.yolor_flags);
  return out;
}

/** Throws unless `raw` is an Ultralytics dataset YAML (with a hint at what it is instead). */
export function checkDatasetYaml(raw: unknown, path: string): asserts raw is Obj {
  if (!isObj(raw) || raw.names === undefined || !(raw.train !== undefined || raw.val !== undefined)) {
    const hint = isObj(raw) && (raw.backbone !== undefined || raw.anchors !== undefined || raw.head !== undefined) ? ' (a model config?)' : '';
    throw new Error(`${path}: YAML without 'names' and 'train'/'val': not an Ultralytics dataset YAML${hint}`);
  }
}

/** Ultralytics' img2label_paths: the last /images/ → /labels/, extension → .txt. */
export function labelPathFor(image: string): string {
  const sa = `${sep}images${sep}`;
  const sb = `${sep}labels${sep}`;
  const i = image.lastIndexOf(sa);
  const swapped = i < 0 ? image : image.slice(0, i) + sb + image.slice(i + sa.length);
  const ext = extname(swapped);
  return `${ext ? swapped.slice(0, -ext.length) : swapped}.txt`;
}

function walkImages(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walkImages(p, out);
    else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
  }
}

/** The image paths of one split source; problems go to `bad`. */
function listSource(src: string, bad: BadInput[], yamlPath: string, key: string): string[] {
  if (!existsSync(src)) {
    bad.push({ file: yamlPath, problem: `${key}: ${src} does not exist`, action: 'skipped' });
    return [];
  }
  if (statSync(src).isDirectory()) {
    const out: string[] = [];
    walkImages(src, out);
    return out.sort();
  }
  if (extname(src).toLowerCase() === '.txt') {
    const dir = dirname(src);
    return readFileSync(src, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map((l) => (isAbsolute(l) ? l : resolve(dir, l)));
  }
  if (IMAGE_EXTENSIONS.has(extname(src).toLowerCase())) return [src];
  bad.push({ file: yamlPath, problem: `${key}: ${src} is neither a folder of images nor a .txt list`, action: 'skipped' });
  return [];
}

/**
 * Parses one label file's text into annotations in pixels of a `width`×`height`
 * image. Every bad row is reported (file = `file`, problem `line N: ...`) and dropped.
 */
export function parseYoloLabels(
  text: string,
  file: string,
  names: readonly string[],
  width: number,
  height: number,
  bad: BadInput[],
): { annotations: SegmentedAnnotation[]; lines: number[] } {
  const annotations: SegmentedAnnotation[] = [];
  const lines: number[] = [];
  const seen = new Map<string, number>();
  const nc = names.length;
  const tol = COORD_TOLERANCE;
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = i + 1;
    const row = rawLine.trim();
    if (row === '') return;
    const drop = (problem: string): void => {
      bad.push({ file, problem: `line ${line}: ${problem}`, action: 'dropped' });
    };
    const cols = row.split(/\s+/);
    const isBox = cols.length === 5;
    const isSegment = cols.length >= 7 && cols.length % 2 === 1;
    if (!isBox && !isSegment) {
      drop(`${cols.length} columns; expected 5 (class cx cy w h) or a polygon (class x1 y1 ... xn yn, n ≥ 3)`);
      return;
    }
    const nums = cols.map(Number);
    const nan = cols.findIndex((c, k) => !Number.isFinite(nums[k]!) || c === '');
    if (nan >= 0) {
      drop(`'${cols[nan]}' is not a number`);
      return;
    }
    const cls = nums[0]!;
    if (!Number.isInteger(cls) || cls < 0 || cls >= nc) {
      drop(`class id ${cols[0]} is out of range (0..${nc - 1}: ${names.length <= 10 ? names.join(', ') : `${nc} classes`})`);
      return;
    }
    const coords = nums.slice(1);
    const outside = coords.findIndex((v) => v < -tol || v > 1 + tol);
    if (outside >= 0) {
      drop(`coordinate ${cols[outside + 1]} is outside [0, 1] (labels are normalised by the image size)`);
      return;
    }
    const key = nums.join(' ');
    const dup = seen.get(key);
    if (dup !== undefined) {
      drop(`duplicate of line ${dup}`);
      return;
    }
    seen.set(key, line);
    let box: [number, number, number, number];
    let segmentation: number[][] | undefined;
    if (isBox) {
      const [cx, cy, w, h] = coords as [number, number, number, number];
      if (!(w > 0) || !(h > 0)) {
        drop(`box size ${cols[3]} x ${cols[4]} is not positive`);
        return;
      }
      box = [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height];
    } else {
      const poly = coords.map((v, k) => (k % 2 === 0 ? v * width : v * height));
      const xs = poly.filter((_, k) => k % 2 === 0);
      const ys = poly.filter((_, k) => k % 2 === 1);
      box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      if (!(box[2] > box[0]) || !(box[3] > box[1])) {
        drop('polygon has no area (all points on a line)');
        return;
      }
      segmentation = [poly];
    }
    // Float noise of normalised labels (an edge at 1.0000000024) is clamped without a report.
    const snap = (v: number, size: number): number => (v < 0 && v > -SNAP * size ? 0 : v > size && v < size * (1 + SNAP) ? size : v);
    box = [snap(box[0], width), snap(box[1], height), snap(box[2], width), snap(box[3], height)];
    const checked = validateBox(box, width, height, `line ${line}`, bad, file);
    if (!checked) return;
    const ann: SegmentedAnnotation = { cls, box: checked };
    if (segmentation) ann.segmentation = segmentation;
    annotations.push(ann);
    lines.push(line);
  });
  return { annotations, lines };
}

interface Flags {
  difficult?: number[];
  iscrowd?: number[];
}

function readFlags(path: string, bad: BadInput[]): Map<string, Flags> {
  const out = new Map<string, Flags>();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    bad.push({ file: path, problem: `cannot read the difficult/iscrowd flags: ${(err as Error).message}`, action: 'skipped' });
    return out;
  }
  if (!isObj(raw)) {
    bad.push({ file: path, problem: 'flags file is not a JSON object {label file: {difficult: [...], iscrowd: [...]}}', action: 'skipped' });
    return out;
  }
  for (const [k, v] of Object.entries(raw)) if (isObj(v)) out.set(k, v as Flags);
  return out;
}

/** Reads an Ultralytics dataset YAML; splits train/val/test (+ yolor_splits) and 'all' (their union, unless given). */
export async function readYolo(yamlPath: string, opts: YoloReadOptions = {}): Promise<DetectionDataset> {
  const path = resolve(yamlPath);
  const y = parseDatasetYaml(path);
  const bad: BadInput[] = [];
  const lists: Record<string, string[]> = {};
  const unique = new Map<string, ImageRecord | null>();
  for (const [split, sources] of Object.entries(y.splits)) {
    const files = sources.flatMap((s) => listSource(s, bad, path, split));
    lists[split] = files;
    for (const f of files) unique.set(f, null);
  }
  const flags = y.flags ? readFlags(y.flags, bad) : new Map<string, Flags>();
  let id = 0;
  const entries = [...unique.keys()].map((file) => ({ file, id: id++ }));
  await mapLimit(entries, opts.concurrency ?? 16, async ({ file, id: imageId }) => {
    let size: { width: number; height: number };
    try {
      size = await readImageSize(file);
    } catch (err) {
      const msg = (err as Error).message.replace(`${file}: `, '');
      bad.push({ file, problem: `${msg}; image left out`, action: 'skipped' });
      return;
    }
    const labelFile = labelPathFor(file);
    let text: string | undefined;
    try {
      text = readFileSync(labelFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        bad.push({ file: labelFile, problem: `cannot read: ${(err as Error).message}; image has no objects`, action: 'skipped' });
    }
    const rec: ImageRecord = { id: imageId, file, width: size.width, height: size.height, annotations: [] };
    if (text !== undefined) {
      const { annotations, lines } = parseYoloLabels(text, labelFile, y.names, size.width, size.height, bad);
      const rel = labelFile.startsWith(y.root + sep)
        ? labelFile
            .slice(y.root.length + 1)
            .split(sep)
            .join('/')
        : labelFile;
      const f = flags.get(rel);
      if (f) {
        annotations.forEach((a, k) => {
          if (f.difficult?.includes(lines[k]!)) a.difficult = true;
          if (f.iscrowd?.includes(lines[k]!)) a.iscrowd = true;
        });
      }
      rec.annotations = annotations;
    }
    unique.set(file, rec);
  });
  // Reports in a stable order whatever the order the reads finished in.
  bad.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const splits: Record<string, ImageRecord[]> = {};
  for (const [split, files] of Object.entries(lists)) {
    splits[split] = files.map((f) => unique.get(f)).filter((r): r is ImageRecord => !!r);
  }
  if (!('all' in splits)) splits.all = [...unique.values()].filter((r): r is ImageRecord => !!r);
  const name = ['data', 'dataset'].includes(basename(path, extname(path))) ? basename(y.root) : basename(path, extname(path));
  return { name, source: path, format: 'yolo', names: y.names, splits, bad };
}
