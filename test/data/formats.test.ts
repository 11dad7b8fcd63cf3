import assert from 'node:assert/strict';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { readCoco, readCocoSync } from '../../src/data/formats/coco/read.js';
import { cocoMask, polygonArea, polygonsToMask, type SegmentedAnnotation } from '../../src/data/formats/coco/segmentation.js';
import { writeCoco } from '../../src/data/formats/coco/write.js';
import { readVoc } from '../../src/data/formats/voc/read.js';
import { vocIntegerBox, writeVoc } from '../../src/data/formats/voc/write.js';
import { labelPathFor, readYolo } from '../../src/data/formats/yolo/read.js';
import { writeYolo } from '../../src/data/formats/yolo/write.js';
import { detectDatasetFormat, loadDetectionDataset, loadDetectionDatasetAsync } from '../../src/data/resolve.js';
import type { DetectionDataset } from '../../src/data/types.js';
import { BCCD, HAS_BCCD } from '../helpers/shared-data.js';
import { tmp } from '../helpers/tmp.js';

async function png(path: string, width: number, height: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: '#808080' } })
    .png()
    .toFile(path);
}

function json(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return p;
}

/** A small VOC dataset with real images: 3 images, 2 splits, a difficult object. */
async function smallVoc(): Promise<string> {
  const root = tmp('voc');
  mkdirSync(join(root, 'Annotations'));
  mkdirSync(join(root, 'ImageSets', 'Main'), { recursive: true });
  const objs = (list: [string, number[], number?][]) =>
    list
      .map(
        ([n, b, d]) =>
          `<object><name>${n}</name><difficult>${d ?? 0}</difficult><bndbox><xmin>${b[0]}</xmin><ymin>${b[1]}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox></object>`,
      )
      .join('');
  const images: [string, number, number, [string, number[], number?][]][] = [
    [
      'a',
      100,
      80,
      [
        ['dog', [10, 10, 50, 40]],
        ['cat', [0, 0, 20, 20], 1],
        ['dog', [60, 30, 100, 80]],
      ],
    ],
    ['b', 64, 48, [['cat', [5, 6, 15, 40]]]],
    ['c', 50, 50, []],
  ];
  for (const [stem, w, h, list] of images) {
    await png(join(root, 'JPEGImages', `${stem}.png`), w, h);
    writeFileSync(
      join(root, 'Annotations', `${stem}.xml`),
      `<annotation><filename>${stem}.png</filename><size><width>${w}</width><height>${h}</height><depth>3</depth></size>${objs(list)}</annotation>`,
    );
  }
  writeFileSync(join(root, 'ImageSets', 'Main', 'train.txt'), 'a\nc\n');
  writeFileSync(join(root, 'ImageSets', 'Main', 'val.txt'), 'b\n');
  return root;
}

type Canon = Record<string, { size: [number, number]; objects: [string, number[], boolean, boolean][] }>;

/** Image (by real file name) → size and sorted (class name, box, difficult, iscrowd). */
function canon(ds: DetectionDataset, split = 'all'): Canon {
  const out: Canon = {};
  for (const im of ds.splits[split]!) {
    out[basename(realpathSync(im.file))] = {
      size: [im.width, im.height],
      objects: im.annotations
        .map((a) => [ds.names[a.cls]!, a.box, !!a.difficult, !!a.iscrowd] as [string, number[], boolean, boolean])
        .sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : (p[1].map((v, k) => Math.round(v) - Math.round(q[1][k]!)).find((d) => d !== 0) ?? 0))),
    };
  }
  return out;
}

function assertSameDataset(a: Canon, b: Canon, tol: number): void {
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const [file, x] of Object.entries(a)) {
    const y = b[file]!;
    assert.deepEqual(y.size, x.size, file);
    assert.equal(y.objects.length, x.objects.length, file);
    x.objects.forEach((o, i) => {
      const p = y.objects[i]!;
      assert.equal(p[0], o[0], `${file} object ${i} class`);
      assert.equal(p[2], o[2], `${file} object ${i} difficult`);
      assert.equal(p[3], o[3], `${file} object ${i} iscrowd`);
      o[1].forEach((v, k) => {
        assert.ok(Math.abs(p[1][k]! - v) <= tol, `${file} object ${i}: ${p[1]} vs ${o[1]}`);
      });
    });
  }
}

function splitFiles(ds: DetectionDataset): Record<string, string[]> {
  return Object.fromEntries(Object.entries(ds.splits).map(([k, l]) => [k, l.map((r) => basename(realpathSync(r.file))).sort()]));
}

// ---------------------------------------------------------------- masks

test('polygon rasterisation: mask area ≈ polygon area; several polygons are OR-ed', () => {
  const poly = [10.5, 12, 80.25, 20, 70, 75.5, 30, 90, 5, 50];
  const mask = polygonsToMask([poly], 100, 100);
  const area = mask.reduce((s, v) => s + v, 0);
  const exact = polygonArea(poly);
  assert.ok(Math.abs(area - exact) / exact < 0.02, `${area} vs ${exact}`);
  const square = polygonsToMask([[0, 0, 10, 0, 10, 10, 0, 10]], 20, 20);
  assert.equal(
    square.reduce((s, v) => s + v, 0),
    100,
  );
  assert.equal(square[0], 1);
  assert.equal(square[10], 0);
  const two = cocoMask(
    {
      cls: 0,
      box: [0, 0, 20, 20],
      segmentation: [
        [0, 0, 10, 0, 10, 10, 0, 10],
        [5, 5, 15, 5, 15, 15, 5, 15],
      ],
    },
    20,
    20,
  )!;
  assert.equal(
    two.reduce((s, v) => s + v, 0),
    175,
  );
});

// ---------------------------------------------------------------- COCO reading

test('COCO: boxes, iscrowd, category order, segmentation, images/ next to the json', async () => {
  const dir = tmp('coco');
  await png(join(dir, 'images', 'x.png'), 100, 80);
  await png(join(dir, 'y.png'), 40, 30);
  const path = json(dir, 'instances_val2017.json', {
    images: [
      { id: 7, file_name: 'x.png', width: 100, height: 80 },
      { id: 9, file_name: 'y.png', width: 40, height: 30 },
    ],
    categories: [
      { id: 5, name: 'zebra' },
      { id: 2, name: 'ant' },
    ],
    annotations: [
      { id: 1, image_id: 7, category_id: 5, bbox: [10, 20, 30.5, 40], iscrowd: 0, segmentation: [[10, 20, 40.5, 20, 40.5, 60]] },
      {
        id: 2,
        image_id: 7,
        category_id: 2,
        bbox: [0, 0, 4, 3],
        iscrowd: 1,
        segmentation: { size: [80, 100], counts: [0, 3, 77, 3, 77, 3, 77, 3, 7757] },
      },
      { id: 3, image_id: 9, category_id: 2, bbox: [1, 1, 5, 5], segmentation: { size: [30, 40], counts: 'PQ0' } },
    ],
  });
  const ds = await readCoco(path);
  assert.deepEqual(ds.names, ['ant', 'zebra']);
  assert.deepEqual(ds.categoryIds, [2, 5]);
  assert.deepEqual(Object.keys(ds.splits).sort(), ['all', 'val']);
  assert.deepEqual(ds.bad, []);
  const [x, y] = ds.splits.val!;
  assert.equal(x!.id, 7);
  assert.equal(x!.cocoId, 7);
  assert.equal(x!.file, join(dir, 'images', 'x.png'));
  assert.equal(y!.file, join(dir, 'y.png'));
  assert.deepEqual(
    x!.annotations.map((a) => [a.cls, a.box, !!a.iscrowd]),
    [
      [1, [10, 20, 40.5, 60], false],
      [0, [0, 0, 4, 3], true],
    ],
  );
  const crowd = x!.annotations[1] as SegmentedAnnotation;
  assert.equal(
    cocoMask(crowd, 80, 100)!.reduce((s, v) => s + v, 0),
    12,
  );
  assert.deepEqual((y!.annotations[0] as SegmentedAnnotation).segmentation, { size: [30, 40], counts: 'PQ0' });
});

test('COCO: non-contiguous category ids [1, 3, 7] are classes 0..2 in id order; the ids are kept and written back', async () => {
  const dir = tmp('cocoids');
  await png(join(dir, 'images', 'p.png'), 60, 40);
  await png(join(dir, 'images', 'q.png'), 30, 30);
  const path = json(dir, 'instances_val.json', {
    images: [
      { id: 'p-1', file_name: 'p.png', width: 60, height: 40 },
      { id: 900, file_name: 'q.png', width: 30, height: 30 },
    ],
    categories: [
      { id: 7, name: 'seven' },
      { id: 1, name: 'one' },
      { id: 3, name: 'three' },
    ],
    annotations: [
      { id: 1, image_id: 'p-1', category_id: 7, bbox: [1, 2, 10, 10] },
      { id: 2, image_id: 'p-1', category_id: 1, bbox: [20, 5, 8, 9] },
      { id: 3, image_id: 900, category_id: 3, bbox: [0, 0, 30, 30] },
    ],
  });
  const ds = await readCoco(path);
  assert.deepEqual(ds.bad, []);
  assert.deepEqual(ds.names, ['one', 'three', 'seven']);
  assert.deepEqual(ds.categoryIds, [1, 3, 7]);
  const [p, q] = ds.splits.val!;
  assert.deepEqual(
    p!.annotations.map((a) => a.cls),
    [2, 0],
  );
  assert.deepEqual(
    q!.annotations.map((a) => a.cls),
    [1],
  );
  assert.equal(p!.cocoId, 'p-1'); // a string id: kept as written, with a generated number as `id`
  assert.equal(typeof p!.id, 'number');
  assert.equal(q!.cocoId, 900);
  // COCO → COCO keeps the category ids (image ids too where they are all integers: here one is a string, so 1..n)
  const c = writeCoco(ds, join(tmp('out'), 'c'));
  const written = JSON.parse(readFileSync(c.entry, 'utf8')) as {
    images: { id: number }[];
    categories: { id: number; name: string }[];
    annotations: { image_id: number; category_id: number }[];
  };
  assert.deepEqual(
    written.categories.map((k) => [k.id, k.name]),
    [
      [1, 'one'],
      [3, 'three'],
      [7, 'seven'],
    ],
  );
  assert.deepEqual(
    written.images.map((im) => im.id),
    [1, 2],
  );
  assert.deepEqual(
    written.annotations.map((a) => [a.image_id, a.category_id]),
    [
      [1, 7],
      [1, 1],
      [2, 3],
    ],
  );
  const back = await readCoco(c.entry);
  assert.deepEqual(back.categoryIds, [1, 3, 7]);
  assertSameDataset(canon(ds), canon(back), 0);
  // integer image ids survive; a format without category ids (YOLO) gives 1..nc, like real COCO files
  const ints = await readCoco(
    json(dir, 'instances_ints.json', {
      ...JSON.parse(readFileSync(path, 'utf8')),
      images: [
        { id: 41, file_name: 'p.png', width: 60, height: 40 },
        { id: 900, file_name: 'q.png', width: 30, height: 30 },
      ],
      annotations: [{ id: 1, image_id: 41, category_id: 7, bbox: [1, 2, 10, 10] }],
    }),
  );
  const w2 = JSON.parse(readFileSync(writeCoco(ints, join(tmp('out'), 'c2')).entry, 'utf8')) as { images: { id: number }[] };
  assert.deepEqual(
    w2.images.map((im) => im.id),
    [41, 900],
  );
  const viaYolo = await readYolo(writeYolo(ds, join(tmp('out'), 'y')).entry);
  assert.equal(viaYolo.categoryIds, undefined);
  const w3 = JSON.parse(readFileSync(writeCoco(viaYolo, join(tmp('out'), 'c3')).entry, 'utf8')) as { categories: { id: number; name: string }[] };
  assert.deepEqual(
    w3.categories.map((k) => [k.id, k.name]),
    [
      [1, 'one'],
      [2, 'three'],
      [3, 'seven'],
    ],
  );
});

test('COCO: every bad entry is reported with the file and the entry; malformed JSON gives line:col', async () => {
  const dir = tmp('cocobad');
  await png(join(dir, 'images', 'a.png'), 50, 40);
  const path = json(dir, 'data.json', {
    images: [
      { id: 1, file_name: 'a.png', width: 50, height: 40 },
      { id: 2, width: 50, height: 40 },
      { id: 3, file_name: 'missing.png', width: 50, height: 40 },
      { id: 1, file_name: 'a.png' },
    ],
    categories: [{ id: 1, name: 'thing' }],
    annotations: [
      { id: 10, image_id: 1, category_id: 1, bbox: [1, 1, 10, 10] },
      { id: 11, image_id: 99, category_id: 1, bbox: [1, 1, 10, 10] },
      { id: 12, image_id: 1, category_id: 4, bbox: [1, 1, 10, 10] },
      { id: 13, image_id: 1, category_id: 1, bbox: [1, 1, 10] },
      { id: 14, image_id: 1, category_id: 1, bbox: [1, 1, 0, 10] },
      { id: 15, image_id: 1, category_id: 1, bbox: [45, 35, 10, 10] },
      { id: 16, image_id: 3, category_id: 1, bbox: [1, 1, 2, 2] },
      { id: 17, image_id: 1, category_id: 1, bbox: [60, 60, 5, 5] },
    ],
  });
  const ds = await readCoco(path);
  const problems = ds.bad.map((b) => `${b.action}: ${basename(b.file)}: ${b.problem}`);
  assert.deepEqual(
    problems.map((p) => p.replace(/ \(looked in .*?\)/, '')),
    [
      "skipped: data.json: images[1] (id 2): no 'file_name'",
      "skipped: data.json: images[2] (id 3): image file 'missing.png' not found (its 1 annotation is not used)",
      'skipped: data.json: images[3] (id 1): duplicate image id; the first entry is used',
      "dropped: data.json: annotations[1] (id 11): image_id 99 is not in 'images'",
      "dropped: data.json: annotations[2] (id 12): category_id 4 is not in 'categories'",
      'dropped: data.json: annotations[3] (id 13): bbox must be [x, y, width, height] (4 finite numbers), got [1,1,10]',
      'dropped: data.json: annotations[4] (id 14): bbox [1,1,0,10] has non-positive width or height',
      'clipped: data.json: annotations[5] (id 15): box [45, 35, 55, 45] extends outside the 50x40 image; clipped',
      'dropped: data.json: annotations[7] (id 17): box [60, 60, 65, 65] lies outside the 50x40 image',
    ],
  );
  assert.match(ds.bad[1]!.problem, /looked in .*images/);
  assert.deepEqual(
    ds.splits.all!.map((r) => r.annotations.map((a) => a.box)),
    [
      [
        [1, 1, 11, 11],
        [45, 35, 50, 40],
      ],
    ],
  );

  const malformed = json(dir, 'broken.json', '{\n  "images": [],\n  "annotations": [,]\n}');
  await assert.rejects(readCoco(malformed), /broken\.json:3:19: malformed JSON: unexpected character ","/);
  assert.throws(() => detectDatasetFormat(malformed), /broken\.json:3:19: malformed JSON/);
});

test('COCO: image sizes missing from the JSON are read from the image (async) or reported (sync)', async () => {
  const dir = tmp('cocosize');
  await png(join(dir, 'images', 'a.png'), 64, 32);
  const path = json(dir, 'x.json', {
    images: [{ id: 1, file_name: 'a.png' }],
    categories: [{ id: 1, name: 'a' }],
    annotations: [{ image_id: 1, category_id: 1, bbox: [50, 0, 20, 10] }],
  });
  const ds = await readCoco(path);
  assert.deepEqual([ds.splits.all![0]!.width, ds.splits.all![0]!.height], [64, 32]);
  assert.deepEqual(ds.splits.all![0]!.annotations[0]!.box, [50, 0, 64, 10]);
  assert.equal(ds.bad.length, 1);
  assert.match(ds.bad[0]!.problem, /extends outside the 64x32 image; clipped/);
  const sync = readCocoSync(path);
  assert.equal(sync.splits.all!.length, 0);
  assert.match(sync.bad[0]!.problem, /no width\/height in the COCO JSON/);
  assert.equal(loadDetectionDataset(path).bad.length, 1);
});

// ---------------------------------------------------------------- YOLO reading

async function yoloDataset(yaml: string, labels: Record<string, string>, images: Record<string, [number, number]>): Promise<string> {
  const root = tmp('yolo');
  for (const [rel, [w, h]] of Object.entries(images)) await png(join(root, rel), w, h);
  for (const [rel, text] of Object.entries(labels)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  writeFileSync(join(root, 'data.yaml'), yaml);
  return join(root, 'data.yaml');
}

test('YOLO: dataset YAML, images→labels paths, normalised rows, segments, missing label files', async () => {
  const yaml = await yoloDataset(
    'path: .\ntrain: images/train\nval: val.txt\nnames:\n  0: cat\n  1: dog\n',
    {
      'labels/train/a.txt': '0 0.5 0.5 0.2 0.25\n1 0.1 0.1 0.2 0.2\n\n',
      'labels/val/c.txt': '1 0.1 0.1 0.5 0.1 0.5 0.6\n',
    },
    { 'images/train/a.png': [200, 100], 'images/train/sub/b.png': [50, 50], 'images/val/c.png': [100, 100] },
  );
  writeFileSync(join(yaml, '..', 'val.txt'), './images/val/c.png\n');
  const ds = await readYolo(yaml);
  assert.deepEqual(ds.names, ['cat', 'dog']);
  assert.deepEqual(ds.bad, []);
  const [a, b] = ds.splits.train!;
  assert.deepEqual(
    a!.annotations.map((x) => [x.cls, x.box]),
    [
      [0, [80, 37.5, 120, 62.5]],
      [1, [0, 0, 40, 20]],
    ],
  );
  assert.equal(b!.file, join(yaml, '..', 'images', 'train', 'sub', 'b.png'));
  assert.deepEqual(b!.annotations, []); // no label file: an image without objects, not an error
  const c = ds.splits.val![0]!.annotations[0] as SegmentedAnnotation;
  assert.deepEqual(c.box, [10, 10, 50, 60]);
  assert.deepEqual(c.segmentation, [[10, 10, 50, 10, 50, 60]]);
  assert.equal(ds.splits.all!.length, 3);
  assert.equal(labelPathFor('/d/images/x/images/y.jpg'), '/d/images/x/labels/y.txt');
  assert.equal(labelPathFor('/d/pics/y.jpeg'), '/d/pics/y.txt');
});

test('YOLO: every bad row is reported with its label file and line and dropped', async () => {
  const yaml = await yoloDataset(
    'train: images\nval: list.txt\nnames: [a, b, c]\n',
    {
      'labels/x.txt': [
        '0 0.5 0.5 0.2 0.2', // ok
        '1 0.5 0.5 0.2', // 4 columns
        '1 0.5 zero 0.2 0.2', // not a number
        '3 0.5 0.5 0.2 0.2', // class out of range
        '1.5 0.5 0.5 0.2 0.2', // class not an integer
        '2 1.2 0.5 0.2 0.2', // outside [0, 1]
        '2 0.5 0.5 0 0.2', // non-positive size
        '0 0.5 0.5 0.2 0.2', // duplicate of line 1
        '1 0.9995 0.5 0.2 0.2', // within tolerance, edge outside: clipped
        '1 0.1 0.1 0.2 0.1 0.3', // 6 columns
      ].join('\n'),
    },
    { 'images/x.png': [100, 100] },
  );
  writeFileSync(join(yaml, '..', 'list.txt'), 'images/x.png\nimages/gone.png\n');
  const ds = await readYolo(yaml);
  const label = join(yaml, '..', 'labels', 'x.txt');
  const rows = ds.bad.filter((b) => b.file === label).map((b) => `${b.action}: ${b.problem}`);
  assert.deepEqual(rows, [
    'dropped: line 2: 4 columns; expected 5 (class cx cy w h) or a polygon (class x1 y1 ... xn yn, n ≥ 3)',
    "dropped: line 3: 'zero' is not a number",
    'dropped: line 4: class id 3 is out of range (0..2: a, b, c)',
    'dropped: line 5: class id 1.5 is out of range (0..2: a, b, c)',
    'dropped: line 6: coordinate 1.2 is outside [0, 1] (labels are normalised by the image size)',
    'dropped: line 7: box size 0 x 0.2 is not positive',
    'dropped: line 8: duplicate of line 1',
    'clipped: line 9: box [89.95, 40, 109.95000000000002, 60] extends outside the 100x100 image; clipped',
    'dropped: line 10: 6 columns; expected 5 (class cx cy w h) or a polygon (class x1 y1 ... xn yn, n ≥ 3)',
  ]);
  const missing = ds.bad.filter((b) => b.file.endsWith('gone.png'));
  assert.equal(missing.length, 1);
  assert.match(missing[0]!.problem, /image file not found; image left out/);
  assert.deepEqual(
    ds.splits.val!.map((r) => basename(r.file)),
    ['x.png'],
  );
  assert.deepEqual(
    ds.splits.train![0]!.annotations.map((a) => a.box),
    [
      [40, 40, 60, 60],
      [89.95, 40, 100, 60],
    ],
  );
});

test('YOLO: image size from the header with EXIF orientation applied', async () => {
  const root = tmp('yoloexif');
  mkdirSync(join(root, 'images'));
  await sharp({ create: { width: 40, height: 20, channels: 3, background: '#000' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(join(root, 'images', 'r.jpg'));
  mkdirSync(join(root, 'labels'));
  writeFileSync(join(root, 'labels', 'r.txt'), '0 0.5 0.5 1 1\n');
  writeFileSync(join(root, 'd.yaml'), 'train: images\nnames: [x]\n');
  const ds = await readYolo(join(root, 'd.yaml'));
  const r = ds.splits.train![0]!;
  assert.deepEqual([r.width, r.height], [20, 40]);
  assert.deepEqual(r.annotations[0]!.box, [0, 0, 20, 40]);
});

test('YOLO: YAML problems are errors naming the file', async () => {
  const dir = tmp('yoloyaml');
  const w = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  await assert.rejects(readYolo(w('nc.yaml', 'train: .\nnc: 3\nnames: [a, b]\n')), /nc\.yaml: nc is 3 but 'names' has 2 classes/);
  await assert.rejects(
    readYolo(w('gap.yaml', 'train: .\nnames: {0: a, 2: b}\n')),
    /gap\.yaml: 'names' class ids must be 0\.\.1 without gaps; 1 is missing/,
  );
  await assert.rejects(readYolo(w('bad.yaml', 'train: [\nnames: a\n')), /bad\.yaml:\d+:\d+: malformed YAML/);
  await assert.rejects(
    readYolo(w('model.yaml', 'backbone: []\nanchors: []\n')),
    /model\.yaml: YAML without 'names' and 'train'\/'val': not an Ultralytics dataset YAML \(a model config\?\)/,
  );
  const ds = await readYolo(w('gone.yaml', 'train: nowhere\nnames: [a]\n'));
  assert.match(ds.bad[0]!.problem, /train: .*nowhere does not exist/);
});

// ---------------------------------------------------------------- detection

test('format detection and wrong-guess messages', async () => {
  const voc = await smallVoc();
  assert.equal(detectDatasetFormat(voc).format, 'voc');
  const dir = tmp('detect');
  assert.throws(
    () => detectDatasetFormat(json(dir, 'x.json', { foo: 1 })),
    /x\.json: JSON without 'images'\/'annotations'\/'categories': not a COCO instances file/,
  );
  assert.throws(
    () => detectDatasetFormat(json(dir, 'res.json', [{ image_id: 1 }])),
    /res\.json: a JSON array \(a detection results file\?\), not a COCO instances file/,
  );
  assert.throws(() => detectDatasetFormat(json(dir, 'cats.json', { images: [] })), /cats\.json: not a COCO instances file: no 'categories' array/);
  writeFileSync(join(dir, 'm.yaml'), 'depth_multiple: 1\nbackbone: []\n');
  assert.throws(
    () => detectDatasetFormat(join(dir, 'm.yaml')),
    /m\.yaml: YAML without 'names' and 'train'\/'val': not an Ultralytics dataset YAML \(a model config\?\)/,
  );
  writeFileSync(join(dir, 'a.xml'), '<annotation/>');
  assert.throws(() => detectDatasetFormat(join(dir, 'a.xml')), /a single VOC annotation file; pass the VOC root folder/);
  writeFileSync(join(dir, 'list.txt'), 'x.jpg\n');
  assert.throws(() => detectDatasetFormat(join(dir, 'list.txt')), /a list file; pass the dataset YAML/);
  writeFileSync(join(dir, 'w.bin'), '');
  assert.throws(
    () => detectDatasetFormat(join(dir, 'w.bin')),
    /w\.bin: unrecognised dataset format \(expected a Pascal VOC root folder, a COCO instances \.json, an Ultralytics dataset \.yaml or a built-in dataset name: shapes, shapes-small, shapes-pretrain, fashion\)/,
  );
  assert.throws(
    () => detectDatasetFormat(tmp('empty')),
    /a folder, but not a Pascal VOC root \(expected Annotations\/ with \.xml files\), a COCO folder \(instances_\*\.json\) or an Ultralytics dataset folder \(data\.yaml\)/,
  );
  assert.throws(() => detectDatasetFormat(voc, 'coco'), /not a COCO dataset folder/);
  assert.throws(() => detectDatasetFormat(join(dir, 'x.json'), 'yolo'), /x\.json: YAML without 'names'/);
  assert.throws(
    () => detectDatasetFormat('nosuchthing'),
    /dataset not found: nosuchthing \(built-in datasets: shapes, shapes-small, shapes-pretrain, fashion\)/,
  );
  assert.deepEqual(detectDatasetFormat('shapes'), { format: 'builtin', name: 'shapes' });
  // folders holding a dataset YAML or instances_*.json are recognised as such
  const coco = writeCoco(readVoc(voc), join(tmp('out'), 'coco'));
  assert.equal(detectDatasetFormat(coco.dir).format, 'coco');
  const yolo = writeYolo(readVoc(voc), join(tmp('out'), 'yolo'));
  assert.deepEqual(detectDatasetFormat(yolo.dir), { format: 'yolo', path: yolo.entry });
  assert.throws(
    () => loadDetectionDataset(yolo.entry),
    /YOLO datasets need image sizes read from the images: load it with loadDetectionDatasetAsync/,
  );
});

// ---------------------------------------------------------------- writers / round trips

test('round trip VOC → COCO → YOLO → VOC on a small dataset keeps boxes, classes, difficult and splits', async () => {
  const voc = await smallVoc();
  const src = readVoc(voc);
  const out = tmp('rt');
  const c = writeCoco(src, join(out, 'coco'));
  const coco = await loadDetectionDatasetAsync(c.dir);
  assert.equal(coco.format, 'coco');
  assertSameDataset(canon(src), canon(coco), 1e-9);
  const y = writeYolo(coco, join(out, 'yolo'));
  const yolo = await loadDetectionDatasetAsync(y.entry);
  assertSameDataset(canon(src), canon(yolo), 1e-3);
  const v = writeVoc(yolo, join(out, 'voc'));
  const back = await loadDetectionDatasetAsync(v.entry);
  assertSameDataset(canon(src), canon(back), 0);
  assert.deepEqual(back.names, src.names);
  for (const ds of [coco, yolo, back]) {
    assert.deepEqual(ds.bad, []);
    assert.deepEqual(splitFiles(ds), splitFiles(src));
  }
  assert.equal(canon(back)['a.png']!.objects.filter((o) => o[2]).length, 1);
  // YOLO keeps difficult in its flags file; the labels are plain Ultralytics rows
  assert.match(readFileSync(join(y.dir, 'data.yaml'), 'utf8'), /yolor_flags: flags\.json/);
  assert.deepEqual(JSON.parse(readFileSync(join(y.dir, 'flags.json'), 'utf8')), { 'labels/a.txt': { difficult: [2] } });
  assert.equal(readFileSync(join(y.dir, 'labels', 'a.txt'), 'utf8').split('\n')[0], '1 0.3 0.3125 0.4 0.375');
  assert.equal(readFileSync(join(y.dir, 'labels', 'c.txt'), 'utf8'), '');
});

test('float boxes and iscrowd survive COCO ↔ YOLO; VOC rounds to integers within 0.5 px', async () => {
  const dir = tmp('float');
  await png(join(dir, 'images', 'p.png'), 333, 217);
  await png(join(dir, 'images', 'q.png'), 1000, 700);
  const path = json(dir, 'instances_train.json', {
    images: [
      { id: 1, file_name: 'p.png', width: 333, height: 217 },
      { id: 2, file_name: 'q.png', width: 1000, height: 700 },
    ],
    categories: [
      { id: 1, name: 'b' },
      { id: 2, name: 'a' },
      { id: 3, name: 'unused' },
    ],
    annotations: [
      { image_id: 1, category_id: 2, bbox: [10.123456, 20.654321, 100.5, 50.25] },
      { image_id: 1, category_id: 1, bbox: [0.3, 0.7, 332.6, 216.2], iscrowd: 1 },
      { image_id: 2, category_id: 1, bbox: [999.2, 699.1, 0.8, 0.9], difficult: 1 },
    ],
  });
  const src = await readCoco(path);
  const y = writeYolo(src, join(tmp('out'), 'y'));
  const yolo = await readYolo(y.entry);
  assert.deepEqual(yolo.names, ['b', 'a', 'unused']);
  assertSameDataset(canon(src), canon(yolo), 1e-3);
  const c = writeCoco(yolo, join(tmp('out'), 'c'));
  const coco = await readCoco(c.entry);
  assertSameDataset(canon(src), canon(coco), 1e-3);
  assert.deepEqual(
    coco.splits.train!.map((r) => r.id),
    [0, 1],
  ); // YOLO numbers images from 0
  const v = writeVoc(src, join(tmp('out'), 'v'));
  assert.match(v.notes.join('\n'), /1 crowd \(iscrowd\) region\(s\) written as difficult objects/);
  const voc = await loadDetectionDatasetAsync(v.entry);
  assert.deepEqual(voc.names, ['b', 'a', 'unused']); // from classes.txt
  const a = canon(src),
    b = canon(voc);
  for (const f of Object.keys(a)) {
    a[f]!.objects.forEach((o, i) => {
      const p = b[f]!.objects[i]!;
      assert.equal(p[0], o[0]);
      o[1].forEach((x, k) => {
        assert.ok(Math.abs(p[1][k]! - x) <= 0.5 + 1e-9 || o[1][2]! - o[1][0]! < 1, `${f}: ${p[1]} vs ${o[1]}`);
      });
    });
  }
  assert.deepEqual(vocIntegerBox([999.2, 699.1, 1000, 700], 1000, 700), [999, 699, 1000, 700]);
  assert.deepEqual(vocIntegerBox([10.2, 5, 10.4, 6], 100, 100), [10, 5, 11, 6]); // widened to 1 px
  assert.deepEqual(vocIntegerBox([99.8, 5, 99.9, 6], 100, 100), [99, 5, 100, 6]);
});

test('writers refuse a non-empty output unless overwrite, and leave no partial output', async () => {
  const voc = await smallVoc();
  const ds = readVoc(voc);
  const out = join(tmp('ow'), 'o');
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'x');
  assert.throws(() => writeYolo(ds, out), /exists and is not empty \(use --force to replace it\)/);
  assert.equal(readFileSync(join(out, 'keep.txt'), 'utf8'), 'x');
  const r = writeYolo(ds, out, { overwrite: true, images: 'copy' });
  assert.equal(r.images, 3);
  assert.deepEqual(r.splits, { train: 2, val: 1 });
  const back = await readYolo(r.entry);
  const copied = back.splits.train![0]!.file;
  assert.equal(realpathSync(copied), join(realpathSync(out), 'images', 'a.png'));
  assert.equal(statSync(copied).nlink, 1); // a copy, not a link
  assert.notEqual(statSync(copied).ino, statSync(join(voc, 'JPEGImages', 'a.png')).ino);
});

/** Every path under `dir` (relative), with what it is; fails on a symbolic link. */
function tree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = join(rel, name);
    const st = lstatSync(join(dir, r));
    assert.ok(!st.isSymbolicLink(), `${r}: a symbolic link`);
    if (st.isDirectory()) out.push(`${r}/`, ...tree(dir, r));
    else out.push(r);
  }
  return out;
}

test('converted datasets are self-contained: hard-linked images, relative paths; moved away from a deleted source, they read back the same', async () => {
  const voc = await smallVoc();
  const src = readVoc(voc);
  const before = canon(src);
  const beforeVal = canon(src, 'val');
  const out = tmp('self');
  const written = {
    coco: writeCoco(src, join(out, 'coco')),
    yolo: writeYolo(src, join(out, 'yolo')),
    voc: writeVoc(src, join(out, 'voc')),
  };
  assert.deepEqual(tree(written.coco.dir), [
    'annotations/',
    'annotations/instances_train.json',
    'annotations/instances_val.json',
    'images/',
    'images/train/',
    'images/train/a.png',
    'images/train/c.png',
    'images/val/',
    'images/val/b.png',
  ]);
  const val = JSON.parse(readFileSync(join(written.coco.dir, 'annotations', 'instances_val.json'), 'utf8')) as {
    images: { file_name: string }[];
    categories: { id: number }[];
  };
  assert.deepEqual(
    val.images.map((im) => im.file_name),
    ['b.png'],
  );
  assert.deepEqual(
    val.categories.map((c) => c.id),
    [1, 2],
  ); // 1-based, as in real COCO files
  assert.ok(tree(written.yolo.dir).includes('images/a.png'));
  assert.ok(tree(written.voc.dir).includes('JPEGImages/a.png'));
  // hard links: the same file as the source (no extra space), not a reference to its path
  for (const img of [
    join(written.coco.dir, 'images', 'train', 'a.png'),
    join(written.yolo.dir, 'images', 'a.png'),
    join(written.voc.dir, 'JPEGImages', 'a.png'),
  ]) {
    assert.equal(statSync(img).ino, statSync(join(voc, 'JPEGImages', 'a.png')).ino, img);
  }
  assert.deepEqual(written.coco.notes, []);
  // move the output elsewhere and delete the source: each reads back the same dataset from the new place
  const moved = join(tmp('moved'), 'datasets');
  renameSync(out, moved);
  rmSync(voc, { recursive: true });
  const entries = {
    coco: join(moved, 'coco', 'annotations', 'instances_val.json'),
    cocoDir: join(moved, 'coco'),
    yolo: join(moved, 'yolo', 'data.yaml'),
    voc: join(moved, 'voc'),
  };
  for (const [name, entry] of Object.entries(entries)) {
    const ds = await loadDetectionDatasetAsync(entry);
    assert.deepEqual(ds.bad, [], name);
    for (const r of ds.splits.all!) assert.ok(r.file.startsWith(moved), `${name}: ${r.file}`);
    assertSameDataset(name === 'coco' ? beforeVal : before, canon(ds), name === 'yolo' ? 1e-3 : 0);
    if (name !== 'coco') assert.deepEqual(splitFiles(ds), { train: ['a.png', 'c.png'], val: ['b.png'], all: ['a.png', 'b.png', 'c.png'] });
  }
});

/** A folder on another file system than tmp() (where one is writable), or null. */
function otherFileSystem(): string | null {
  const shm = '/dev/shm';
  try {
    if (statSync(shm).dev === statSync(tmp('fs')).dev) return null;
    const d = mkdtempSync(join(shm, 'yolor-fs-'));
    after(() => rmSync(d, { recursive: true, force: true }));
    return d;
  } catch {
    return null;
  }
}

test('across file systems the writers copy the images (hard links cannot cross) and say so', async (t) => {
  const other = otherFileSystem();
  if (!other) return t.skip('no second writable file system (/dev/shm)');
  const voc = join(other, 'voc');
  cpSync(await smallVoc(), voc, { recursive: true });
  const src = readVoc(voc);
  const before = canon(src);
  const c = writeCoco(src, join(tmp('xfs'), 'coco'));
  assert.deepEqual(c.notes, ['images were copied: hard links are not possible here (the output is on another file system than the images)']);
  const img = join(c.dir, 'images', 'train', 'a.png');
  assert.equal(statSync(img).nlink, 1);
  assert.deepEqual(readFileSync(img), readFileSync(join(voc, 'JPEGImages', 'a.png')));
  rmSync(voc, { recursive: true });
  const back = await loadDetectionDatasetAsync(c.dir);
  assert.deepEqual(back.bad, []);
  assertSameDataset(before, canon(back), 0);
});

test('COCO writer: an image in several splits (VOC trainval) is stored once; the other splits refer to it', async () => {
  const voc = await smallVoc();
  writeFileSync(join(voc, 'ImageSets', 'Main', 'trainval.txt'), 'a\nb\nc\n');
  const src = readVoc(voc);
  const c = writeCoco(src, join(tmp('tv'), 'coco'), { images: 'copy' });
  assert.deepEqual(tree(join(c.dir, 'images')), ['train/', 'train/a.png', 'train/c.png', 'trainval/', 'val/', 'val/b.png']);
  const tv = JSON.parse(readFileSync(join(c.dir, 'annotations', 'instances_trainval.json'), 'utf8')) as {
    images: { id: number; file_name: string }[];
  };
  assert.deepEqual(tv.images.map((im) => im.file_name).sort(), ['../train/a.png', '../train/c.png', '../val/b.png']);
  const back = await loadDetectionDatasetAsync(c.dir);
  assert.deepEqual(back.bad, []);
  assert.deepEqual(splitFiles(back), {
    train: ['a.png', 'c.png'],
    trainval: ['a.png', 'b.png', 'c.png'],
    val: ['b.png'],
    all: ['a.png', 'b.png', 'c.png'],
  });
  assert.equal(new Set(back.splits.all!.map((r) => r.file)).size, 3); // one file per image: 'all' has no duplicates
  assertSameDataset(canon(src), canon(back), 0);
  // the same image has the same id in every split file
  const train = JSON.parse(readFileSync(join(c.dir, 'annotations', 'instances_train.json'), 'utf8')) as {
    images: { id: number; file_name: string }[];
  };
  const idOf = new Map(train.images.map((im) => [im.file_name, im.id]));
  assert.equal(tv.images.find((im) => im.file_name === '../train/a.png')!.id, idOf.get('a.png'));
});

test('BCCD: VOC → COCO → YOLO → VOC keeps every box, class and split', { skip: !HAS_BCCD && 'shared BCCD data not present' }, async () => {
  const src = readVoc(BCCD);
  const out = tmp('bccd');
  const coco = await loadDetectionDatasetAsync(writeCoco(src, join(out, 'coco')).entry);
  const yolo = await loadDetectionDatasetAsync(writeYolo(coco, join(out, 'yolo')).entry);
  const back = await loadDetectionDatasetAsync(writeVoc(yolo, join(out, 'voc')).entry);
  assert.equal(src.bad.length, 2); // the two zero-size boxes are not converted...
  for (const ds of [coco, yolo, back]) assert.deepEqual(ds.bad, []); // ...and nothing else is lost
  assertSameDataset(canon(src), canon(coco), 0);
  assertSameDataset(canon(src), canon(yolo), 1e-3);
  assertSameDataset(canon(src), canon(back), 0);
  assert.deepEqual(splitFiles(back), splitFiles(src));
  assert.deepEqual(back.names, src.names);
});
