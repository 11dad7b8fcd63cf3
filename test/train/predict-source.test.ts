/**
 * What `yolor predict` runs on and which ids its COCO results carry: a COCO
 * dataset's own image and category ids, file stems and 0-based classes for
 * anything else, and errors that name the file that does not match.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { readCoco } from '../../src/data/formats/coco/read.js';
import { writeVoc } from '../../src/data/formats/voc/write.js';
import { loadDetectionDatasetAsync } from '../../src/data/resolve.js';
import { listImages } from '../../src/train/predict.js';
import { datasetInput, fileResultIds, sourceInDataset } from '../../src/train/predict-source.js';
import { tmp } from '../helpers/tmp.js';

async function png(path: string, width = 32, height = 24): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: '#808080' } })
    .png()
    .toFile(path);
}

/** images/{a,b,c}.png; instances_val.json has a (id 12) and b (id 'b-x'), instances_train.json c (id 5); categories [7, 1, 3]. */
async function cocoDataset(): Promise<{ root: string; val: string; train: string }> {
  const root = tmp('psrc');
  for (const f of ['a', 'b', 'c']) await png(join(root, 'images', `${f}.png`));
  const categories = [
    { id: 7, name: 'seven' },
    { id: 1, name: 'one' },
    { id: 3, name: 'three' },
  ];
  const val = join(root, 'instances_val.json');
  writeFileSync(
    val,
    JSON.stringify({
      images: [
        { id: 12, file_name: 'a.png', width: 32, height: 24 },
        { id: 'b-x', file_name: 'b.png', width: 32, height: 24 },
      ],
      categories,
      annotations: [{ id: 1, image_id: 12, category_id: 3, bbox: [1, 1, 5, 5] }],
    }),
  );
  const train = join(root, 'instances_train.json');
  writeFileSync(train, JSON.stringify({ images: [{ id: 5, file_name: 'c.png', width: 32, height: 24 }], categories, annotations: [] }));
  return { root, val, train };
}

test('plain files: image_id is the file stem, category_id the 0-based class', () => {
  assert.equal(fileResultIds.form, 'file');
  assert.equal(fileResultIds.imageId('/x/y/00017.jpg'), '00017');
  assert.equal(fileResultIds.categoryId(0), 0);
  assert.equal(fileResultIds.categoryId(4), 4);
});

test("--data instances.json: the split's images with the JSON's image ids and original category ids", async () => {
  const { root, val } = await cocoDataset();
  const ds = await readCoco(val);
  const input = datasetInput(ds, 'val');
  assert.deepEqual(input.files, [join(root, 'images', 'a.png'), join(root, 'images', 'b.png')]);
  assert.equal(input.ids.form, 'dataset');
  assert.deepEqual(
    input.files.map((f) => input.ids.imageId(f)),
    [12, 'b-x'],
  );
  // classes are the categories in id order: 0 → 1, 1 → 3, 2 → 7
  assert.deepEqual(
    [0, 1, 2].map((c) => input.ids.categoryId(c)),
    [1, 3, 7],
  );
  assert.throws(() => input.ids.categoryId(3), /class 3: .*instances_val\.json has only 3 categories/);
  assert.throws(() => input.ids.imageId(join(root, 'images', 'c.png')), /c\.png: not an image of .*instances_val\.json/);
  assert.deepEqual(input.notes, []);
});

test("--data of another format: its split's images, named as plain files", async () => {
  const { val } = await cocoDataset();
  const voc = writeVoc(await readCoco(val), join(tmp('psrc-voc'), 'voc'));
  const ds = await loadDetectionDatasetAsync(voc.entry);
  const input = datasetInput(ds, 'val');
  assert.equal(input.ids, fileResultIds);
  assert.equal(input.files.length, 2);
  assert.throws(
    () => sourceInDataset(input.files, ds, 'some/dir'),
    /a voc dataset has no image ids to match --source some\/dir to; pass --data alone/,
  );
});

test("--source DIR with a COCO --data: every image of the folder must be one of the JSON's (file_name resolved against DIR)", async () => {
  const { root, val } = await cocoDataset();
  // the images elsewhere: the JSON's file_names are found in --source
  const dir = join(tmp('psrc-src'), 'pics');
  mkdirSync(dir);
  for (const f of ['a', 'b']) copyFileSync(join(root, 'images', `${f}.png`), join(dir, `${f}.png`));
  const ds = await loadDetectionDatasetAsync(val, { imageDir: dir });
  const input = sourceInDataset(listImages(dir), ds, dir);
  assert.deepEqual(
    input.files.map((f) => input.ids.imageId(f)),
    [12, 'b-x'],
  );
  assert.deepEqual(input.notes, []);
  // an image of the folder the JSON does not have: an error naming it
  await png(join(dir, 'stray.png'));
  assert.throws(
    () => sourceInDataset(listImages(dir), ds, dir),
    (err: Error) => {
      assert.match(err.message, /stray\.png: not in .*instances_val\.json: no image entry's file_name, resolved against .*pics, names it$/);
      assert.ok(err.message.startsWith(join(dir, 'stray.png')));
      return true;
    },
  );
  await png(join(dir, 'stray2.png'));
  assert.throws(
    () => sourceInDataset(listImages(dir), ds, dir),
    /^Error: 2 images of .*pics are not in .*instances_val\.json \(stray\.png, stray2\.png\): no image entry's file_name/,
  );
  // a JSON image missing from the folder is predicted by no one: a note says so
  const partial = join(tmp('psrc-part'), 'pics');
  mkdirSync(partial);
  copyFileSync(join(root, 'images', 'a.png'), join(partial, 'a.png'));
  const ds2 = await loadDetectionDatasetAsync(val, { imageDir: partial });
  const input2 = sourceInDataset(listImages(partial), ds2, partial);
  assert.deepEqual(
    input2.files.map((f) => input2.ids.imageId(f)),
    [12],
  );
  assert.equal(input2.notes.length, 1);
  assert.match(input2.notes[0]!, /1 image entry of .*instances_val\.json could not be used .*counts their objects as missed/);
});

test('--source with a COCO folder: ids from every split, or from --split; one file with two ids needs --split', async () => {
  const { root, train } = await cocoDataset();
  const images = join(root, 'images');
  const ds = await loadDetectionDatasetAsync(root, { imageDir: images });
  const all = sourceInDataset(listImages(images), ds, images);
  assert.deepEqual(
    all.files.map((f) => all.ids.imageId(f)),
    [12, 'b-x', 5],
  );
  assert.throws(() => sourceInDataset(listImages(images), ds, images, 'val'), /c\.png: not in /);
  // the same file under two ids (two split files): ambiguous without --split
  writeFileSync(
    train,
    JSON.stringify({
      images: [
        { id: 99, file_name: 'a.png', width: 32, height: 24 },
        { id: 5, file_name: 'c.png', width: 32, height: 24 },
      ],
      categories: [{ id: 1, name: 'one' }],
      annotations: [],
    }),
  );
  const twice = await loadDetectionDatasetAsync(root, { imageDir: images });
  assert.throws(
    () => sourceInDataset(listImages(images), twice, images),
    /a\.png: two image ids in .* \((99 and 12|12 and 99)\): choose one with --split/,
  );
  const onlyVal = sourceInDataset([join(images, 'a.png')], twice, images, 'val');
  assert.equal(onlyVal.ids.imageId(join(images, 'a.png')), 12);
});
