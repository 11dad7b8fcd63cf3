/**
 * The linear-evaluation protocol (src/train/probe.ts): the linear classifier
 * learns a separable set and nothing from random labels, the weighted kNN, the
 * data-dependent rescaling of a random network (unit variance after every batch
 * norm), stage features, and an end-to-end probe on a tiny generated
 * class-per-folder dataset (checkpoint + baselines, and random + supervised).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { writeImage } from '../../src/data/image-io.js';
import { initBackend } from '../../src/engine/backend.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { Detector } from '../../src/models/detector.js';
import { encoderLayers, probeLayerNames } from '../../src/models/probe-layers.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { BatchNorm2d } from '../../src/nn/conv.js';
import type { Module } from '../../src/nn/module.js';
import {
  accuracy,
  type FeatureMatrix,
  knnPredict,
  type LinearProbeSettings,
  linearProbe,
  poolFeatures,
  probe,
  rescaleBatchNorm,
} from '../../src/train/probe.js';
import { Rng } from '../../src/util/rng.js';
import { tmp } from '../helpers/tmp.js';

before(async () => {
  await initBackend('wasm');
});

const SETTINGS: LinearProbeSettings = { epochs: 30, lr: 0.1, batch: 256, momentum: 0.9, weightDecay: 5e-4, seed: 0 };

/** n points in `dim` dimensions labelled by the argmax of a fixed random linear map, with a margin (linearly separable). */
function separable(n: number, dim: number, classes: number, seed: number, map: Float32Array): { x: FeatureMatrix; y: Int32Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; ) {
    const p = rng.normalArray(dim);
    const scores = Array.from({ length: classes }, (_, c) => p.reduce((s, v, d) => s + v * map[d * classes + c]!, 0));
    const sorted = [...scores].sort((a, b) => b - a);
    if (sorted[0]! - sorted[1]! < 0.5) continue;
    data.set(p, i * dim);
    y[i++] = scores.indexOf(sorted[0]!);
  }
  // Shift and scale the features: the probe's standardisation must undo it.
  for (let i = 0; i < n * dim; i++) data[i] = data[i]! * 30 + 7;
  return { x: { n, dim, data }, y };
}

test('the linear probe learns a linearly separable set to ~100 % and random labels to chance', () => {
  const dim = 16;
  const classes = 5; // odd: the classifier's two-classes-at-a-time loops have a remainder
  const map = new Rng(99).normalArray(dim * classes);
  const train = separable(2000, dim, classes, 1, map);
  const test_ = separable(1000, dim, classes, 2, map);
  const r = linearProbe(train.x, train.y, test_.x, test_.y, classes, SETTINGS);
  assert.ok(r.top1 > 0.99, `separable test top-1 ${r.top1}`);
  assert.ok(r.trainTop1 > 0.99, `separable train top-1 ${r.trainTop1}`);

  const rng = new Rng(5);
  const randomTrain = Int32Array.from(train.y, () => rng.int(0, classes - 1));
  const randomTest = Int32Array.from(test_.y, () => rng.int(0, classes - 1));
  const rr = linearProbe(train.x, randomTrain, test_.x, randomTest, classes, SETTINGS);
  assert.ok(Math.abs(rr.top1 - 1 / classes) < 0.06, `random-label test top-1 ${rr.top1} is not chance`);
  // Deterministic for a seed.
  assert.deepEqual(linearProbe(train.x, train.y, test_.x, test_.y, classes, SETTINGS), r);
});

test('kNN: cosine neighbours vote with weights exp(sim/τ)', async () => {
  // Class 0 along x, class 1 along y (lengths vary: only directions count).
  const bank: FeatureMatrix = { n: 4, dim: 2, data: Float32Array.from([3, 0, 1, 0.1, 0, 2, 0.1, 5]) };
  const labels = Int32Array.from([0, 0, 1, 1]);
  const queries: FeatureMatrix = { n: 3, dim: 2, data: Float32Array.from([10, 1, 1, 9, -1, 0.2]) };
  const pred = await knnPredict(bank, labels, queries, 2, { k: 2, temperature: 0.07 });
  assert.deepEqual(Array.from(pred), [0, 1, 1]);
  assert.equal(accuracy(pred, Int32Array.from([0, 1, 0])), 2 / 3);
  // One very close neighbour of class 0 outweighs two less similar ones of class 1 (k = 3).
  const bank2: FeatureMatrix = { n: 3, dim: 2, data: Float32Array.from([1, 0, 0.8, 0.6, 0.8, -0.6]) };
  const weighted = await knnPredict(bank2, Int32Array.from([0, 1, 1]), { n: 1, dim: 2, data: Float32Array.from([1, 0]) }, 2, {
    k: 3,
    temperature: 0.07,
  });
  assert.equal(weighted[0], 0);
  // With a high temperature the votes are nearly equal: the majority wins.
  const flat = await knnPredict(bank2, Int32Array.from([0, 1, 1]), { n: 1, dim: 2, data: Float32Array.from([1, 0]) }, 2, { k: 3, temperature: 100 });
  assert.equal(flat[0], 1);
});

function tinyConfig() {
  return resolveModelConfig('yolor-n');
}

/** Smooth random images in [0, 1]. */
function images(n: number, s: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const data = new Float32Array(n * s * s * 3);
  for (let i = 0; i < n; i++) {
    const f = [rng.next() * 0.5, rng.next() * 0.5, rng.next() * 0.5];
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++)
        for (let c = 0; c < 3; c++) data[((i * s + y) * s + x) * 3 + c] = 0.5 + 0.4 * Math.sin(f[c]! * x + c) * Math.cos(f[(c + 1) % 3]! * y);
  }
  return tf.tensor4d(data, [n, s, s, 3]);
}

/** The mean over channels of the variance of every batch norm's output (eval mode), in forward order. */
function bnOutputVariances(net: Detector, x: tf.Tensor4D): number[] {
  const out: number[] = [];
  const bns: BatchNorm2d[] = [];
  const walk = (m: Module): void => {
    if (m instanceof BatchNorm2d) bns.push(m);
    for (const [, c] of m.childModules()) walk(c);
  };
  walk(net.backbone as unknown as Module);
  walk(net.neck as unknown as Module);
  type Patched = { normalizeBatch: (y: tf.Tensor4D) => tf.Tensor4D };
  for (const bn of bns) {
    const p = bn as unknown as Patched;
    const orig = p.normalizeBatch.bind(bn);
    p.normalizeBatch = (y) => {
      const r = orig(y);
      out.push(tf.tidy(() => tf.mean(tf.moments(r, [0, 1, 2]).variance).dataSync()[0]!));
      return r;
    };
  }
  try {
    tf.tidy(() => {
      net.features(x);
    });
  } finally {
    for (const bn of bns) delete (bn as unknown as Partial<Patched>).normalizeBatch;
  }
  return out;
}

test('the rescaled random network has unit activation variance after every batch norm', async () => {
  const net = new Detector(tinyConfig(), 0);
  const x = images(32, 32, 1);
  try {
    net.eval();
    const before = bnOutputVariances(net, x);
    // Plain random init in eval mode: the activations vanish with depth.
    assert.ok(before[before.length - 1]! < 0.01, `random init: last variance ${before[before.length - 1]}`);
    const r = await rescaleBatchNorm(net, [x]);
    assert.equal(r.images, 32);
    assert.equal(r.layers, before.length);
    assert.equal(net.training, false);
    const after = bnOutputVariances(net, x);
    for (const [i, v] of after.entries()) assert.ok(v > 0.8 && v < 1.2, `batch norm ${i}: output variance ${v}`);
  } finally {
    x.dispose();
    net.dispose();
  }
});

test('stage features: stage1 … stage5 at strides 2 … 32, the neck reuses them; pooling to a k×k grid', () => {
  const net = new Detector(tinyConfig(), 0);
  net.eval();
  try {
    assert.deepEqual(probeLayerNames(net), ['stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'neck']);
    tf.tidy(() => {
      const x = images(2, 64, 2);
      const layers = encoderLayers(net, x);
      assert.deepEqual(
        layers.map((l) => [l.name, l.maps.map((m) => m.shape[1])]),
        [
          ['stage1', [32]],
          ['stage2', [16]],
          ['stage3', [8]],
          ['stage4', [4]],
          ['stage5', [2]],
          ['neck', [8, 4, 2]],
        ],
      );
      const neck = net.features(x);
      neck.forEach((m, i) => {
        assert.ok(tf.max(tf.abs(tf.sub(m, layers[5]!.maps[i]!))).dataSync()[0]! < 1e-5);
      });
      const p = poolFeatures(layers[0]!.maps[0]!, 2);
      assert.deepEqual(p.shape, [2, 4 * layers[0]!.maps[0]!.shape[3]]);
      assert.throws(() => encoderLayers(net, x, ['stage9']), /no layer 'stage9'/);
    });
  } finally {
    net.dispose();
  }
});

/** `root/<class>/<i>.png`: 3 classes of 32×32 patterns (stripes across, stripes down, checks), 10 each. */
async function patternFolder(root: string): Promise<void> {
  const kinds = ['across', 'checks', 'down'];
  for (const [k, kind] of kinds.entries()) {
    mkdirSync(join(root, kind), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const data = new Uint8Array(32 * 32 * 3);
      const period = 4 + (i % 3);
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const on =
            k === 0 ? Math.floor(y / period) % 2 : k === 2 ? Math.floor(x / period) % 2 : (Math.floor(x / period) + Math.floor(y / period)) % 2;
          data.set(on ? [230, 200 - i * 5, 40] : [20, 30 + i * 5, 90], (y * 32 + x) * 3);
        }
      await writeImage(join(root, kind, `${String(i).padStart(2, '0')}.png`), { data, width: 32, height: 32 });
    }
  }
}

test('end to end: a checkpoint against its baselines on a tiny class folder, all files written, deterministic', async () => {
  const root = tmp('probe-e2e');
  const dataDir = join(root, 'data');
  await patternFolder(dataDir);
  const ckpt = join(root, 'ckpt');
  const det = new Detector(tinyConfig(), 5);
  await saveModel(ckpt, det, { imgsz: 32 });
  det.dispose();
  const lines: string[] = [];
  const opts = {
    weights: ckpt,
    data: dataDir,
    epochs: 2,
    knn: 3,
    rescaleImages: 8,
    project: join(root, 'runs'),
    progress: false,
    log: (l: string) => void lines.push(l),
  };
  const r = await probe(opts);
  assert.equal(r.dir, join(root, 'runs', 'exp'));
  for (const f of Object.values(r.files)) assert.ok(existsSync(f), f);
  assert.equal(r.json.imgsz, 32, "the checkpoint's recorded size");
  assert.equal(r.json.data.train, 24);
  assert.equal(r.json.data.test, 6);
  assert.deepEqual(
    r.json.rows.map((row) => row.kind),
    ['checkpoint', 'random', 'random-rescaled'],
  );
  for (const row of r.json.rows) {
    assert.deepEqual(Object.keys(row.layers), ['stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'neck']);
    for (const l of Object.values(row.layers)) assert.ok(l.linear.top1 >= 0 && l.linear.top1 <= 1);
    assert.ok(row.knn && row.knn.layer === row.best.layer && row.knn.top1 >= 0);
  }
  const csv = readFileSync(r.files.csv, 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + 3 * 6);
  assert.match(readFileSync(r.files.md, 'utf8'), /\| random-rescaled +\|/);
  assert.deepEqual(JSON.parse(readFileSync(r.files.json, 'utf8')).layers, r.json.layers);
  assert.equal(readFileSync(r.files.png).subarray(1, 4).toString(), 'PNG');
  // Same seed, same numbers (a second run goes to exp2).
  const again = await probe(opts);
  assert.equal(again.dir, join(root, 'runs', 'exp2'));
  assert.deepEqual(
    again.json.rows.map((row) => row.layers),
    r.json.rows.map((row) => row.layers),
  );
});

test('end to end: random weights with the supervised upper bound, chosen layers, 2×2 pooling', async () => {
  const root = tmp('probe-sup');
  await patternFolder(join(root, 'data'));
  const r = await probe({
    weights: 'random',
    model: 'yolor-n',
    data: join(root, 'data'),
    imgsz: 32,
    layers: ['stage2', 'neck'],
    pool: 2,
    epochs: 1,
    knn: 0,
    rescaleImages: 8,
    supervisedEpochs: 1,
    supervisedBatch: 8,
    project: join(root, 'runs'),
    name: 'sup',
    progress: false,
    log: () => {},
  });
  assert.deepEqual(
    r.json.rows.map((row) => row.kind),
    ['random', 'random-rescaled', 'supervised'],
  );
  assert.equal(r.json.rows[0]!.layers.stage2!.dim, 4 * 32);
  assert.ok(r.json.rows[2]!.endToEndTop1! >= 0);
  assert.equal(r.json.rows[0]!.knn, undefined);
  assert.ok(existsSync(join(root, 'runs', 'sup', 'probe.png')));
});

test('clear errors: an empty class folder, a missing dataset, an unknown layer', async () => {
  const root = tmp('probe-err');
  await patternFolder(join(root, 'data'));
  await patternFolder(join(root, 'with-empty'));
  mkdirSync(join(root, 'with-empty', 'empty'));
  const base = { weights: 'random', model: 'yolor-n', imgsz: 32, epochs: 1, project: join(root, 'runs'), progress: false, log: () => {} };
  await assert.rejects(probe({ ...base, data: join(root, 'with-empty') }), (e: Error) => e.message.includes(join(root, 'with-empty', 'empty')));
  await assert.rejects(probe({ ...base, data: join(root, 'missing') }), /no such folder/);
  await assert.rejects(probe({ ...base, data: join(root, 'data'), layers: ['stage7'] }), /no layer 'stage7'/);
  await assert.rejects(probe({ ...base, weights: join(root, 'nockpt'), model: undefined, data: join(root, 'data') }), /nockpt/);
  assert.ok(!existsSync(join(root, 'runs')), 'nothing written on failure');
});
