/** CSP building blocks: shapes, closed-form parameter counts, residuals, BN modes, tracing. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import {
  BatchNormAct,
  Bottleneck,
  BottleneckCSP,
  C3,
  concatChannels,
  cspBlock,
  Downsample,
  DWSeparableConv,
  PlainConv,
  SPP,
  SPPF,
  Upsample,
  upsample,
} from '../../src/nn/blocks.js';
import { ConvBnAct } from '../../src/nn/conv.js';
import { type Module, withTrace } from '../../src/nn/module.js';
import { Rng } from '../../src/util/rng.js';

// Closed-form trainable parameter counts (buffers excluded).
const cba = (cin: number, cout: number, k: number): number => k * k * cin * cout + 2 * cout;
const bottleneck = (cin: number, cout: number, e = 1): number => {
  const h = Math.floor(cout * e);
  return cba(cin, h, 1) + cba(h, cout, 3);
};
const c3 = (cin: number, cout: number, n: number): number => {
  const c = Math.floor(cout / 2);
  return 2 * cba(cin, c, 1) + n * bottleneck(c, c) + cba(2 * c, cout, 1);
};
const bcsp = (cin: number, cout: number, n: number): number => {
  const c = Math.floor(cout / 2);
  // cv1 + cv2 (plain) + cv3 (plain) + BN(2c) + m + cv4
  return cba(cin, c, 1) + cin * c + c * c + 2 * 2 * c + n * bottleneck(c, c) + cba(2 * c, cout, 1);
};
const spp = (cin: number, cout: number, nk: number): number => {
  const c = Math.floor(cin / 2);
  return cba(cin, c, 1) + cba(c * (nk + 1), cout, 1);
};
const dwsep = (cin: number, cout: number, k: number): number => k * k * cin + 2 * cin + cba(cin, cout, 1);

const bufferCount = (m: Module): number =>
  m
    .parameters()
    .filter((p) => p.group === 'buffer')
    .reduce((n, p) => n + p.variable.size, 0);

function rand(rng: Rng, shape: [number, number, number, number], scale = 1): tf.Tensor4D {
  return tf.tensor4d(
    rng.normalArray(
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    shape,
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

before(async () => {
  await initBackend('wasm');
});

test('parameter counts match the closed forms', () => {
  const rng = new Rng(1);
  const cases: Array<[string, Module, number]> = [
    ['ConvBnAct 3x3', new ConvBnAct(4, 6, { k: 3, rng }), 3 * 3 * 4 * 6 + 2 * 6],
    ['PlainConv', new PlainConv(4, 6, { rng }), 24],
    ['BatchNormAct', new BatchNormAct(6), 12],
    ['Bottleneck 4→4', new Bottleneck(4, 4, { rng }), bottleneck(4, 4)],
    ['Bottleneck 4→6 e=0.5', new Bottleneck(4, 6, { expansion: 0.5, rng }), bottleneck(4, 6, 0.5)],
    ['C3 n=1', new C3(6, 8, { n: 1, rng }), c3(6, 8, 1)],
    ['C3 n=2', new C3(8, 8, { n: 2, rng }), c3(8, 8, 2)],
    ['BottleneckCSP n=1', new BottleneckCSP(6, 8, { n: 1, rng }), bcsp(6, 8, 1)],
    ['BottleneckCSP n=3', new BottleneckCSP(8, 16, { n: 3, rng }), bcsp(8, 16, 3)],
    ['SPP', new SPP(8, 12, { rng }), spp(8, 12, 3)],
    ['SPPF', new SPPF(8, 12, { rng }), spp(8, 12, 3)],
    ['DWSeparableConv', new DWSeparableConv(6, 10, { k: 5, rng }), dwsep(6, 10, 5)],
    ['Downsample', new Downsample(4, 8, { rng }), cba(4, 8, 3)],
  ];
  for (const [name, m, expected] of cases) {
    assert.equal(m.numParams(), expected, name);
    m.dispose();
  }
  // Hand-computed for the smallest cases, as a check on the helpers themselves.
  assert.equal(bottleneck(4, 4), 4 * 4 + 8 + 9 * 4 * 4 + 8); // 176
  assert.equal(c3(4, 4, 1), 2 * (4 * 2 + 4) + (2 * 2 + 4 + 9 * 2 * 2 + 4) + (4 * 4 + 8)); // 24 + 48 + 24
  assert.equal(bcsp(4, 4, 1), 4 * 2 + 4 + 8 + 4 + 8 + 48 + (4 * 4 + 8)); // 112
});

test('BN buffers and parameter names', () => {
  const rng = new Rng(2);
  const m = new BottleneckCSP(6, 8, { n: 2, rng });
  // BN layers: cv1, cv4, m.0.cv1, m.0.cv2, m.1.cv1, m.1.cv2 (4·2 + 8 + 4·4 channels) and the shared BN over 2c_ = 8.
  assert.equal(bufferCount(m), 2 * (4 + 8 + 4 * 4 + 8));
  const names = m.parameters().map((p) => p.name);
  for (const n of [
    'cv1.conv.weight',
    'cv2.weight',
    'cv3.weight',
    'cv4.bn.gamma',
    'bn.gamma',
    'bn.running_var',
    'm.0.cv1.conv.weight',
    'm.1.cv2.bn.running_mean',
  ]) {
    assert.ok(names.includes(n), `${n} in [${names.join(', ')}]`);
  }
  assert.equal(new Set(names).size, names.length, 'unique names');
  const groups = new Map(m.parameters().map((p) => [p.name, p.group]));
  assert.equal(groups.get('cv2.weight'), 'weight');
  assert.equal(groups.get('bn.beta'), 'bn');
  assert.equal(groups.get('bn.running_mean'), 'buffer');
  m.dispose();
});

test('output shapes', () => {
  const rng = new Rng(3);
  const x = rand(rng, [2, 8, 12, 6]);
  const shape = (m: { forward(x: tf.Tensor4D): tf.Tensor4D }) => tf.tidy(() => m.forward(x).shape);
  assert.deepEqual(shape(new Bottleneck(6, 10, { rng })), [2, 8, 12, 10]);
  assert.deepEqual(shape(new C3(6, 10, { n: 2, rng })), [2, 8, 12, 10]);
  assert.deepEqual(shape(new BottleneckCSP(6, 10, { n: 2, rng })), [2, 8, 12, 10]);
  assert.deepEqual(shape(cspBlock('c3', 6, 4, { rng })), [2, 8, 12, 4]);
  assert.deepEqual(shape(new SPP(6, 10, { rng })), [2, 8, 12, 10]);
  assert.deepEqual(shape(new SPPF(6, 10, { rng })), [2, 8, 12, 10]);
  assert.deepEqual(shape(new DWSeparableConv(6, 10, { rng })), [2, 8, 12, 10]);
  assert.deepEqual(shape(new DWSeparableConv(6, 10, { stride: 2, rng })), [2, 4, 6, 10]);
  assert.deepEqual(shape(new Downsample(6, 10, { rng })), [2, 4, 6, 10]);
  assert.deepEqual(shape(new Upsample()), [2, 16, 24, 6]);
  tf.tidy(() => {
    const u = upsample(x);
    assert.deepEqual(u.shape, [2, 16, 24, 6]);
    // Nearest: every 2×2 block repeats one input pixel.
    const ua = u.arraySync();
    const xa = x.arraySync();
    assert.equal(ua[1]![5]![7]![3], xa[1]![2]![3]![3]);
    assert.equal(ua[0]![4]![0]![0], xa[0]![2]![0]![0]);
    assert.deepEqual(concatChannels([x, upsample(upsample(x, 1), 1)]).shape, [2, 8, 12, 12]);
  });
  assert.throws(() => concatChannels([x, tf.zeros([2, 4, 12, 6]) as tf.Tensor4D]), /differ outside the channel axis/);
  assert.throws(() => cspBlock('csp', 4, 4, { n: 0, rng }), /n must be a positive integer/);
  x.dispose();
});

test('the shortcut adds the input exactly; no residual when channels differ', () => {
  const x = rand(new Rng(4), [2, 6, 6, 4]);
  const withShortcut = new Bottleneck(4, 4, { shortcut: true, rng: new Rng(5) });
  const without = new Bottleneck(4, 4, { shortcut: false, rng: new Rng(5) });
  assert.ok(withShortcut.add && !without.add);
  tf.tidy(() => {
    const ys = withShortcut.forward(x);
    const yn = without.forward(x);
    assert.ok(maxAbsDiff(ys, yn) > 0.1, 'outputs differ');
    assert.ok(maxAbsDiff(tf.sub(ys, yn), x) < 1e-5, 'difference is the input');
  });
  const wide = new Bottleneck(4, 6, { shortcut: true, rng: new Rng(6) });
  assert.equal(wide.add, false);
  // Inside C3, shortcut=false reaches every Bottleneck.
  const c = new C3(4, 4, { n: 2, shortcut: false, rng: new Rng(7) });
  assert.ok(c.m.every((b) => !b.add));
  x.dispose();
});

test('SPPF(k=5) equals SPP(5, 9, 13) with the same weights', () => {
  const x = rand(new Rng(8), [1, 13, 11, 8], 2);
  const a = new SPP(8, 6, { kernels: [5, 9, 13], rng: new Rng(9) });
  const b = new SPPF(8, 6, { k: 5, rng: new Rng(9) });
  tf.tidy(() => assert.ok(maxAbsDiff(a.forward(x), b.forward(x)) < 1e-5));
  x.dispose();
});

test('eval mode uses running statistics; training mode updates them', () => {
  const rng = new Rng(10);
  const x = rand(rng, [2, 6, 6, 4], 3);
  const m = new BottleneckCSP(4, 8, { n: 1, rng });
  m.eval();
  const e0 = m.forward(x);
  const e1 = m.forward(x);
  assert.equal(maxAbsDiff(e0, e1), 0, 'eval forward is deterministic and leaves the stats alone');
  assert.deepEqual(Array.from(m.bn.runningMean.dataSync()), new Array(8).fill(0));
  m.train();
  tf.tidy(() => m.forward(x));
  assert.ok(
    m.bn.runningMean.dataSync().some((v) => v !== 0),
    'running mean moved',
  );
  assert.ok(
    m.cv1.bn!.runningVar.dataSync().some((v) => v !== 1),
    'running var moved',
  );
  m.eval();
  const e2 = m.forward(x);
  assert.ok(maxAbsDiff(e0, e2) > 1e-4, 'eval output changed after the stats moved');
  tf.dispose([e0, e1, e2]);

  // BatchNormAct maths (linear activation).
  const bn = new BatchNormAct(4, { act: 'linear' });
  tf.tidy(() => {
    const y = bn.forward(x); // training: batch statistics
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    assert.ok(tf.max(tf.abs(mean)).dataSync()[0]! < 1e-4);
    assert.ok(tf.max(tf.abs(tf.sub(variance, 1))).dataSync()[0]! < 1e-2);
    const { mean: xm } = tf.moments(x, [0, 1, 2]);
    // running_mean = 0.97 · 0 + 0.03 · batch mean
    assert.ok(maxAbsDiff(bn.runningMean, tf.mul(xm, 0.03)) < 1e-5);
  });
  bn.eval();
  bn.runningMean.assign(tf.zeros([4]));
  bn.runningVar.assign(tf.ones([4]));
  tf.tidy(() => assert.ok(maxAbsDiff(bn.forward(x), tf.div(x, Math.sqrt(1 + 1e-3))) < 1e-5));
  x.dispose();
});

test('every trainable parameter of BottleneckCSP and C3 gets a gradient', () => {
  const rng = new Rng(11);
  const x = rand(rng, [2, 6, 6, 4]);
  for (const m of [new BottleneckCSP(4, 8, { n: 2, rng }), new C3(4, 8, { n: 2, rng })]) {
    const params = m.parameters().filter((p) => p.group !== 'buffer');
    const target = rand(rng, [2, 6, 6, 8]);
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(tf.sub(m.forward(x), target))) as tf.Scalar,
      params.map((p) => p.variable),
    );
    assert.ok(Number.isFinite(value.dataSync()[0]!));
    for (const p of params) {
      const g = grads[p.variable.name]!;
      assert.ok(g, `gradient for ${p.name}`);
      const norm = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!);
      assert.ok(Number.isFinite(norm) && norm > 0, `${m.typeName} ${p.name}: |grad| = ${norm}`);
    }
    tf.dispose([value, target, ...Object.values(grads)]);
  }
  x.dispose();
});

test('tracing records each leaf once with the expected MACs', () => {
  const rng = new Rng(12);
  const x = rand(rng, [1, 8, 8, 4]);
  const m = new C3(4, 8, { n: 1, rng });
  const { result, layers } = withTrace(() => m.forward(x));
  const P = 64;
  assert.deepEqual(
    layers.map((l) => l.name),
    ['cv1', 'm.0.cv1', 'm.0.cv2', 'cv2', 'cv3'],
  );
  assert.ok(layers.every((l) => l.type === 'Conv'));
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  assert.equal(macs, P * (4 * 4 + 4 * 4 + 9 * 4 * 4 + 4 * 4 + 8 * 8));
  assert.equal(
    layers.reduce((s, l) => s + l.params, 0),
    m.numParams(),
  );
  result.dispose();

  const csp = new BottleneckCSP(4, 8, { n: 1, rng });
  const t = withTrace(() => csp.forward(x));
  assert.deepEqual(
    t.layers.map((l) => `${l.name}:${l.type}`),
    ['cv1:Conv', 'm.0.cv1:Conv', 'm.0.cv2:Conv', 'cv3:Conv2d', 'cv2:Conv2d', 'bn:BN', 'cv4:Conv'],
  );
  assert.equal(
    t.layers.reduce((s, l) => s + l.macs, 0),
    P * (4 * 4 + 4 * 4 + 9 * 4 * 4 + 4 * 4 + 4 * 4 + 8 * 8),
  );
  assert.equal(
    t.layers.reduce((s, l) => s + l.params, 0),
    csp.numParams(),
  );
  t.result.dispose();

  const sep = new DWSeparableConv(4, 8, { k: 3, stride: 2, rng });
  const s = withTrace(() => sep.forward(x));
  assert.deepEqual(
    s.layers.map((l) => l.name),
    ['dw', 'pw'],
  );
  assert.equal(
    s.layers.reduce((a, l) => a + l.macs, 0),
    16 * 9 * 4 + 16 * 4 * 8,
  );
  s.result.dispose();
  x.dispose();
});
