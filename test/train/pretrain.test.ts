/**
 * `yolor pretrain` end to end on tiny data: it trains and writes its run folder;
 * an interrupted run resumes to the same weights as an uninterrupted one; the
 * labels of a --data dataset never influence the weights (a copy whose labels are
 * scrambled gives bit-identical weights); and `yolor train --weights` starts a
 * detector from the pretrained encoder (loaded by name and shape), with --freeze
 * keeping the frozen stages unchanged.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { writeImage } from '../../src/data/image-io.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadTensors } from '../../src/io/file-handler.js';
import { loadMatchingWeights } from '../../src/models/checkpoint.js';
import { Detector } from '../../src/models/detector.js';
import { loadPretextModel } from '../../src/models/pretext-checkpoint.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { pretrain } from '../../src/train/pretrain.js';
import { frozenPrefixes } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { tmp } from '../helpers/tmp.js';

before(async () => {
  await initBackend('wasm');
});

/** n small images with coloured rectangles on noise, written as PNG into dir/JPEGImages-like folder `sub`. */
async function writeImages(dir: string, n: number, seed = 1): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = 80;
    const h = 64;
    const data = new Uint8Array(w * h * 3);
    for (let k = 0; k < data.length; k++) data[k] = 60 + Math.floor(rng.next() * 40);
    const x0 = rng.int(0, 40);
    const y0 = rng.int(0, 30);
    const c = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
    for (let y = y0; y < y0 + 24; y++) for (let x = x0; x < x0 + 30; x++) for (let k = 0; k < 3; k++) data[(y * w + x) * 3 + k] = c[k]!;
    const name = `img${String(i).padStart(3, '0')}`;
    await writeImage(join(dir, `${name}.png`), { data, width: w, height: h });
    names.push(name);
  }
  return names;
}

/** A VOC root over the images, with labels from `label(i)`. */
async function vocDataset(root: string, n: number, label: (i: number) => { cls: string; box: number[] }): Promise<string> {
  const names = await writeImages(join(root, 'JPEGImages'), n);
  mkdirSync(join(root, 'Annotations'));
  mkdirSync(join(root, 'ImageSets', 'Main'), { recursive: true });
  names.forEach((name, i) => {
    const { cls, box } = label(i);
    writeFileSync(
      join(root, 'Annotations', `${name}.xml`),
      `<annotation><filename>${name}.png</filename><size><width>80</width><height>64</height><depth>3</depth></size>` +
        `<object><name>${cls}</name><difficult>0</difficult><bndbox><xmin>${box[0]}</xmin><ymin>${box[1]}</ymin><xmax>${box[2]}</xmax><ymax>${box[3]}</ymax></bndbox></object></annotation>`,
    );
  });
  writeFileSync(join(root, 'ImageSets', 'Main', 'train.txt'), `${names.join('\n')}\n`);
  return root;
}

const base = { model: 'yolor-n', imgsz: 64, batch: 4, optimizer: 'adamw' as const, seed: 3, quiet: true, name: 'exp' };

async function weightsOf(dir: string): Promise<Record<string, Float32Array>> {
  const { tensors } = await loadTensors(join(dir, 'weights', 'last'));
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = t.dataSync() as Float32Array;
  tf.dispose(Object.values(tensors));
  return out;
}

test('pretrain writes its run folder and a pretext checkpoint that rebuilds itself', async () => {
  const dir = tmp('pretrain');
  await writeImages(join(dir, 'images'), 8);
  const r = await pretrain({ ...base, source: join(dir, 'images'), tasks: ['rotation'], epochs: 2, project: join(dir, 'runs') });
  assert.equal(r.rows.length, 2);
  const csv = readFileSync(join(r.runDir, 'results.csv'), 'utf8');
  assert.match(csv.split('\n')[0]!, /^epoch,train\/rotation_loss,train\/rotation_acc,train\/loss,lr,time$/);
  assert.ok(existsSync(join(r.runDir, 'args.yaml')));
  const { model, pretext } = await loadPretextModel(join(r.runDir, 'weights', 'last'));
  assert.deepEqual(pretext.tasks, ['rotation']);
  assert.equal(pretext.imgsz, 64);
  model.dispose();
});

test('an interrupted pretraining run resumes to the same weights as an uninterrupted one', async () => {
  const dir = tmp('pretrain-resume');
  await writeImages(join(dir, 'images'), 12);
  const source = join(dir, 'images');
  const whole = await pretrain({ ...base, source, tasks: ['rotation'], epochs: 2, project: join(dir, 'a') });
  const cut = await pretrain({ ...base, source, tasks: ['rotation'], epochs: 2, project: join(dir, 'b'), maxBatches: 4 });
  assert.equal(cut.interrupted, true);
  const resumed = await pretrain({ ...base, source, tasks: ['rotation'], epochs: 2, project: join(dir, 'b'), resume: cut.runDir });
  assert.equal(resumed.interrupted, false);
  const a = await weightsOf(whole.runDir);
  const b = await weightsOf(resumed.runDir);
  for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], k);
  assert.deepEqual(
    resumed.rows.map((r) => r['train/rotation_loss']),
    whole.rows.map((r) => r['train/rotation_loss']),
  );
});

test('pretrain never reads labels: a dataset with scrambled labels gives the same weights', async () => {
  const dir = tmp('pretrain-labels');
  const rng = new Rng(5);
  const good = await vocDataset(join(dir, 'good'), 8, () => ({ cls: 'cell', box: [10, 10, 40, 34] }));
  const bad = await vocDataset(join(dir, 'bad'), 8, (i) => ({
    cls: `junk${i % 3}`,
    box: [rng.int(0, 30), rng.int(0, 20), rng.int(41, 80), rng.int(35, 64)],
  }));
  const a = await pretrain({ ...base, data: good, tasks: ['rotation'], epochs: 1, project: join(dir, 'ra') });
  const b = await pretrain({ ...base, data: bad, tasks: ['rotation'], epochs: 1, project: join(dir, 'rb') });
  const wa = await weightsOf(a.runDir);
  const wb = await weightsOf(b.runDir);
  assert.deepEqual(Object.keys(wb).sort(), Object.keys(wa).sort());
  for (const k of Object.keys(wa)) assert.deepEqual(wb[k], wa[k], k);
});

test('a detector loads the pretrained encoder by name and shape; --freeze names the stages it freezes', async () => {
  const dir = tmp('pretrain-transfer');
  await writeImages(join(dir, 'images'), 8);
  const r = await pretrain({ ...base, source: join(dir, 'images'), tasks: ['rotation'], epochs: 1, project: join(dir, 'runs') });
  const det = new Detector({ ...resolveModelConfig('yolor-n'), nc: 3 }, 9);
  const m = await loadMatchingWeights(det, join(r.runDir, 'weights', 'last'));
  assert.ok(m.loaded.every((n) => n.startsWith('backbone.') || n.startsWith('neck.')));
  assert.ok(m.loaded.some((n) => n.startsWith('backbone.stem.')) && m.loaded.some((n) => n.startsWith('neck.')));
  assert.ok(m.skipped.every((s) => s.name.startsWith('pretext_rotation.')) && m.skipped.length > 0);
  assert.ok(m.initialised.every((n) => n.startsWith('head.')) && m.initialised.length > 0);
  det.dispose();
  assert.deepEqual(frozenPrefixes(2), ['backbone.stem', 'backbone.stage1', 'backbone.stage2']);
  assert.throws(() => frozenPrefixes(7), /--freeze 7/);
});

test('frozen parameters get no optimiser slot and do not change', async () => {
  const { GroupedOptimizer } = await import('../../src/train/optimizer.js');
  const det = new Detector({ ...resolveModelConfig('yolor-n'), nc: 3 }, 1);
  const frozen = frozenPrefixes(1);
  const opt = new GroupedOptimizer(det, {
    name: 'adamw',
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 0,
    frozen: (n) => frozen.some((p) => n.startsWith(`${p}.`)),
  });
  const stem = det.parameters().find((p) => p.name === 'backbone.stem.conv.weight')!;
  const other = det.parameters().find((p) => p.name === 'backbone.stage2.down.conv.weight')!;
  const before0 = stem.variable.dataSync().slice();
  const before1 = other.variable.dataSync().slice();
  assert.ok(!opt.slots.some((s) => s.name.startsWith('backbone.stem.')));
  const grads = Object.fromEntries(
    det
      .parameters()
      .filter((p) => p.group !== 'buffer')
      .map((p) => [p.variable.name, tf.onesLike(p.variable)]),
  );
  opt.apply(grads);
  assert.deepEqual(stem.variable.dataSync(), before0);
  assert.notDeepEqual(other.variable.dataSync(), before1);
  tf.dispose(Object.values(grads));
  opt.dispose();
  det.dispose();
});

test('--probe-data adds the linear probe of every epoch to results.csv', async () => {
  const dir = tmp('pretrain-probe');
  await writeImages(join(dir, 'images'), 8);
  for (const split of ['train', 'val'])
    for (const [cls, seed] of [
      ['a', 11],
      ['b', 12],
    ] as const)
      await writeImages(join(dir, 'classes', split, cls), 4, seed + (split === 'val' ? 10 : 0));
  const r = await pretrain({
    ...base,
    source: join(dir, 'images'),
    tasks: ['rotation'],
    epochs: 1,
    project: join(dir, 'runs'),
    probeData: join(dir, 'classes'),
  });
  const top1 = r.rows[0]!['probe/top1']!;
  assert.ok(top1 >= 0 && top1 <= 1, `probe/top1 ${top1}`);
  assert.match(readFileSync(join(r.runDir, 'results.csv'), 'utf8').split('\n')[0]!, /probe\/top1/);
});
