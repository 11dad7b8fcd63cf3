/**
 * The COCO round trip of `yolor predict --save-json`: on a COCO dataset (here
 * one converted with `yolor data convert --to coco`, then given scattered
 * image ids and non-contiguous, unordered category ids), predictions.json
 * carries the JSON's own ids, so `yolor cocoeval` scores it against that JSON,
 * and with val's options (--conf 0.001 --iou 0.6 --max-det 300) it scores
 * exactly what `yolor val` reports. The same images as a plain folder give
 * the same detections under file stems and 0-based classes; a folder image
 * the JSON does not have is an error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { shapesDataset } from '../../src/data/datasets/shapes.js';
import { initBackend } from '../../src/engine/backend.js';
import { evaluateCoco } from '../../src/eval/coco.js';
import { loadCocoGt } from '../../src/eval/coco-json.js';
import { train } from '../../src/train/trainer.js';
import { tmp } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function yolor(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.YOLOR_DEBUG;
    const p = spawn(process.execPath, [MAIN, ...args, '--backend', 'wasm'], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface CocoJson {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; category_id: number }[];
  categories: { id: number; name: string }[];
}

/** Category ids as some real datasets have them: not 1..nc, not in name order. */
const CATEGORY_IDS = [12, 3, 40, 7, 25, 1];

const work = tmp('predict-coco');
const coco = join(work, 'coco');
const valJson = join(coco, 'annotations', 'instances_val.json');
let weights = '';

before(async () => {
  await initBackend('wasm');
  await shapesDataset(join(work, 'shapes'), { train: 8, val: 6, test: 0, size: 64, minObjects: 1, maxObjects: 3, minSize: 16, maxSize: 40, seed: 5 });
  const c = await yolor('data', 'convert', '--data', join(work, 'shapes'), '--to', 'coco', '--output', coco);
  assert.equal(c.status, 0, c.stderr);
  // Renumber: image ids 1000 + 37k, category i → CATEGORY_IDS[i] (so the reader's class order, by id, differs from the file's).
  for (const file of readdirSync(join(coco, 'annotations'))) {
    const path = join(coco, 'annotations', file);
    const j = JSON.parse(readFileSync(path, 'utf8')) as CocoJson;
    const imageId = new Map(j.images.map((im) => [im.id, 1000 + 37 * im.id]));
    const catId = new Map(j.categories.map((k, i) => [k.id, CATEGORY_IDS[i]!]));
    for (const im of j.images) im.id = imageId.get(im.id)!;
    for (const a of j.annotations) {
      a.image_id = imageId.get(a.image_id)!;
      a.category_id = catId.get(a.category_id)!;
    }
    for (const k of j.categories) k.id = catId.get(k.id)!;
    writeFileSync(path, JSON.stringify(j));
  }
  const r = await train({
    data: coco,
    model: 'yolor-n',
    epochs: 1,
    batch: 4,
    imgsz: 64,
    project: join(work, 'runs'),
    name: 'tiny',
    seed: 1,
    workers: 0,
    optimizer: 'sgd',
    patience: 10,
    cache: true,
    valSplit: 'val',
    quiet: true,
  });
  weights = join(r.runDir, 'weights', 'best');
});

test('predict --data instances.json --save-json scores with cocoeval exactly as val does', async () => {
  // val on its default replicas, predict on one model: the numbers do not depend on that
  const v = await yolor('val', '--weights', weights, '--data', valJson, '--conf', '0.001', '--iou', '0.6', '--json');
  assert.equal(v.status, 0, v.stderr);
  const val = JSON.parse(v.stdout) as {
    mAP50: number;
    mAP50_95: number;
    stats: number[];
    per_class: Record<string, { ap50_95: number; ap50: number }>;
  };
  const p = await yolor(
    'predict',
    '--weights',
    weights,
    '--data',
    valJson,
    '--save-json',
    '--conf',
    '0.001',
    '--iou',
    '0.6',
    '--max-det',
    '300',
    '--workers',
    '1',
    '--project',
    join(work, 'pred'),
    '--name',
    'data',
  );
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stderr, /predictions\.json: \d+ detections; image_id and category_id of .*instances_val\.json/);
  const predictions = join(work, 'pred', 'data', 'predictions.json');
  const dets = JSON.parse(readFileSync(predictions, 'utf8')) as { image_id: number; category_id: number; bbox: number[]; score: number }[];
  const gt = JSON.parse(readFileSync(valJson, 'utf8')) as CocoJson;
  assert.ok(dets.length > 0);
  const imageIds = new Set(gt.images.map((im) => im.id));
  assert.ok(
    dets.every((d) => imageIds.has(d.image_id)),
    "image_id: the JSON's ids",
  );
  assert.deepEqual(new Set(dets.map((d) => d.image_id)), imageIds); // every image predicted (at conf 0.001 each has detections)
  assert.ok(
    dets.every((d) => CATEGORY_IDS.includes(d.category_id)),
    "category_id: the JSON's ids",
  );

  const e = await yolor('cocoeval', '--gt', valJson, '--dt', predictions, '--json');
  assert.equal(e.status, 0, e.stderr);
  const scored = JSON.parse(e.stdout) as { stats: number[]; per_category: Record<string, { ap: number; ap50: number }> };
  assert.ok(val.mAP50 > 0, `a model that finds something (mAP50 ${val.mAP50})`);
  assert.ok(Math.abs(scored.stats[0]! - val.mAP50_95) <= 1e-9, `mAP50-95: cocoeval ${scored.stats[0]} vs val ${val.mAP50_95}`);
  assert.ok(Math.abs(scored.stats[1]! - val.mAP50) <= 1e-9, `mAP50: cocoeval ${scored.stats[1]} vs val ${val.mAP50}`);
  scored.stats.forEach((s, i) => {
    assert.ok(Math.abs(s - val.stats[i]!) <= 1e-9, `stat ${i}: cocoeval ${s} vs val ${val.stats[i]}`);
  });
  // per class too: the categories are the same classes under their own ids
  for (const [name, c] of Object.entries(val.per_class)) {
    assert.ok(Math.abs(scored.per_category[name]!.ap - c.ap50_95) <= 1e-9, `${name}: ${scored.per_category[name]!.ap} vs ${c.ap50_95}`);
  }

  // The comparison can fail: the same detections with the category ids in the JSON's listing order
  // (rather than sorted by id, as the reader numbers classes) score differently.
  const gtParsed = await loadCocoGt(valJson);
  const listed = gt.categories.map((k) => k.id);
  const byId = [...listed].sort((a, b) => a - b);
  const wrong = evaluateCoco(
    gtParsed,
    dets.map((d) => ({ ...d, category_id: listed[byId.indexOf(d.category_id)]! })),
  );
  assert.ok(Math.abs(wrong.stats[0]! - val.mAP50_95) > 1e-6, `a wrong class mapping scores ${wrong.stats[0]} too`);

  // the same images as a plain folder: file stems and 0-based classes, and the same detections image by image
  const plain = await yolor(
    'predict',
    '--weights',
    weights,
    '--source',
    join(coco, 'images', 'val'),
    '--save-json',
    '--conf',
    '0.001',
    '--iou',
    '0.6',
    '--workers',
    '1',
    '--project',
    join(work, 'pred'),
    '--name',
    'plain',
  );
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stderr, /image_id = file stem, category_id = 0-based class index/);
  const plainDets = JSON.parse(readFileSync(join(work, 'pred', 'plain', 'predictions.json'), 'utf8')) as {
    image_id: string;
    category_id: number;
    bbox: number[];
    score: number;
  }[];
  const stemOf = new Map(gt.images.map((im) => [im.id, im.file_name.replace(/\.png$/, '')]));
  assert.ok(plainDets.every((d) => Number.isInteger(d.category_id) && d.category_id >= 0 && d.category_id < CATEGORY_IDS.length));
  const asPlain = dets.map((d) => ({ ...d, image_id: stemOf.get(d.image_id)!, category_id: byId.indexOf(d.category_id) }));
  const order = (a: { image_id: string | number; score: number; category_id: number; bbox: number[] }, b: typeof a) =>
    String(a.image_id).localeCompare(String(b.image_id)) ||
    b.score - a.score ||
    a.category_id - b.category_id ||
    (a.bbox.map((v, i) => v - b.bbox[i]!).find((x) => x !== 0) ?? 0);
  assert.deepEqual([...plainDets].sort(order), asPlain.sort(order));

  // --source (the images' folder) with the same JSON: the same results under the same ids
  const s = await yolor(
    'predict',
    '--weights',
    weights,
    '--source',
    join(coco, 'images', 'val'),
    '--data',
    valJson,
    '--save-json',
    '--conf',
    '0.001',
    '--iou',
    '0.6',
    '--workers',
    '1',
    '--project',
    join(work, 'pred'),
    '--name',
    'source',
  );
  assert.equal(s.status, 0, s.stderr);
  const fromSource = JSON.parse(readFileSync(join(work, 'pred', 'source', 'predictions.json'), 'utf8')) as typeof dets;
  assert.deepEqual([...fromSource].sort(order), [...dets].sort(order));
});

test('predict --source DIR --data instances.json: a folder image the JSON lacks is an error naming it', async () => {
  const images = join(coco, 'images', 'val');
  const stray = join(images, 'zz-not-in-json.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000000' } })
    .png()
    .toFile(stray);
  const bad = await yolor(
    'predict',
    '--weights',
    weights,
    '--source',
    images,
    '--data',
    valJson,
    '--save-json',
    '--project',
    join(work, 'pred'),
    '--name',
    'bad',
  );
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /zz-not-in-json\.png: not in .*instances_val\.json: no image entry's file_name, resolved against .*val, names it/);
  const usage = await yolor('predict', '--weights', weights);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--source FILE\|DIR or --data D is required/);
});
