/** EfficientDet BiFPN: fast normalised fusion, layer wiring, neck shapes, scaling rules, training. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { BiFpnLayer, BiFpnNeck, bifpnScaling, FastNormalizedFusion } from '../../src/models/necks/bifpn.js';
import { withTrace } from '../../src/nn/module.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const IN_CHANNELS = [12, 20, 28];
const IN_STRIDES = [8, 16, 32];

function features(rng: Rng, batch: number, size: number): tf.Tensor4D[] {
  return IN_STRIDES.map((s, i) => {
    const h = size / s;
    return tf.tensor4d(rng.normalArray(batch * h * h * IN_CHANNELS[i]!), [batch, h, h, IN_CHANNELS[i]!]);
  });
}

function makeNeck(levels: 3 | 5, seed = 1, width = 16, repeats = 2): BiFpnNeck {
  return new BiFpnNeck({ inChannels: IN_CHANNELS, inStrides: IN_STRIDES, width, repeats, levels, ctx: { rng: new Rng(seed), act: 'silu' } });
}

for (const levels of [3, 5] as const) {
  for (const size of [64, 128]) {
    if (levels === 5 && size === 64) continue;
    test(`BiFpnNeck ${levels} levels at ${size}x${size}: output shapes, channels and strides`, () => {
      const neck = makeNeck(levels);
      const strides = levels === 3 ? [8, 16, 32] : [8, 16, 32, 64, 128];
      assert.deepEqual(neck.outStrides, strides);
      assert.deepEqual(
        neck.outChannels,
        strides.map(() => 16),
      );
      const feats = features(new Rng(2), 2, size);
      const live = tf.memory().numTensors;
      const shapes = tf.tidy(() => neck.forward(feats).map((t) => t.shape));
      assert.equal(tf.memory().numTensors, live, 'forward leaks no tensors');
      assert.deepEqual(
        shapes,
        strides.map((s) => [2, size / s, size / s, 16]),
      );
      // Eval mode (running statistics) gives the same shapes.
      neck.eval();
      const evalShapes = tf.tidy(() => neck.forward(feats).map((t) => t.shape));
      assert.deepEqual(evalShapes, shapes);
      feats.forEach((f) => {
        f.dispose();
      });
      neck.dispose();
    });
  }
}

test('BiFpnNeck with 5 levels rejects a 64x64 input (not divisible by stride 128)', () => {
  const neck = makeNeck(5);
  const feats = features(new Rng(3), 2, 64);
  assert.throws(() => tf.tidy(() => neck.forward(feats)), /64x64 is not divisible by the largest stride 128/);
  // 3 levels only need multiples of 32; 96 is fine there but not with 5 levels.
  const neck3 = makeNeck(3);
  const f96 = features(new Rng(3), 1, 96);
  assert.doesNotThrow(() => tf.tidy(() => neck3.forward(f96)));
  assert.throws(() => tf.tidy(() => neck.forward(f96)), /stride 128/);
  [...feats, ...f96].forEach((f) => {
    f.dispose();
  });
  neck.dispose();
  neck3.dispose();
});

test('FastNormalizedFusion: parameter count, group, initial weights', () => {
  for (const n of [2, 3, 5]) {
    const f = new FastNormalizedFusion(n);
    assert.equal(f.numParams(), n);
    assert.deepEqual(
      f.parameters().map((p) => p.group),
      ['bias'],
    );
    const nw = f.normalizedWeights();
    assert.equal(nw.length, n);
    for (const v of nw) assert.ok(Math.abs(v - 1 / (n + 1e-4)) < 1e-9);
    f.dispose();
  }
  assert.throws(() => new FastNormalizedFusion(0), /positive integer/);
});

test('FastNormalizedFusion output equals the hand-computed weighted sum; negative weights contribute 0', () => {
  const f = new FastNormalizedFusion(3, { eps: 1e-4 });
  const a = [1, -2, 3, 0.5, 4, -1, 2, 0];
  const b = [0.25, 1, -3, 2, 1, 1, -0.5, 5];
  const c = [-1, 0, 2, 2, -4, 3, 1, 1];
  const inputs = [a, b, c].map((v) => tf.tensor4d(v, [1, 2, 2, 2]));
  const check = (w: number[]): void => {
    f.weight.assign(tf.tensor1d(w));
    const r = w.map((x) => Math.max(x, 0));
    const s = 1e-4 + r.reduce((p, q) => p + q, 0);
    const expected = a.map((_, k) => (r[0]! * a[k]! + r[1]! * b[k]! + r[2]! * c[k]!) / s);
    const got = tf.tidy(() => Array.from(f.forward(inputs).dataSync()));
    for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(got[k]! - expected[k]!) < 1e-5, `w=${w} element ${k}: ${got[k]} vs ${expected[k]}`);
    const nw = f.normalizedWeights();
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(nw[i]! - r[i]! / s) < 1e-7);
  };
  check([1, 1, 1]);
  check([0.5, 2, 0.1]);
  // A negative weight contributes exactly 0: the output is the other two inputs' blend.
  check([-0.7, 1.5, 0.5]);
  f.weight.assign(tf.tensor1d([-0.7, 1.5, 0.5]));
  assert.equal(f.normalizedWeights()[0], 0);
  const without = tf.tidy(() => {
    const g = new FastNormalizedFusion(3);
    g.weight.assign(tf.tensor1d([0, 1.5, 0.5]));
    const d = tf.max(tf.abs(tf.sub(f.forward(inputs), g.forward(inputs)))).dataSync()[0]!;
    g.dispose();
    return d;
  });
  assert.equal(without, 0);
  // Mismatched shapes and counts are rejected.
  assert.throws(() => f.forward(inputs.slice(0, 2)), /expected 3 inputs/);
  assert.throws(() => f.forward([inputs[0]!, inputs[1]!, tf.zeros([1, 2, 2, 3]) as tf.Tensor4D]), /input 2 has shape/);
  inputs.forEach((t) => {
    t.dispose();
  });
  f.dispose();
});

test('FastNormalizedFusion weights stay normalised under Adam, even when a weight goes negative', () => {
  const n = 3;
  const f = new FastNormalizedFusion(n);
  // Constant inputs −1, +1, +2: maximising the mean output pushes weight 0 down (below 0)
  // and weight 2 up.
  const inputs = [-1, 1, 2].map((v) => tf.fill([2, 4, 4, 3], v) as tf.Tensor4D);
  const opt = tf.train.adam(0.1);
  for (let step = 0; step < 25; step++) {
    opt.minimize(() => tf.neg(tf.mean(f.forward(inputs))) as tf.Scalar, false, [f.weight]);
    const nw = f.normalizedWeights();
    for (const v of nw) assert.ok(v >= 0, `step ${step}: normalised weight ${v} < 0`);
    const sum = nw.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) <= 1e-4 * n, `step ${step}: normalised weights sum to ${sum}`);
  }
  const w = Array.from(f.weight.dataSync());
  assert.ok(w[0]! < 0, `weight 0 was driven below zero: ${w}`);
  assert.ok(w[2]! > 1, `weight 2 grew: ${w}`);
  const nw = f.normalizedWeights();
  assert.equal(nw[0], 0);
  // The output is exactly the blend of inputs 1 and 2.
  const out = tf.tidy(() => f.forward(inputs).dataSync()[0]!);
  assert.ok(Math.abs(out - (nw[1]! * 1 + nw[2]! * 2)) < 1e-5);
  // With a relu, the negative weight gets no gradient and stays put.
  const before0 = w[0]!;
  opt.minimize(() => tf.neg(tf.mean(f.forward(inputs))) as tf.Scalar, false, [f.weight]);
  const grads = tf.variableGrads(() => tf.neg(tf.mean(f.forward(inputs))) as tf.Scalar, [f.weight]);
  assert.equal(grads.grads[f.weight.name]!.dataSync()[0], 0);
  tf.dispose([grads.value, ...Object.values(grads.grads)]);
  assert.ok(f.weight.dataSync()[0]! <= before0 + 1e-6);
  inputs.forEach((t) => {
    t.dispose();
  });
  opt.dispose();
  f.dispose();
});

test('bifpnScaling follows the EfficientDet compound-scaling rules', () => {
  assert.deepEqual(bifpnScaling(0), { width: 64, repeats: 3, headDepth: 3 });
  assert.deepEqual(bifpnScaling(1), { width: 88, repeats: 4, headDepth: 3 });
  assert.deepEqual(bifpnScaling(2), { width: 120, repeats: 5, headDepth: 3 });
  assert.deepEqual(bifpnScaling(3), { width: 160, repeats: 6, headDepth: 4 });
  for (let phi = 0; phi < 8; phi++) assert.equal(bifpnScaling(phi).width % 8, 0);
  assert.throws(() => bifpnScaling(-1), /non-negative integer/);
  assert.throws(() => bifpnScaling(1.5), /non-negative integer/);
});

test('BiFpnLayer wiring: node inputs per level and parameter layout', () => {
  const layer = new BiFpnLayer(8, [3, 4, 5, 6, 7], { act: 'silu', rng: new Rng(5) });
  const names = layer.childModules().map(([n]) => n);
  assert.deepEqual(names, ['p6_td', 'p5_td', 'p4_td', 'p3_td', 'p4_out', 'p5_out', 'p6_out', 'p7_out']);
  const fusionInputs = Object.fromEntries(layer.childModules().map(([n, m]) => [n, (m.childModules()[0]![1] as FastNormalizedFusion).numInputs]));
  assert.deepEqual(fusionInputs, { p6_td: 2, p5_td: 2, p4_td: 2, p3_td: 2, p4_out: 3, p5_out: 3, p6_out: 3, p7_out: 2 });
  // Per node: fusion weights + dw 3x3 (9·w) + 2 BN (2·w each) + pw 1x1 (w·w).
  const w = 8;
  const perNodeConv = 9 * w + 2 * w + w * w + 2 * w;
  assert.equal(layer.numParams(), 8 * perNodeConv + (4 * 2 + 3 * 3 + 2));
  layer.dispose();
});

test('withTrace records the separable convs and the fusions with their paths', () => {
  const neck = makeNeck(3, 7, 16, 1);
  const feats = features(new Rng(8), 1, 64);
  const { layers } = withTrace(() => tf.tidy(() => void neck.forward(feats)));
  const byName = new Map(layers.map((l) => [l.name, l]));
  const get = (name: string) => {
    const l = byName.get(name);
    assert.ok(l, `no trace record for '${name}' (have ${[...byName.keys()].join(', ')})`);
    return l;
  };
  for (const lvl of [3, 4, 5]) assert.equal(get(`lateral.p${lvl}`).type, 'Conv');
  for (const node of ['p4_td', 'p3_td', 'p4_out', 'p5_out']) {
    const fuse = get(`layers.0.${node}.fuse`);
    assert.equal(fuse.type, 'FastNormalizedFusion', node);
    const n = node === 'p4_out' ? 3 : 2;
    assert.equal(fuse.params, n);
    const size = fuse.outputShape.reduce((a, b) => a * b, 1);
    assert.equal(fuse.macs, n * size);
    const dw = get(`layers.0.${node}.conv.dw`);
    const pw = get(`layers.0.${node}.conv.pw`);
    assert.equal(dw.type, 'DWConv', node);
    assert.equal(pw.type, 'Conv', node);
    assert.deepEqual(pw.outputShape, fuse.outputShape);
  }
  assert.deepEqual(get('layers.0.p3_td.conv.pw').outputShape, [1, 8, 8, 16]);
  assert.deepEqual(get('layers.0.p5_out.conv.pw').outputShape, [1, 2, 2, 16]);
  // Records come in execution order: top-down nodes before bottom-up nodes.
  const order = layers.map((l) => l.name);
  assert.ok(order.indexOf('layers.0.p3_td.fuse') < order.indexOf('layers.0.p4_out.fuse'));
  assert.equal(layers.filter((l) => l.type === 'FastNormalizedFusion').length, 4);
  feats.forEach((f) => {
    f.dispose();
  });
  neck.dispose();
});

test('BiFpnNeck trains: the loss falls over 5 Adam steps', () => {
  const neck = makeNeck(5, 9, 16, 2);
  const rng = new Rng(10);
  const feats = features(rng, 2, 128);
  const targets = neck.outStrides.map((s) => {
    const h = 128 / s;
    return tf.tensor4d(rng.normalArray(2 * h * h * 16, 0.5), [2, h, h, 16]);
  });
  const varList = neck
    .parameters()
    .filter((p) => p.group !== 'buffer')
    .map((p) => p.variable);
  const lossFn = (): tf.Scalar =>
    tf.tidy(() => {
      const outs = neck.forward(feats);
      return tf.addN(outs.map((o, i) => tf.mean(tf.square(tf.sub(o, targets[i]!))))).div(outs.length) as tf.Scalar;
    });
  const opt = tf.train.adam(1e-2);
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const loss = opt.minimize(lossFn, true, varList)!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    assert.ok(Number.isFinite(losses[step]!), `loss finite at step ${step}`);
  }
  assert.ok(losses[4]! < losses[0]!, `loss fell: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
  // Fusion weights moved away from their initial value of 1.
  const fw = neck.parameters().filter((p) => p.name.endsWith('.fuse.weight'));
  assert.ok(fw.length > 0);
  assert.ok(fw.some((p) => Array.from(p.variable.dataSync()).some((v) => Math.abs(v - 1) > 1e-3)));
  [...feats, ...targets].forEach((t) => {
    t.dispose();
  });
  opt.dispose();
  neck.dispose();
});
