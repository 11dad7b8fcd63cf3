/** One conformance test over every zoo model, plus configs, checkpoints and summaries. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel, loadWeightsInto, saveModel } from '../../src/models/checkpoint.js';
import { parseModelConfig, readModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { compoundScale } from '../../src/models/scaling.js';
import { summarizeModel } from '../../src/models/summary.js';
import { listZoo, resolveModelConfig } from '../../src/models/zoo.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const zoo = listZoo();

test('the zoo ships at least three sizes of each family', () => {
  const names = zoo.map((c) => c.name);
  for (const fam of ['yolor', 'yolor-fpn', 'yolor-bifpn']) {
    for (const size of ['n', 's', 'm']) assert.ok(names.includes(`${fam}-${size}`), `${fam}-${size} in zoo`);
  }
  for (const c of zoo) assert.ok(c.description.length > 0, `${c.name} has a description`);
});

for (const cfg of zoo) {
  test(`${cfg.name}: output shapes at two image sizes`, () => {
    const model = new Detector(cfg);
    try {
      const na = cfg.anchors[0]!.length;
      for (const [h, w] of [
        [64, 64],
        [96, 128],
      ] as const) {
        const shapes = tf.tidy(() => model.forward(tf.zeros([1, h, w, 3]) as tf.Tensor4D).map((t) => t.shape));
        assert.equal(shapes.length, model.strides.length);
        shapes.forEach((s, i) => {
          assert.deepEqual(s, [1, h / model.strides[i]!, w / model.strides[i]!, na * (5 + cfg.nc)]);
        });
      }
      assert.throws(() => tf.tidy(() => model.forward(tf.zeros([1, 80, 64, 3]) as tf.Tensor4D)), /80x64 is not a multiple of the largest stride 32/);
    } finally {
      model.dispose();
    }
  });
}

test('compound scaling grows parameters and FLOPs with φ', () => {
  for (const fam of ['yolor', 'yolor-bifpn']) {
    const sums = ['n', 's', 'm'].map((s) => {
      const m = new Detector(resolveModelConfig(`${fam}-${s}`));
      const r = summarizeModel(m, 64);
      m.dispose();
      return r;
    });
    assert.ok(sums[0]!.params < sums[1]!.params && sums[1]!.params < sums[2]!.params, `${fam} params grow`);
    assert.ok(sums[0]!.gflops < sums[1]!.gflops && sums[1]!.gflops < sums[2]!.gflops, `${fam} FLOPs grow`);
  }
  assert.deepEqual(
    [0, 1, 2].map((p) => compoundScale(p).imgsz),
    [320, 416, 512],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => compoundScale(p).bifpnRepeats),
    [3, 4, 5, 6],
  );
});

test('summary: FLOPs are 2 × the traced MACs and the head has its closed-form parameter count', () => {
  const cfg = resolveModelConfig('yolor-n-plain');
  const model = new Detector(cfg);
  const s = summarizeModel(model, 64);
  assert.equal(s.params, model.numParams());
  assert.ok(Math.abs(s.gflops - s.layers.reduce((a, l) => a + l.flops, 0) / 1e9) < 1e-12);
  const no = 3 * (5 + cfg.nc);
  const headParams = model.neck.outChannels.reduce((a, c) => a + c * no + no, 0);
  assert.equal(model.head!.numParams(), headParams);
  // The implicit variant adds, per level, z for alignment (c), refine_add (c) and refine_mul (outputs).
  const implicit = new Detector(resolveModelConfig('yolor-n'));
  assert.equal(implicit.head!.numParams(), headParams + model.neck.outChannels.reduce((a, c) => a + 2 * c + no, 0));
  assert.equal(implicit.numParams() - model.numParams(), implicit.head!.numParams() - headParams);
  implicit.dispose();
  // Prediction conv at stride 8 on a 64×64 image: 8×8 cells × cin × outputs multiply-adds.
  const p3 = s.layers.find((l) => l.name === 'head.l0.pred')!;
  assert.equal(p3.flops, 2 * 8 * 8 * model.neck.outChannels[0]! * no);
  model.dispose();
});

test('save → load gives identical outputs; the checkpoint rebuilds its own architecture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolor-ckpt-'));
  const model = new Detector(resolveModelConfig('yolor-bifpn-n'), 3);
  model.eval();
  const x = tf.tensor4d(new Rng(1).normalArray(64 * 64 * 3), [1, 64, 64, 3]);
  const before = tf.tidy(() => model.forward(x).map((t) => t.arraySync()));
  await saveModel(join(dir, 'ckpt'), model, { epoch: 7 });
  const { model: loaded, metadata } = await loadModel(join(dir, 'ckpt'));
  loaded.eval();
  assert.equal(metadata.epoch, 7);
  assert.equal(loaded.config.name, 'yolor-bifpn-n');
  const after = tf.tidy(() => loaded.forward(x).map((t) => t.arraySync()));
  assert.deepEqual(after, before);
  model.dispose();
  loaded.dispose();
});

test('loading weights into a different architecture names the first mismatched tensor', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolor-ckpt-'));
  const small = new Detector(resolveModelConfig('yolor-n'));
  await saveModel(join(dir, 'n'), small);
  const bigger = new Detector(resolveModelConfig('yolor-s'));
  await assert.rejects(loadWeightsInto(bigger, join(dir, 'n')), (err: Error) => {
    assert.match(err.message, /model\.json: tensor 'backbone\.[^']+': checkpoint has shape \[[\d,]+\], model expects \[[\d,]+\]/);
    return true;
  });
  small.dispose();
  bigger.dispose();
});

test('config errors name the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolor-cfg-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  assert.throws(() => readModelConfig(write('a.yaml', 'name: x\nneck: bifpm\n')), /a\.yaml: 'neck' must be one of fpn, pan, bifpn/);
  assert.throws(() => readModelConfig(write('b.yaml', 'name: x\nwidht_multiple: 2\n')), /b\.yaml: 'widht_multiple' is not a model config field/);
  assert.throws(
    () => readModelConfig(write('c.yaml', 'name: x\nanchors: [[10,13,16,30]]\n')),
    /c\.yaml: 'anchors' has 1 levels but the pan neck outputs 3/,
  );
  assert.throws(() => readModelConfig(write('d.yaml', 'name: [\n')), /d\.yaml: invalid YAML/);
  assert.throws(() => readModelConfig(join(dir, 'missing.yaml')), /missing\.yaml: cannot read model config \(ENOENT\)/);
  assert.throws(() => resolveModelConfig('yolor-xxl'), /unknown model 'yolor-xxl' \(zoo: /);
  // A user's own config: overrides on top of φ.
  const own = readModelConfig(write('mine.yaml', 'name: mine\nnc: 3\nphi: 1\nwidth_multiple: 0.125\nneck: fpn\n'));
  assert.equal(own.dims.widthMultiple, 0.125);
  assert.equal(own.dims.depthMultiple, compoundScale(1).depthMultiple);
  const m = new Detector(own);
  assert.equal(
    tf.tidy(() => m.forward(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D)[0]!.shape[3]),
    3 * 8,
  );
  m.dispose();
  assert.throws(() => parseModelConfig({ name: 'x', nc: 2, names: ['a'] }, 'inline'), /inline: 'names' must be a list of 2 strings/);
});

for (const family of ['yolor-n', 'yolor-fpn-n', 'yolor-bifpn-n']) {
  test(`${family}: a few training steps lower the loss on a fixed batch`, () => {
    const cfg = parseModelConfig(
      {
        name: `${family}-tiny`,
        nc: 2,
        neck: resolveModelConfig(family).neck,
        block: resolveModelConfig(family).block,
        width_multiple: 0.125,
        bifpn_width: 16,
        bifpn_repeats: 1,
        head_depth: 1,
      },
      'test',
    );
    const model = new Detector(cfg, 1);
    const rng = new Rng(2);
    const x = tf.tensor4d(rng.normalArray(2 * 64 * 64 * 3), [2, 64, 64, 3]);
    const targets = tf.tidy(() => model.forward(x).map((t) => tf.randomNormal(t.shape, 0, 1, 'float32', 5)));
    const vars = model
      .parameters()
      .filter((p) => p.group !== 'buffer')
      .map((p) => p.variable);
    const loss = () => tf.tidy(() => tf.addN(model.forward(x).map((y, i) => tf.mean(tf.square(tf.sub(y, targets[i]!))))) as tf.Scalar);
    const opt = tf.train.adam(0.01);
    const first = tf.tidy(() => loss().dataSync()[0]!);
    for (let i = 0; i < 6; i++) opt.minimize(loss, false, vars);
    const last = tf.tidy(() => loss().dataSync()[0]!);
    assert.ok(last < first, `${family}: loss ${first} → ${last}`);
    model.dispose();
    tf.dispose(targets);
  });
}
