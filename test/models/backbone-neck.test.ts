/** CSP-Darknet backbone and FPN / PAN necks: shapes, parameter counts, tracing, BN modes, training. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { CspDarknet } from '../../src/models/backbones/csp-darknet.js';
import { FpnNeck } from '../../src/models/necks/fpn.js';
import { PanNeck } from '../../src/models/necks/pan.js';
import type { BuildContext } from '../../src/models/types.js';
import { PlainConv } from '../../src/nn/blocks.js';
import { ConvBnAct, DepthwiseConvBnAct } from '../../src/nn/conv.js';
import { Module, withTrace } from '../../src/nn/module.js';
import { Rng } from '../../src/util/rng.js';

// Closed-form trainable parameter counts (see test/nn/blocks.test.ts).
const cba = (cin: number, cout: number, k: number): number => k * k * cin * cout + 2 * cout;
const bottleneck = (c: number): number => cba(c, c, 1) + cba(c, c, 3);
const bcsp = (cin: number, cout: number, n: number): number => {
  const c = Math.floor(cout / 2);
  return cba(cin, c, 1) + cin * c + c * c + 4 * c + n * bottleneck(c) + cba(2 * c, cout, 1);
};
const c3 = (cin: number, cout: number, n: number): number => {
  const c = Math.floor(cout / 2);
  return 2 * cba(cin, c, 1) + n * bottleneck(c) + cba(2 * c, cout, 1);
};
const sppf = (cin: number, cout: number): number => cba(cin, cin / 2, 1) + cba(2 * cin, cout, 1);

const ctx = (seed: number): BuildContext => ({ rng: new Rng(seed), act: 'silu' });

function rand(rng: Rng, shape: [number, number, number, number], scale = 1): tf.Tensor4D {
  return tf.tensor4d(
    rng.normalArray(
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    shape,
  );
}

function modulesByPath(root: Module): Map<string, Module> {
  const out = new Map<string, Module>();
  const walk = (m: Module): void => {
    out.set(m.path, m);
    for (const [, c] of m.childModules()) walk(c);
  };
  walk(root);
  return out;
}

class Detector extends Module {
  readonly backbone: CspDarknet;
  readonly neck: PanNeck;
  constructor(c: BuildContext) {
    super();
    this.backbone = this.addModule('backbone', new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: c }));
    this.neck = this.addModule(
      'neck',
      new PanNeck({ inChannels: this.backbone.outChannels, inStrides: this.backbone.outStrides, depthMultiple: 0.33, ctx: c }),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    return this.neck.forward(this.backbone.forward(x));
  }
}

before(async () => {
  await initBackend('wasm');
});

test('CspDarknet output shapes and strides', () => {
  for (const block of ['csp', 'c3'] as const) {
    const bb = new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: ctx(1), block });
    assert.deepEqual(bb.outChannels, [64, 128, 256]);
    assert.deepEqual(bb.outStrides, [8, 16, 32]);
    assert.deepEqual(bb.channels, [8, 16, 32, 64, 128, 256]);
    assert.deepEqual(bb.repeats, [1, 3, 3, 1]);
    for (const [h, w] of [
      [64, 64],
      [96, 128],
    ] as const) {
      const shapes = tf.tidy(() => bb.forward(tf.zeros([2, h, w, 3]) as tf.Tensor4D).map((t) => t.shape));
      assert.deepEqual(
        shapes,
        bb.outStrides.map((s, i) => [2, h / s, w / s, bb.outChannels[i]]),
        `${block} ${h}x${w}`,
      );
    }
    assert.throws(() => bb.forward(tf.zeros([1, 100, 100, 3]) as tf.Tensor4D), {
      message: 'input size 100x100 is not a multiple of the largest stride 32',
    });
    assert.throws(() => bb.forward(tf.zeros([1, 64, 80, 3]) as tf.Tensor4D), /input size 64x80 is not a multiple of the largest stride 32/);
    bb.dispose();
  }
  const gray = new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: ctx(2), inChannels: 1, spp: 'spp' });
  tf.tidy(() => assert.deepEqual(gray.forward(tf.zeros([1, 32, 32, 1]) as tf.Tensor4D)[2]!.shape, [1, 1, 1, 256]));
  gray.dispose();
});

test('CspDarknet parameter count matches the closed form', () => {
  const c = [8, 16, 32, 64, 128, 256];
  const n = [1, 3, 3, 1];
  const head = cba(3, 8, 3) + cba(8, 16, 3);
  const stages = (csp: (cin: number, cout: number, n: number) => number) =>
    [0, 1, 2, 3].reduce((s, i) => s + cba(c[i + 1]!, c[i + 2]!, 3) + csp(c[i + 2]!, c[i + 2]!, n[i]!), 0);
  const a = new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: ctx(3) });
  assert.equal(a.numParams(), head + stages(bcsp) + sppf(256, 256));
  const b = new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: ctx(3), block: 'c3', spp: 'none' });
  assert.equal(b.numParams(), head + stages(c3));
  const names = a.parameters().map((p) => p.name);
  for (const name of [
    'stem.conv.weight',
    'stage1.bn.gamma',
    'stage3.down.conv.weight',
    'stage3.csp.cv1.conv.weight',
    'stage3.csp.m.2.cv2.bn.running_var',
    'stage5.spp.cv2.conv.weight',
  ]) {
    assert.ok(names.includes(name), name);
  }
  a.dispose();
  b.dispose();
});

test('FPN and PAN on backbone features: shapes, channels, parameter counts', () => {
  const bb = new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: ctx(4) });
  const opts = { inChannels: bb.outChannels, inStrides: bb.outStrides, depthMultiple: 0.33, ctx: ctx(5) };
  const fpn = new FpnNeck(opts);
  const pan = new PanNeck(opts);
  assert.deepEqual(fpn.outChannels, [64, 128, 256]);
  assert.deepEqual(pan.outChannels, [64, 128, 256]);
  assert.deepEqual(pan.outStrides, [8, 16, 32]);
  assert.deepEqual(
    fpn.childModules().map(([n]) => n),
    ['lat5', 'td4', 'lat4', 'td3'],
  );
  assert.deepEqual(
    pan.childModules().map(([n]) => n),
    ['lat5', 'td4', 'lat4', 'td3', 'down3', 'bu4', 'down4', 'bu5'],
  );
  const fpnParams = cba(256, 128, 1) + bcsp(256, 128, 1) + cba(128, 64, 1) + bcsp(128, 64, 1);
  assert.equal(fpn.numParams(), fpnParams);
  assert.equal(pan.numParams(), fpnParams + cba(64, 64, 3) + bcsp(128, 128, 1) + cba(128, 128, 3) + bcsp(256, 256, 1));
  const panC3 = new PanNeck({ ...opts, block: 'c3' });
  assert.equal(
    panC3.numParams(),
    cba(256, 128, 1) + c3(256, 128, 1) + cba(128, 64, 1) + c3(128, 64, 1) + cba(64, 64, 3) + c3(128, 128, 1) + cba(128, 128, 3) + c3(256, 256, 1),
  );
  tf.tidy(() => {
    const feats = bb.forward(rand(new Rng(6), [2, 64, 96, 3]));
    const expected = [
      [2, 8, 12, 64],
      [2, 4, 6, 128],
      [2, 2, 3, 256],
    ];
    assert.deepEqual(
      fpn.forward(feats).map((t) => t.shape),
      expected,
    );
    assert.deepEqual(
      pan.forward(feats).map((t) => t.shape),
      expected,
    );
    assert.deepEqual(
      panC3.forward(feats).map((t) => t.shape),
      expected,
    );
    assert.throws(() => pan.forward(feats.slice(0, 2)), /expected 3 feature maps, got 2/);
    assert.throws(() => pan.forward([feats[1]!, feats[1]!, feats[2]!]), /feature 0 has 128 channels, expected 64/);
  });
  assert.throws(() => new PanNeck({ ...opts, inStrides: [8, 16, 64] }), /strides must double/);
  assert.throws(() => new FpnNeck({ ...opts, inChannels: [64], inStrides: [8] }), /at least 2 levels/);
  for (const m of [bb, fpn, pan, panC3]) m.dispose();
});

test('PAN generalises to 2 and 4 levels', () => {
  const rng = new Rng(7);
  for (const [channels, strides] of [
    [
      [16, 32],
      [16, 32],
    ],
    [
      [8, 16, 24, 32],
      [4, 8, 16, 32],
    ],
  ] as const) {
    const pan = new PanNeck({ inChannels: [...channels], inStrides: [...strides], depthMultiple: 0.33, ctx: ctx(8), block: 'c3' });
    tf.tidy(() => {
      const feats = strides.map((s, i) => rand(rng, [1, 64 / s, 64 / s, channels[i]!]));
      assert.deepEqual(
        pan.forward(feats).map((t) => t.shape),
        strides.map((s, i) => [1, 64 / s, 64 / s, channels[i]]),
      );
    });
    pan.dispose();
  }
});

test('tracing: readable paths, MACs equal the per-conv formula', () => {
  const model = new Detector(ctx(9));
  const x = rand(new Rng(10), [1, 64, 64, 3]);
  const { result, layers } = withTrace(() => model.forward(x));
  const names = layers.map((l) => l.name);
  for (const n of [
    'backbone.stem',
    'backbone.stage3.down',
    'backbone.stage3.csp.cv1',
    'backbone.stage3.csp.m.0.cv2',
    'backbone.stage5.spp.cv2',
    'neck.lat5',
    'neck.td3.cv4',
    'neck.bu5.bn',
  ]) {
    assert.ok(names.includes(n), `${n} traced`);
  }
  assert.equal(new Set(names).size, names.length, 'each leaf recorded once');
  const byPath = modulesByPath(model);
  let expected = 0;
  for (const l of layers) {
    const m = byPath.get(l.name);
    assert.ok(m, l.name);
    const pixels = l.outputShape[0]! * l.outputShape[1]! * l.outputShape[2]!;
    if (m instanceof ConvBnAct || m instanceof PlainConv) expected += pixels * m.k * m.k * m.cin * m.cout;
    else if (m instanceof DepthwiseConvBnAct) expected += pixels * m.k * m.k * m.channels;
    else assert.equal(l.macs, 0, `${l.name} (${l.type})`);
  }
  const total = layers.reduce((s, l) => s + l.macs, 0);
  assert.equal(total, expected);
  // Stem by hand: 64·64 outputs × 3·3·3·8.
  assert.equal(layers.find((l) => l.name === 'backbone.stem')!.macs, 64 * 64 * 27 * 8);
  assert.equal(
    layers.reduce((s, l) => s + l.params, 0),
    model.numParams(),
    'rows cover every parameter once',
  );
  tf.dispose(result);
  x.dispose();
  model.dispose();
});

test('eval mode uses running statistics', () => {
  const bb = new CspDarknet({ widthMultiple: 0.25, depthMultiple: 0.33, ctx: ctx(11) });
  const x = rand(new Rng(12), [2, 32, 32, 3], 2);
  bb.eval();
  const e0 = tf.tidy(() => Array.from(bb.forward(x)[0]!.dataSync()));
  const e1 = tf.tidy(() => Array.from(bb.forward(x)[0]!.dataSync()));
  assert.deepEqual(e1, e0);
  bb.train();
  tf.tidy(() => bb.forward(x));
  bb.eval();
  const e2 = tf.tidy(() => Array.from(bb.forward(x)[0]!.dataSync()));
  const diff = e2.reduce((m, v, i) => Math.max(m, Math.abs(v - e0[i]!)), 0);
  assert.ok(diff > 1e-4, `eval output changed after a training forward (max diff ${diff})`);
  x.dispose();
  bb.dispose();
});

test('backbone + PAN train: 5 Adam steps lower the loss', () => {
  const model = new Detector(ctx(13));
  const rng = new Rng(14);
  const x = rand(rng, [2, 64, 64, 3]);
  const targets = model.neck.outStrides.map((s, i) => rand(rng, [2, 64 / s, 64 / s, model.neck.outChannels[i]!]));
  const vars = model
    .parameters()
    .filter((p) => p.group !== 'buffer')
    .map((p) => p.variable);
  assert.equal(
    vars.reduce((n, v) => n + v.size, 0),
    model.numParams(),
  );
  const lossFn = (): tf.Scalar => {
    const outs = model.forward(x);
    return tf.addN(outs.map((o, i) => tf.mean(tf.square(tf.sub(o, targets[i]!))))) as tf.Scalar;
  };
  const opt = tf.train.adam(1e-2);
  const before = vars.map((v) => v.dataSync().slice());
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const loss = opt.minimize(lossFn, true, vars)!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  const final = tf.tidy(() => lossFn().dataSync()[0]!);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(final < losses[0]!, `loss fell: ${[...losses, final].map((l) => l.toFixed(4)).join(' → ')}`);
  const moved = vars.filter((v, i) => v.dataSync().some((a, j) => a !== before[i]![j])).length;
  assert.equal(moved, vars.length, 'every trainable tensor was updated');
  opt.dispose();
  tf.dispose([x, ...targets]);
  model.dispose();
});
