import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readVoc } from '../../src/data/formats/voc/read.js';
import { datasetSplit, loadDetectionDataset } from '../../src/data/resolve.js';
import { boxSizesAtImageSize } from '../../src/data/types.js';
import { BCCD, HAS_BCCD } from '../helpers/shared-data.js';

function xml(objects: string, w = 100, h = 80): string {
  return `<annotation><filename>a.jpg</filename><size><width>${w}</width><height>${h}</height><depth>3</depth></size>${objects}</annotation>`;
}

function obj(name: string, b: number[], difficult = 0): string {
  return `<object><name>${name}</name><difficult>${difficult}</difficult><bndbox><xmin>${b[0]}</xmin><ymin>${b[1]}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox></object>`;
}

function vocRoot(files: Record<string, string>, splits: Record<string, string[]> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'voc-'));
  mkdirSync(join(root, 'Annotations'));
  mkdirSync(join(root, 'ImageSets', 'Main'), { recursive: true });
  for (const [n, text] of Object.entries(files)) writeFileSync(join(root, 'Annotations', `${n}.xml`), text);
  for (const [s, list] of Object.entries(splits)) writeFileSync(join(root, 'ImageSets', 'Main', `${s}.txt`), `${list.join('\n')}\n`);
  return root;
}

test('VOC: boxes, difficult, classes and splits', () => {
  const root = vocRoot(
    { a: xml(obj('dog', [10, 10, 50, 40]) + obj('cat', [0, 0, 20, 20], 1)), b: xml(obj('dog', [5, 5, 15, 15])) },
    { train: ['a'], val: ['b'] },
  );
  const ds = readVoc(root);
  assert.deepEqual(ds.names, ['cat', 'dog']);
  assert.equal(ds.splits.train!.length, 1);
  const a = ds.splits.train![0]!;
  assert.deepEqual(
    a.annotations.map((x) => [x.cls, x.box, x.difficult]),
    [
      [1, [10, 10, 50, 40], false],
      [0, [0, 0, 20, 20], true],
    ],
  );
  assert.equal(a.file, join(root, 'JPEGImages', 'a.jpg'));
  assert.deepEqual(ds.bad, []);
});

test('VOC: every bad box and file is reported with the file and object, none silently lost', () => {
  const root = vocRoot(
    {
      a: xml(obj('dog', [10, 10, 10, 40]) + obj('dog', [90, 70, 120, 90]) + obj('dog', [200, 200, 220, 220]) + obj('dog', [1, 1, 9, 9])),
      broken: '<annotation><size><width>10</width></size></annotation>',
      junk: 'not xml at all',
    },
    { train: ['a', 'broken', 'missing'] },
  );
  const ds = readVoc(root);
  const problems = ds.bad.map((b) => `${b.action}: ${b.file.split('/').pop()}: ${b.problem}`);
  assert.deepEqual(problems, [
    'skipped: broken.xml: <height> is missing',
    'skipped: junk.xml: not a VOC annotation (no <annotation> element)',
    'dropped: a.xml: object 0 (dog): box [10, 10, 10, 40] has non-positive width or height',
    'clipped: a.xml: object 1 (dog): box [90, 70, 120, 90] extends outside the 100x80 image; clipped',
    'dropped: a.xml: object 2 (dog): box [200, 200, 220, 220] lies outside the 100x80 image',
    "skipped: train.txt: line 3: 'missing' has no annotation file",
  ]);
  const a = ds.splits.train![0]!;
  assert.deepEqual(
    a.annotations.map((x) => x.box),
    [
      [90, 70, 100, 80],
      [1, 1, 9, 9],
    ],
  );
});

test('dataset resolution: clear errors for missing paths and unknown formats', () => {
  assert.throws(() => loadDetectionDataset('/nonexistent/data'), /dataset not found: \/nonexistent\/data/);
  const empty = mkdtempSync(join(tmpdir(), 'nodata-'));
  assert.throws(() => loadDetectionDataset(empty), /not a Pascal VOC root \(expected Annotations\/ with \.xml files\)/);
  const root = vocRoot({ a: xml(obj('x', [1, 1, 5, 5])) });
  assert.throws(() => datasetSplit(readVoc(root), 'val'), /no 'val' split/);
  assert.equal(datasetSplit(readVoc(root), 'train').length, 1); // falls back to all images
});

test('box sizes are scaled as the letterboxed training images', () => {
  const root = vocRoot({ a: xml(obj('x', [0, 0, 50, 20]), 200, 100) });
  assert.deepEqual(Array.from(boxSizesAtImageSize(readVoc(root).splits.all!, 320)), [80, 32]);
});

test('BCCD: 364 images, 3 classes, its two zero-size boxes reported', { skip: !HAS_BCCD && 'shared BCCD data not present' }, () => {
  const ds = readVoc(BCCD);
  assert.deepEqual(ds.names, ['Platelets', 'RBC', 'WBC']);
  assert.equal(ds.splits.all!.length, 364);
  assert.equal(ds.splits.train!.length, 205);
  assert.equal(ds.splits.test!.length, 72);
  const zero = ds.bad.filter((b) => /non-positive width or height/.test(b.problem));
  assert.deepEqual(
    zero.map((b) => b.file.split('/').pop()),
    ['BloodImage_00338.xml', 'BloodImage_00343.xml'],
  );
});
