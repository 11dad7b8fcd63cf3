/**
 * Unit tests of the training machinery: the learning-rate/momentum schedule
 * (warm-up, cosine and linear decay), the choice of optimiser, the parameter
 * groups of the optimiser (weight decay only on conv weights, a learning rate
 * per group), gradient-norm clipping and the EMA of the weights.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Conv2d, ConvBnAct } from '../../src/nn/conv.js';
import { ImplicitAdd } from '../../src/nn/implicit.js';
import { Module } from '../../src/nn/module.js';
import { ModelEma } from '../../src/train/ema.js';
import { clipGradNorm, GroupedOptimizer, type GroupName } from '../../src/train/optimizer.js';
import { epochFactor, scheduleAt } from '../../src/train/schedule.js';
import { chooseOptimizer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

/** One parameter of every group: conv weight, conv bias, BN scale/shift, an implicit vector. */
class Tiny extends Module {
  readonly a: ConvBnAct;
  readonly b: Conv2d;
  readonly z: ImplicitAdd;
  constructor() {
    super();
    const rng = new Rng(1);
    this.a = this.addModule('a', new ConvBnAct(2, 3, { k: 1, rng }));
    this.b = this.addModule('b', new Conv2d(3, 2, { k: 1, rng }));
    this.z = this.addModule('z', new ImplicitAdd(3, { rng }));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.b.forward(this.z.forward(this.a.forward(x)));
  }
}

const values = (m: Module): Map<string, Float32Array> => new Map(m.parameters().map((p) => [p.name, p.variable.dataSync().slice() as Float32Array]));

describe('schedule', () => {
  const o = { lr0: 0.01, lrf: 0.01, epochs: 10, kind: 'cosine' as const, warmupSteps: 20, warmupBiasLr: 0.1, warmupMomentum: 0.8, momentum: 0.937 };

  it('cosine decays from 1 to lrf, monotonically; linear likewise', () => {
    for (const kind of ['cosine', 'linear'] as const) {
      const f = Array.from({ length: 10 }, (_, e) => epochFactor(e, { ...o, kind }));
      assert.equal(f[0], 1);
      assert.ok(Math.abs(f[9]! - o.lrf) < 1e-12, `${kind}: last factor ${f[9]}`);
      for (let e = 1; e < 10; e++) assert.ok(f[e]! < f[e - 1]!, `${kind}: not decreasing at ${e}`);
    }
    assert.ok(Math.abs(epochFactor(4.5, o) - (1 + o.lrf) / 2) < 1e-12, 'cosine midpoint');
  });

  it('warm-up ramps weights from 0 and biases down from warmupBiasLr; momentum from warmupMomentum', () => {
    const s0 = scheduleAt(0, 0, o);
    assert.equal(s0.lr.weight, 0);
    assert.equal(s0.lr.bias, 0.1);
    assert.equal(s0.momentum, 0.8);
    const half = scheduleAt(10, 0, o);
    assert.ok(Math.abs(half.lr.weight - 0.005) < 1e-12);
    assert.ok(Math.abs(half.lr.bias - 0.055) < 1e-12);
    assert.ok(Math.abs(half.momentum - (0.8 + 0.937) / 2) < 1e-12);
    const after = scheduleAt(20, 3, o);
    for (const g of ['weight', 'bias', 'bn', 'implicit'] as GroupName[]) assert.equal(after.lr[g], 0.01 * epochFactor(3, o));
    assert.equal(after.momentum, 0.937);
  });

  it('auto picks AdamW (lr 0.002·5/(4+nc), β₁ 0.9) for short runs and SGD for long ones; an explicit lr0 wins', () => {
    assert.deepEqual(chooseOptimizer('auto', { steps: 500, nc: 6 }), { name: 'adamw', lr0: 0.001, momentum: 0.9 });
    assert.deepEqual(chooseOptimizer('auto', { steps: 500, nc: 3 }), { name: 'adamw', lr0: 0.001429, momentum: 0.9 });
    assert.deepEqual(chooseOptimizer('auto', { steps: 20_000, nc: 80 }), { name: 'sgd', lr0: 0.01, momentum: 0.937 });
    assert.equal(chooseOptimizer('auto', { steps: 5, nc: 6, lr0: 0.02 }).lr0, 0.02);
    assert.deepEqual(chooseOptimizer('adamw', { steps: 5, nc: 6 }), { name: 'adamw', lr0: 0.001, momentum: 0.937 });
    assert.deepEqual(chooseOptimizer('sgd', { steps: 5, nc: 6 }), { name: 'sgd', lr0: 0.01, momentum: 0.937 });
  });
});

describe('GroupedOptimizer', () => {
  const groupOf = (m: Module): Map<string, string> => new Map(m.parameters().map((p) => [p.name, p.group]));

  for (const name of ['sgd', 'adamw'] as const) {
    it(`${name}: weight decay shrinks only conv weights; zero-gradient biases, BN and implicit tensors stay`, () => {
      const m = new Tiny();
      const before = values(m);
      const opt = new GroupedOptimizer(m, { name, lr: 0.1, momentum: 0.9, weightDecay: 0.05 });
      const zero: Record<string, tf.Tensor> = {};
      for (const v of opt.variables) zero[v.name] = tf.zerosLike(v);
      opt.apply(zero);
      tf.dispose(Object.values(zero));
      const after = values(m);
      const groups = groupOf(m);
      const seen = new Set<string>();
      for (const [k, v0] of before) {
        const g = groups.get(k)!;
        seen.add(g);
        const v1 = after.get(k)!;
        if (g === 'weight') {
          // SGD: w − lr·(λw + μ·λw) ; AdamW: w − lr·λw (the Adam part of a zero gradient is 0).
          const factor = name === 'sgd' ? 1 - 0.1 * 0.05 * (1 + 0.9) : 1 - 0.1 * 0.05;
          v0.forEach((x, i) => {
            assert.ok(Math.abs(v1[i]! - x * factor) < 1e-6, `${k}[${i}]`);
          });
        } else {
          assert.deepEqual(v1, v0, `${k} (${g}) changed`);
        }
      }
      assert.deepEqual([...seen].sort(), ['bias', 'bn', 'buffer', 'implicit', 'weight']);
      opt.dispose();
      m.dispose();
    });
  }

  it('each group has its own learning rate', () => {
    const m = new Tiny();
    const before = values(m);
    const opt = new GroupedOptimizer(m, { name: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0 });
    Object.assign(opt.lr, { weight: 0, bias: 0.5, bn: 0, implicit: 0 });
    const ones: Record<string, tf.Tensor> = {};
    for (const v of opt.variables) ones[v.name] = tf.onesLike(v);
    opt.apply(ones);
    tf.dispose(Object.values(ones));
    const after = values(m);
    const groups = groupOf(m);
    for (const [k, v0] of before) {
      const expected = groups.get(k) === 'bias' ? -0.5 : 0;
      v0.forEach((x, i) => {
        assert.ok(Math.abs(after.get(k)![i]! - x - expected) < 1e-6, `${k}: moved by ${after.get(k)![i]! - x}`);
      });
    }
    opt.dispose();
    m.dispose();
  });

  it('clipGradNorm scales the global norm down to the maximum and leaves small gradients alone', () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) };
    assert.equal(clipGradNorm(g, 10), 5);
    assert.deepEqual(Array.from(g.a.dataSync()), [3, 0]);
    assert.ok(Math.abs(clipGradNorm(g, 1) - 5) < 1e-6);
    const n = Math.hypot(...g.a.dataSync(), ...g.b.dataSync());
    assert.ok(Math.abs(n - 1) < 1e-5, `norm after clipping ${n}`);
    tf.dispose([g.a, g.b]);
  });
});

describe('ModelEma', () => {
  it('decay follows 0.9999·(1 − e^(−updates/2000)) and shadows move towards the weights', () => {
    const m = new Tiny();
    const ema = new ModelEma(m);
    const p = m.parameters().find((q) => q.group === 'weight')!;
    const start = p.variable.dataSync().slice();
    p.variable.assign(tf.add(p.variable, 1));
    ema.update();
    const d = 0.9999 * (1 - Math.exp(-1 / 2000));
    assert.ok(Math.abs(ema.decay() - d) < 1e-15);
    const s = ema.state().get(p.name)!.dataSync();
    start.forEach((x, i) => {
      assert.ok(Math.abs(s[i]! - (d * x + (1 - d) * (x + 1))) < 1e-5);
    });
    // Many updates with constant weights converge to them.
    for (let k = 0; k < 200; k++) ema.update();
    const s2 = ema.state().get(p.name)!.dataSync();
    const w = p.variable.dataSync();
    const gap = Math.max(...Array.from(w, (x, i) => Math.abs(x - s2[i]!)));
    assert.ok(gap < 1e-3 && gap >= 0, `gap ${gap}`);
    // copyTo writes the averages into another model; loadState restores them exactly.
    const other = new Tiny();
    ema.copyTo(other);
    assert.deepEqual(
      other
        .parameters()
        .find((q) => q.name === p.name)!
        .variable.dataSync(),
      s2,
    );
    const ema2 = new ModelEma(other);
    ema2.loadState(ema.state(), ema.updates);
    assert.equal(ema2.updates, 201);
    assert.deepEqual(ema2.state().get(p.name)!.dataSync(), s2);
    [ema, ema2].forEach((e) => {
      e.dispose();
    });
    m.dispose();
    other.dispose();
  });
});
