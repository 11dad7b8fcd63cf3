import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { dataCommand } from '../../src/cli/commands/data.js';
import { recordMasks } from '../../src/data/datasets/instances.js';
import { BUILTIN_DATASET_REGISTRY, BUILTIN_DATASETS, builtinDataset } from '../../src/data/datasets/registry.js';
import { ensureShapesDataset, type ShapesDataset } from '../../src/data/datasets/shapes.js';
import { cocoMask, type SegmentedAnnotation } from '../../src/data/formats/coco/segmentation.js';
import { FORMAT_NAMES, FORMAT_REQUESTS, type FormatName, WRITABLE_FORMATS, type WritableFormat } from '../../src/data/formats/names.js';
import { DATASET_FORMATS, datasetFormat, writeDataset } from '../../src/data/formats/registry.js';
import type { WriteResult } from '../../src/data/formats/writing.js';
import { detectDatasetFormat, loadDetectionDataset, loadDetectionDatasetAsync } from '../../src/data/resolve.js';
import { maskToRle, rleEncodeString } from '../../src/data/rle.js';
import type { DetectionDataset, ImageRecord } from '../../src/data/types.js';
import { tmp } from '../helpers/tmp.js';

test('the registry lists each format once, in detection order, and FORMAT_NAMES / WRITABLE_FORMATS / the CLI choices agree with it', () => {
  const names = DATASET_FORMATS.map((f) => f.name);
  assert.deepEqual(names, ['voc', 'coco', 'yolo'], 'detection order: a VOC root with instances_*.json in it stays VOC');
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual([...names].sort(), [...FORMAT_NAMES].sort());
  for (const name of FORMAT_NAMES) assert.equal(datasetFormat(name).name, name);
  const writers = DATASET_FORMATS.filter((f) => f.write).map((f) => f.name);
  assert.deepEqual([...writers].sort(), [...WRITABLE_FORMATS].sort());
  assert.equal(new Set(WRITABLE_FORMATS).size, WRITABLE_FORMATS.length);
  // no two formats claim one file extension: a file goes to one reader
  const claimed = DATASET_FORMATS.flatMap((f) => f.extensions);
  assert.equal(new Set(claimed).size, claimed.length);
  for (const f of DATASET_FORMATS) {
    for (const ext of f.extensions) assert.match(ext, /^\.[a-z0-9]+$/, `${f.name}: ${ext}`);
    for (const text of [f.describe.entry, f.describe.folder, f.describe.notFolder]) assert.ok(text.length > 0, f.name);
    assert.ok(f.readSync || f.asyncOnly, `${f.name}: a synchronous reader, or why there is none`);
  }
  const option = (name: string) => dataCommand.options.find((o) => o.name === name)!;
  assert.deepEqual(option('from').choices, ['auto', ...FORMAT_NAMES]);
  assert.deepEqual(FORMAT_REQUESTS, ['auto', ...FORMAT_NAMES]);
  assert.deepEqual(option('to').choices, WRITABLE_FORMATS);
});

test('the built-in dataset registry lists each dataset once; BUILTIN_DATASETS is its names', () => {
  assert.deepEqual(
    BUILTIN_DATASETS,
    BUILTIN_DATASET_REGISTRY.map((d) => d.name),
  );
  assert.deepEqual(BUILTIN_DATASETS, ['shapes', 'shapes-small', 'shapes-pretrain', 'fashion']);
  for (const d of BUILTIN_DATASET_REGISTRY) {
    assert.equal(builtinDataset(d.name), d);
    assert.ok(d.description.length > 20, d.name);
  }
  assert.equal(builtinDataset('voc'), undefined);
  assert.deepEqual(detectDatasetFormat('shapes-small'), { format: 'builtin', name: 'shapes-small' });
  assert.throws(
    () => loadDetectionDataset('fashion'),
    /built-in dataset 'fashion' is generated asynchronously: load it with loadDetectionDatasetAsync/,
  );
  assert.throws(() => detectDatasetFormat('shapes', 'coco'), /dataset not found: shapes$/); // a forced format reads paths only
});

// ---------------------------------------------------------------- round trips through every writer

let generated: ShapesDataset;
/** The generated dataset as a plain detection dataset with COCO masks, crowd and difficult objects. */
let source: DetectionDataset;
const written = {} as Record<WritableFormat, WriteResult>;

/** What each writable format carries besides boxes, classes, names and splits (a new writer must say). */
const CARRIES: Record<WritableFormat, { masks: boolean; crowd: boolean; boxTolerance: number }> = {
  coco: { masks: true, crowd: true, boxTolerance: 0 },
  yolo: { masks: false, crowd: true, boxTolerance: 1e-4 }, // 8 decimals of a 64 px image
  voc: { masks: false, crowd: false, boxTolerance: 0 }, // generated boxes are integer pixel edges
};

before(async () => {
  const dir = join(tmp('registry-gen'), 'shapes');
  generated = await ensureShapesDataset(dir, { train: 4, val: 2, test: 2, size: 64, minSize: 10, maxSize: 40, maxObjects: 4, progress: false });
  let k = 0;
  const withLabels = (rec: ImageRecord): ImageRecord => {
    const masks = recordMasks(rec as Parameters<typeof recordMasks>[0]);
    return {
      id: rec.id,
      file: rec.file,
      width: rec.width,
      height: rec.height,
      annotations: rec.annotations.map((a, i): SegmentedAnnotation => {
        const rle = maskToRle(masks[i]!, rec.height, rec.width);
        const n = k++;
        return {
          cls: a.cls,
          box: a.box,
          segmentation: n % 2 ? rle : { size: rle.size, counts: rleEncodeString(rle.counts as number[]) },
          ...(n % 5 === 1 ? { iscrowd: true } : {}),
          ...(n % 5 === 2 ? { difficult: true } : {}),
        };
      }),
    };
  };
  source = { ...generated, format: 'builtin', splits: Object.fromEntries(Object.entries(generated.splits).map(([s, l]) => [s, l.map(withLabels)])) };
  const out = tmp('registry-out');
  for (const name of WRITABLE_FORMATS) written[name] = writeDataset(source, name, join(out, name));
});

interface Seen {
  /** The image file's bytes: the writers link or copy the images, and may rename them. */
  image: Buffer;
  size: [number, number];
  objects: { cls: string; box: number[]; difficult: boolean; iscrowd: boolean; mask: number[] | null }[];
}

/** The images of a split in order, with their objects in order and masks as the indices of their pixels. */
function seen(ds: DetectionDataset, split: string): Seen[] {
  return ds.splits[split]!.map((rec) => ({
    image: readFileSync(rec.file),
    size: [rec.width, rec.height],
    objects: rec.annotations.map((a) => {
      const m = cocoMask(a as SegmentedAnnotation, rec.height, rec.width);
      return {
        cls: ds.names[a.cls]!,
        box: a.box,
        difficult: !!a.difficult,
        iscrowd: !!a.iscrowd,
        mask: m ? [...m.keys()].filter((p) => m[p]) : null,
      };
    }),
  }));
}

test('every writable format: write → detect → read gives back the boxes, classes, names, splits (and masks / crowd where the format has them)', async () => {
  assert.ok(
    source.splits.train!.some((r) => r.annotations.some((a) => a.iscrowd)),
    'the source has crowd objects',
  );
  assert.ok(
    source.splits.train!.some((r) => r.annotations.some((a) => a.difficult)),
    'the source has difficult objects',
  );
  for (const name of WRITABLE_FORMATS) {
    const r = written[name];
    const carries = CARRIES[name];
    assert.equal(r.format, name);
    assert.equal(detectDatasetFormat(r.entry).format, name, `${name}: ${r.entry}`);
    assert.equal(detectDatasetFormat(r.dir).format, name, `${name}: ${r.dir}`);
    const back = await loadDetectionDatasetAsync(r.entry);
    assert.equal(back.format, name);
    assert.deepEqual(back.bad, [], name);
    assert.deepEqual(back.names, source.names, name);
    for (const split of ['train', 'val', 'test']) {
      const want = seen(source, split);
      const got = seen(back, split);
      assert.equal(got.length, want.length, `${name} ${split}`);
      want.forEach((w, k) => {
        const g = got[k]!;
        const at = `${name} ${split} image ${k}`;
        assert.ok(g.image.equals(w.image), `${at}: the same image`);
        assert.deepEqual(g.size, w.size, at);
        assert.equal(g.objects.length, w.objects.length, at);
        w.objects.forEach((o, i) => {
          const p = g.objects[i]!;
          assert.equal(p.cls, o.cls, `${at} object ${i}`);
          o.box.forEach((v, j) => {
            assert.ok(Math.abs(p.box[j]! - v) <= carries.boxTolerance, `${at} object ${i}: ${p.box} vs ${o.box}`);
          });
          assert.equal(p.iscrowd, carries.crowd && o.iscrowd, `${at} object ${i} iscrowd`);
          // a format without crowd regions keeps them as difficult (ignored by evaluation all the same)
          assert.equal(p.difficult, o.difficult || (!carries.crowd && o.iscrowd), `${at} object ${i} difficult`);
          assert.deepEqual(p.mask, carries.masks ? o.mask : null, `${at} object ${i} mask`);
        });
      });
    }
    if (!carries.masks)
      assert.ok(
        r.notes.some((n) => /segmentation outlines are not written/.test(n)),
        `${name}: ${r.notes}`,
      );
    if (!carries.crowd)
      assert.ok(
        r.notes.some((n) => /crowd \(iscrowd\) region\(s\) written as difficult/.test(n)),
        `${name}: ${r.notes}`,
      );
    const format = datasetFormat(name);
    if (format.readSync) assert.deepEqual(loadDetectionDataset(r.entry), back, `${name}: the synchronous read agrees`);
    else assert.throws(() => loadDetectionDataset(r.entry), new RegExp(`${format.asyncOnly}: load it with loadDetectionDatasetAsync`));
  }
});

test('resolve tells the formats (and a generated folder) apart; a forced wrong format says what it expected', () => {
  const folders: Record<FormatName | 'generated', string> = {
    voc: written.voc.dir,
    coco: written.coco.dir,
    yolo: written.yolo.dir,
    generated: generated.dir,
  };
  for (const [actual, dir] of Object.entries(folders)) {
    assert.equal(detectDatasetFormat(dir).format, actual, dir);
    for (const request of FORMAT_NAMES) {
      if (request === actual) continue;
      const f = datasetFormat(request);
      assert.throws(
        () => detectDatasetFormat(dir, request),
        (err: Error) => err.message === `${dir}: ${f.describe.notFolder}`,
        `${actual} folder read as ${request}`,
      );
    }
  }
  // forced formats on the other formats' entry files: the content check of the format asked for speaks
  const cocoFile = join(written.coco.dir, 'annotations', 'instances_train.json');
  const yamlFile = written.yolo.entry;
  assert.deepEqual(detectDatasetFormat(cocoFile, 'coco').format, 'coco');
  assert.throws(
    () => detectDatasetFormat(cocoFile, 'yolo'),
    /instances_train\.json: YAML without 'names' and 'train'\/'val': not an Ultralytics dataset YAML/,
  );
  assert.throws(() => detectDatasetFormat(yamlFile, 'coco'), /data\.yaml:1:1: malformed JSON/);
  assert.throws(
    () => detectDatasetFormat(yamlFile, 'voc'),
    /data\.yaml: a file; a Pascal VOC dataset is the root folder \(the one with Annotations\/\)/,
  );
  // a generated folder is recognised only when detecting: asked for as a format, it is none of them
  assert.throws(() => detectDatasetFormat(generated.dir, 'voc'), /not a Pascal VOC root/);
  // files that are part of a dataset but do not name it; anything else lists what is expected
  const dir = tmp('registry-files');
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  assert.throws(
    () =>
      detectDatasetFormat(
        join(written.voc.dir, 'Annotations', `${readFileSync(join(written.voc.dir, 'ImageSets', 'Main', 'train.txt'), 'utf8').split('\n')[0]}.xml`),
      ),
    /a single VOC annotation file; pass the VOC root folder \(the one with Annotations\/\)/,
  );
  assert.throws(() => detectDatasetFormat(join(written.yolo.dir, 'train.txt')), /train\.txt: a list file; pass the dataset YAML that names it/);
  const expected = `expected ${DATASET_FORMATS.map((f) => f.describe.entry).join(', ')} or a built-in dataset name: ${BUILTIN_DATASETS.join(', ')}`;
  assert.throws(
    () => detectDatasetFormat(file('notes.md', '# hi\n')),
    (err: Error) => err.message === `${join(dir, 'notes.md')}: unrecognised dataset format (${expected})`,
  );
  assert.throws(
    () => detectDatasetFormat(file('cfg.yml', 'backbone: []\n')),
    /cfg\.yml: YAML without 'names' and 'train'\/'val': not an Ultralytics dataset YAML \(a model config\?\)/,
  );
  mkdirSync(join(dir, 'nothing'));
  const folderList = DATASET_FORMATS.map((f) => f.describe.folder);
  assert.throws(
    () => detectDatasetFormat(join(dir, 'nothing')),
    (err: Error) =>
      err.message === `${join(dir, 'nothing')}: a folder, but not ${folderList.slice(0, -1).join(', ')} or ${folderList[folderList.length - 1]}`,
  );
});

test('a generated folder reads through the registry as it was generated, synchronously too', async () => {
  assert.deepEqual(detectDatasetFormat(generated.dir), { format: 'generated', path: generated.dir });
  const ds = await loadDetectionDatasetAsync(generated.dir);
  const sync = loadDetectionDataset(generated.dir);
  for (const d of [ds, sync]) {
    assert.equal(d.format, 'builtin');
    assert.equal(d.name, 'shapes');
    assert.deepEqual(d.names, generated.names);
    assert.deepEqual(d.splits, generated.splits);
  }
});
