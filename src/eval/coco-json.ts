/**
 * Reading COCO ground truth (instances JSON) and COCO detection results from
 * disk, with errors that say where the problem is: the file, the line:column of
 * malformed JSON, the index and field of a bad entry, and the ids a detection
 * file refers to that the ground truth does not have. Every message is one line.
 */
import { readFile } from 'node:fs/promises';
import type { CocoAnnotation, CocoCategory, CocoDet, CocoGt, CocoId, CocoImage } from './coco.js';

export class CocoFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CocoFormatError';
  }
}

// ---------------------------------------------------------------- JSON with positions

export interface JsonErrorLocation {
  /** 0-based offset in UTF-16 code units. */
  offset: number;
  /** 1-based line and column. */
  line: number;
  column: number;
  reason: string;
}

class Located extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(reason);
  }
}

/** 1-based line and column of a string offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

function describeChar(c: string): string {
  return JSON.stringify(c);
}

/**
 * Scans `text` as strict JSON (RFC 8259) without building values and returns
 * where and why it first goes wrong, or null when it is valid. JSON.parse's own
 * messages carry no position in some cases (and their wording varies between V8
 * versions), hence this small scanner.
 */
export function locateJsonError(text: string): JsonErrorLocation | null {
  const n = text.length;
  let i = 0;
  const fail = (reason: string, at = i): never => {
    throw new Located(at, at >= n ? 'unexpected end of input' : reason);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const isDigit = (c: number): boolean => c >= 48 && c <= 57;
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c === 92) {
        const e = text[i + 1];
        if (e === undefined) fail('unterminated string', n);
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape in string');
          i += 6;
        } else if ('"\\/bfnrt'.includes(e!)) {
          i += 2;
        } else {
          fail(`invalid escape \\${e} in string`);
        }
        continue;
      }
      if (c < 0x20) fail('control character in string (unescaped newline or tab?)');
      i++;
    }
  };
  const num = (): void => {
    if (text[i] === '-') i++;
    if (i < n && text[i] === '0') i++;
    else if (i < n && isDigit(text.charCodeAt(i))) while (i < n && isDigit(text.charCodeAt(i))) i++;
    else fail('invalid number');
    if (text[i] === '.') {
      i++;
      if (!(i < n && isDigit(text.charCodeAt(i)))) fail('invalid number: digits expected after the decimal point');
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!(i < n && isDigit(text.charCodeAt(i)))) fail('invalid number: digits expected in the exponent');
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
  };
  const value = (): void => {
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text[i]!;
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? "trailing comma before '}'" : 'expected a property name in double quotes');
        str();
        ws();
        if (text[i] !== ':') fail("expected ':' after the property name");
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("expected ',' or '}' after a property value");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail("trailing comma before ']'");
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("expected ',' or ']' after an array element");
      }
    }
    if (c === '"') return str();
    if (c === '-' || isDigit(c.charCodeAt(0))) return num();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c === "'") fail('strings must use double quotes');
    fail(`unexpected character ${describeChar(c)}`);
  };
  try {
    value();
    ws();
    if (i < n) fail(`unexpected ${describeChar(text[i]!)} after the end of the JSON value`);
    return null;
  } catch (e) {
    if (e instanceof Located) return { offset: e.offset, ...lineColumn(text, e.offset), reason: e.reason };
    if (e instanceof RangeError) return null; // nesting too deep for this scanner
    throw e;
  }
}

/** JSON.parse with errors of the form `FILE:LINE:COL: malformed JSON: REASON`. */
export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const loc = locateJsonError(body);
    if (loc) throw new CocoFormatError(`${source}:${loc.line}:${loc.column}: malformed JSON: ${loc.reason}`);
    const m = /position (\d+)/.exec(err.message);
    if (m) {
      const { line, column } = lineColumn(body, Number(m[1]));
      throw new CocoFormatError(`${source}:${line}:${column}: malformed JSON: ${err.message.split('\n')[0]}`);
    }
    throw new CocoFormatError(`${source}: malformed JSON: ${err.message.split('\n')[0]}`);
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
    throw new CocoFormatError(`${source}: expected a COCO instances object with 'images', 'annotations' and 'categories', got ${Array.isArray(raw) ? 'an array (a results file?)' : typeof raw}`);
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
  return validateCocoGt(parseJsonText(text, source), source);
}

export async function loadCocoGt(path: string): Promise<CocoGt> {
  return parseCocoGt(await readText(path), path);
}

// ---------------------------------------------------------------- detections

const MAX_IDS_SHOWN = 5;

function unknownIdsError(source: string, field: string, count: number, ids: CocoId[], what: string): CocoFormatError {
  const shown = ids.slice(0, MAX_IDS_SHOWN).map((x) => show(x)).join(', ');
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
    const hint = isObj(raw) && 'annotations' in raw ? ' (this looks like a ground-truth file; results are a list of {image_id, category_id, bbox, score})' : '';
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
  return validateCocoDetections(parseJsonText(text, source), source, gt);
}

export async function loadCocoDetections(path: string, gt?: CocoGt): Promise<CocoDet[]> {
  return parseCocoDetections(await readText(path), path, gt);
}
