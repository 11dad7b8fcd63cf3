/**
 * Pascal VOC reader: Annotations/*.xml (+ JPEGImages/) with ImageSets/Main/<split>.txt
 * splits and the `difficult` flag. Boxes with non-positive size are dropped and
 * reported; boxes partly outside the image are clipped and reported; boxes wholly
 * outside are dropped and reported; a malformed XML file is reported and skipped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Annotation, BadInput, DetectionDataset, ImageRecord } from '../../types.js';
import { validateBox } from '../reading.js';

interface VocObject {
  name: string;
  difficult: boolean;
  box: [number, number, number, number];
}

interface VocFile {
  filename: string;
  width: number;
  height: number;
  objects: VocObject[];
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(xml);
  return m?.[1];
}

function numberTag(xml: string, name: string, where: string): number {
  const raw = tag(xml, name);
  const v = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new Error(`${where}: <${name}> is ${raw === undefined ? 'missing' : `not a number ('${raw}')`}`);
  return v;
}

/** Parses one VOC annotation file; throws with the file and the element on malformed content. */
export function parseVocXml(xml: string, file: string): VocFile {
  if (!/<annotation[\s>]/.test(xml)) throw new Error(`${file}: not a VOC annotation (no <annotation> element)`);
  const sizeXml = /<size>([\s\S]*?)<\/size>/.exec(xml)?.[1];
  if (!sizeXml) throw new Error(`${file}: <size> is missing`);
  const width = numberTag(sizeXml, 'width', file);
  const height = numberTag(sizeXml, 'height', file);
  const objects: VocObject[] = [];
  const re = /<object>([\s\S]*?)<\/object>/g;
  let index = 0;
  for (const m of xml.matchAll(re)) {
    const o = m[1]!;
    const where = `${file}: object ${index}`;
    const name = tag(o, 'name');
    if (!name) throw new Error(`${where}: <name> is missing`);
    const bnd = /<bndbox>([\s\S]*?)<\/bndbox>/.exec(o)?.[1];
    if (!bnd) throw new Error(`${where} (${name}): <bndbox> is missing`);
    objects.push({
      name,
      difficult: tag(o, 'difficult') === '1',
      box: [numberTag(bnd, 'xmin', where), numberTag(bnd, 'ymin', where), numberTag(bnd, 'xmax', where), numberTag(bnd, 'ymax', where)],
    });
    index++;
  }
  return { filename: tag(xml, 'filename') ?? '', width, height, objects };
}

export function isVocRoot(dir: string): boolean {
  return existsSync(join(dir, 'Annotations'));
}

/** The class order of a VOC root's classes.txt (one name a line), when it has one; VOC itself has none. */
export function vocClassNames(root: string): string[] | undefined {
  const f = join(root, 'classes.txt');
  if (!existsSync(f)) return undefined;
  const names = readFileSync(f, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return names.length > 0 ? names : undefined;
}

/** Reads a VOC root. Splits come from ImageSets/Main/*.txt (all files form 'all' when there is none). */
export function readVoc(root: string, opts: { names?: string[] } = {}): DetectionDataset {
  const dir = resolve(root);
  const annDir = join(dir, 'Annotations');
  if (!existsSync(annDir)) throw new Error(`${dir}: not a VOC root (no Annotations/ folder)`);
  const bad: BadInput[] = [];
  const files = readdirSync(annDir)
    .filter((f) => f.endsWith('.xml'))
    .sort();
  if (files.length === 0) throw new Error(`${annDir}: no .xml annotation files`);
  const parsed = new Map<string, VocFile>();
  for (const f of files) {
    const path = join(annDir, f);
    try {
      parsed.set(basename(f, '.xml'), parseVocXml(readFileSync(path, 'utf8'), path));
    } catch (err) {
      bad.push({ file: path, problem: (err as Error).message.replace(`${path}: `, ''), action: 'skipped' });
    }
  }
  const names = opts.names ?? [...new Set([...parsed.values()].flatMap((p) => p.objects.map((o) => o.name)))].sort();
  const records = new Map<string, ImageRecord>();
  let id = 0;
  for (const [stem, p] of parsed) {
    const annFile = join(annDir, `${stem}.xml`);
    const annotations: Annotation[] = [];
    p.objects.forEach((o, i) => {
      const where = `object ${i} (${o.name})`;
      const cls = names.indexOf(o.name);
      if (cls < 0) {
        bad.push({ file: annFile, problem: `${where}: class '${o.name}' is not one of ${names.join(', ')}`, action: 'dropped' });
        return;
      }
      const box = validateBox(o.box, p.width, p.height, where, bad, annFile);
      if (box) annotations.push({ cls, box, difficult: o.difficult });
    });
    const image = join(dir, 'JPEGImages', p.filename || `${stem}.jpg`);
    records.set(stem, { id: id++, file: image, width: p.width, height: p.height, annotations });
  }
  const splits: Record<string, ImageRecord[]> = {};
  const setsDir = join(dir, 'ImageSets', 'Main');
  const splitFiles = existsSync(setsDir) ? readdirSync(setsDir).filter((f) => /^[^_]+\.txt$/.test(f)) : [];
  for (const sf of splitFiles) {
    const list: ImageRecord[] = [];
    const path = join(setsDir, sf);
    readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .forEach((line, i) => {
        const stem = line.trim().split(/\s+/)[0];
        if (!stem) return;
        const rec = records.get(stem);
        if (rec) list.push(rec);
        else if (!bad.some((b) => b.file.endsWith(`${stem}.xml`))) {
          bad.push({ file: path, problem: `line ${i + 1}: '${stem}' has no annotation file`, action: 'skipped' });
        }
      });
    splits[basename(sf, '.txt')] = list;
  }
  splits.all = [...records.values()];
  return { name: basename(dir), source: dir, format: 'voc', names, splits, bad };
}
