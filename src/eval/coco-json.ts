/**
 * Reading COCO ground truth (instances JSON) and COCO detection results from
 * disk, with errors that say where the problem is: the file, the line:column of
 * malformed JSON, the index and field of a bad entry, and the ids a detection
 * file refers to that the ground truth does not have. Every message is one line.
 */
import { readFile } from 'node:fs/promises';
import { JsonSyntaxError, parseJsonText } from '../io/json.js';
import type { CocoAnnotation, CocoCategory, CocoDet, CocoGt, CocoId, CocoImage } from './coco.js';

export class CocoFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CocoFormatError';
  }
}

/** The file's JSON (io/json.ts); malformed JSON is a CocoFormatError like every other problem of the file. */
function parseJson(text: string, source: string): unknown {
  try {
    return parseJsonText(text, source);
  } catch (err) {
    throw err instanceof JsonSyntaxError ? new CocoFormatError(err.message) : err;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new CocoFormatError(`${path}: no such file`);
    if (e.code === 'EISDIR') throw new CocoFormatError(`${path}: is a directory, expected a JSON file`);
    throw new CocoFormatError(`${path}: cannot read: ${e.message}`);
  }
}

// ---------------------------------------------------------------- field checks

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function field(o: Obj, name: string, where: string): unknown {
  if (!(name in o) || o[name] === undefined) throw new CocoFormatError(`${where}: missing field '${name}'`);
  return o[name];
}

function idField(o: Obj, name: string, where: string): CocoId {
  const v = field(o, name, where);
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string') return v;
  throw new CocoFormatError(`${where}: field '${name}' must be a number or string id, got ${show(v)}`);
}

function numberField(o: Obj, name: string, where: string): number {
  const v = field(o, name, where);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new CocoFormatError(`${where}: field '${name}' must be a finite number, got ${show(v)}`);
  return v;
}

function bboxField(o: Obj, where: string): [number, number, number, number] {
  const v = field(o, 'bbox', where);
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new CocoFormatError(`${where}: field 'bbox' must be [x, y, width, height] (4 finite numbers), got ${show(v)}`);
  }
  const b = v as [number, number, number, number];
  if (b[2] < 0 || b[3] < 0) {
    throw new CocoFormatError(`${where}: bbox has a negative width or height: ${show(b)} (COCO boxes are [x, y, width, height])`);
  }
  return b;
}

function arrayField(root: Obj, name: string, source: string): unknown[] {
  const v = root[name];
  if (v === undefined) throw new CocoFormatError(`${source}: not a COCO instances file: missing '${name}' array`);
  if (!Array.isArray(v)) throw new CocoFormatError(`${source}: '${name}' must be an array, got ${typeof v}`);
  return v;
}

// ---------------------------------------------------------------- ground truth

/** Checks a parsed COCO instances object and returns a normalised copy (area filled in as w*h where absent). */
export function validateCocoGt(raw: unknown, source = '<ground truth>'): CocoGt {
  if (!isObj(raw)) {
    throw new CocoFormatError(
      `${source}: expected a COCO instances object with 'images', 'annotations' and 'categories', got ${Array.isArray(raw) ? 'an array (a results file?)' : typeof raw}`,
    );
  }
  const images: CocoImage[] = arrayField(raw, 'images', source).map((im, i) => {
    const where = `${source}: images[${i}]`;
    if (!isObj(im)) throw new CocoFormatError(`${where}: expected an object, got ${show(im)}`);
    const out: CocoImage = { id: idField(im, 'id', where) };
    if (typeof im.file_name === 'string') out.file_name = im.file_name;
    if (typeof im.width === 'number') out.width = im.width;
    if (typeof im.height === 'number') out.height = im.height;
    return out;
  });
  const categories: CocoCategory[] = arrayField(raw, 'categories', source).map((c, i) => {
    const where = `${source}: categories[${i}]`;
    if (!isObj(c)) throw new CocoFormatError(`${where}: expected an object, got ${show(c)}`);
    const out: CocoCategory = { id: idField(c, 'id', where) };
    if (c.name !== undefined) {
      if (typeof c.name !== 'string') throw new CocoFormatError(`${where}: field 'name' must be a string, got ${show(c.name)}`);
      out.name = c.name;
    }
    if (typeof c.supercategory === 'string') out.supercategory = c.supercategory;
    return out;
  });
  const annotations: CocoAnnotation[] = arrayField(raw, 'annotations', source).map((a, i) => {
    const where = `${source}: annotations[${i}]`;
    if (!isObj(a)) throw new CocoFormatError(`${where}: expected an object, got ${show(a)}`);
    const bbox = bboxField(a, where);
    const out: CocoAnnotation = {
      image_id: idField(a, 'image_id', where),
      category_id: idField(a, 'category_id', where),
      bbox,
      area: a.area === undefined ? bbox[2] * bbox[3] : numberField(a, 'area', where),
      iscrowd: 0,
    };
    if (typeof a.id === 'number') out.id = a.id;
    if (a.iscrowd !== undefined) {
      if (a.iscrowd !== 0 && a.iscrowd !== 1 && typeof a.iscrowd !== 'boolean') {
        throw new CocoFormatError(`${where}: field 'iscrowd' must be 0 or 1, got ${show(a.iscrowd)}`);
      }
      out.iscrowd = a.iscrowd ? 1 : 0;
    }
    return out;
  });
  return { images, annotations, categories };
}

export function parseCocoGt(text: string, source = '<ground truth>'): CocoGt {
  return validateCocoGt(parseJson(text, source), source);
}

export async function loadCocoGt(path: string): Promise<CocoGt> {
  return parseCocoGt(await readText(path), path);
}

// ---------------------------------------------------------------- detections

const MAX_IDS_SHOWN = 5;

function unknownIdsError(source: string, field: string, count: number, ids: CocoId[], what: string): CocoFormatError {
  const shown = ids
    .slice(0, MAX_IDS_SHOWN)
    .map((x) => show(x))
    .join(', ');
  const more = ids.length > MAX_IDS_SHOWN ? `, ... (${ids.length} distinct)` : '';
  const noun = count === 1 ? 'detection refers' : 'detections refer';
  return new CocoFormatError(`${source}: ${count} ${noun} to ${field} values that are not in the ground truth's ${what}: ${shown}${more}`);
}

/**
 * Checks a parsed COCO results list. With `gt`, every image_id and category_id
 * must exist in it (pycocotools rejects unknown images and silently drops
 * unknown categories; both are mistakes worth stopping for).
 */
export function validateCocoDetections(raw: unknown, source = '<detections>', gt?: CocoGt): CocoDet[] {
  if (!Array.isArray(raw)) {
    const hint =
      isObj(raw) && 'annotations' in raw ? ' (this looks like a ground-truth file; results are a list of {image_id, category_id, bbox, score})' : '';
    throw new CocoFormatError(`${source}: expected a JSON array of detections, got ${isObj(raw) ? 'an object' : typeof raw}${hint}`);
  }
  const dets: CocoDet[] = raw.map((d, i) => {
    const where = `${source}: detection [${i}]`;
    if (!isObj(d)) throw new CocoFormatError(`${where}: expected an object, got ${show(d)}`);
    return {
      image_id: idField(d, 'image_id', where),
      category_id: idField(d, 'category_id', where),
      bbox: bboxField(d, where),
      score: numberField(d, 'score', where),
    };
  });
  if (gt) {
    const imgs = new Set<CocoId>(gt.images.map((im) => im.id));
    const cats = new Set<CocoId>(gt.categories.map((c) => c.id));
    const badImg: CocoId[] = [];
    const badImgSeen = new Set<CocoId>();
    let nBadImg = 0;
    const badCat: CocoId[] = [];
    const badCatSeen = new Set<CocoId>();
    let nBadCat = 0;
    for (const d of dets) {
      if (!imgs.has(d.image_id)) {
        nBadImg++;
        if (!badImgSeen.has(d.image_id)) {
          badImgSeen.add(d.image_id);
          badImg.push(d.image_id);
        }
      }
      if (!cats.has(d.category_id)) {
        nBadCat++;
        if (!badCatSeen.has(d.category_id)) {
          badCatSeen.add(d.category_id);
          badCat.push(d.category_id);
        }
      }
    }
    if (nBadImg > 0) throw unknownIdsError(source, 'image_id', nBadImg, badImg, 'images');
    if (nBadCat > 0) throw unknownIdsError(source, 'category_id', nBadCat, badCat, 'categories');
  }
  return dets;
}

export function parseCocoDetections(text: string, source = '<detections>', gt?: CocoGt): CocoDet[] {
  return validateCocoDetections(parseJson(text, source), source, gt);
}

export async function loadCocoDetections(path: string, gt?: CocoGt): Promise<CocoDet[]> {
  return parseCocoDetections(await readText(path), path, gt);
}
