/**
 * Reparameterisation rules (fuse.ts) against the unfused computation on random
 * data: batch norm, implicit add / mul / concat before a conv, mul / add after a
 * conv; refusals where the fold would change border outputs or z is per position.
 * References use tf.conv2d / tf.depthwiseConv2d with explicit padding.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { relativeMaxError } from '../../src/engine/check.js';
import { BN_EPS, ConvBnAct, DepthwiseConvBnAct } from '../../src/nn/conv.js';
import {
  FoldRefused,
  foldAddAfterConv,
  foldAddBeforeConv,
  foldBatchNorm,
  foldConcatBeforeConv,
  foldMulAfterConv,
  foldMulBeforeConv,
  newFuseReport,
  readsPadding,
} from '../../src/nn/fuse.js';
import { ImplicitAdd, ImplicitConcat } from '../../src/nn/implicit.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/util/rng.js';

type Pads = [[0, 0], [number, number], [number, number], [0, 0]];
const pads = (p: number): Pads => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

function rand(rng: Rng, shape: number[], scale = 1, offset = 0): tf.Tensor {
  return tf.tensor(
    Float32Array.from(
      rng.normalArray(
        shape.reduce((a, b) => a * b, 1),
        scale,
      ),
      (v) => v + offset,
    ),
    shape,
  );
}

function uniform(rng: Rng, shape: number[], lo: number, hi: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.next();
  return tf.tensor(v, shape);
}

function conv(x: tf.Tensor, w: tf.Tensor, pad: number, depthwise = false, stride = 1): tf.Tensor4D {
  return depthwise
    ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pads(pad))
    : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pads(pad));
}

/** Relative max error of `got` against `want` (both disposed by the caller). */
function rel(got: tf.Tensor, want: tf.Tensor): number {
  assert.deepEqual(got.shape, want.shape);
  return relativeMaxError(got.dataSync() as Float32Array, want.dataSync() as Float32Array);
}

function assertClose(got: tf.Tensor, want: tf.Tensor, what: string, tol = 1e-5): void {
  const e = rel(got, want);
  assert.ok(e <= tol, `${what}: relative error ${e} > ${tol}`);
}

/** Random non-trivial batch-norm state: γ, β, running mean and variance. */
function randomizeBn(m: ConvBnAct | DepthwiseConvBnAct, rng: Rng): void {
  const bn = m.bn!;
  const c = bn.gamma.shape[0]!;
  tf.tidy(() => {
    bn.gamma.assign(uniform(rng, [c], 0.5, 2));
    bn.beta.assign(rand(rng, [c], 0.5));
    bn.runningMean.assign(rand(rng, [c], 0.3));
    bn.runningVar.assign(uniform(rng, [c], 0.2, 3));
  });
}

before(async () => {
  await initBackend('wasm');
});

test('readsPadding: only k > 1 with padding', () => {
  assert.equal(readsPadding(1, 0), false);
  assert.equal(readsPadding(3, 0), false);
  assert.equal(readsPadding(3, 1), true);
  assert.equal(readsPadding(5, 2), true);
});

test('foldBatchNorm: ConvBnAct in eval mode equals the conv with folded weight and bias', () => {
  for (const [k, stride] of [
    [1, 1],
    [3, 1],
    [3, 2],
  ] as const) {
    const rng = new Rng(1 + k + stride);
    const m = new ConvBnAct(4, 6, { k, stride, act: 'linear', rng });
    randomizeBn(m, rng);
    m.eval();
    const x = rand(rng, [2, 6, 7, 4]) as tf.Tensor4D;
    tf.tidy(() => {
      const want = m.forward(x);
      const bn = m.bn!;
      const f = foldBatchNorm(m.weight as tf.Tensor4D, null, {
        gamma: bn.gamma,
        beta: bn.beta,
        mean: bn.runningMean,
        variance: bn.runningVar,
        eps: BN_EPS,
      });
      assert.deepEqual(f.weight.shape, [k, k, 4, 6]);
      assert.deepEqual(f.bias.shape, [6]);
      const got = tf.add(conv(x, f.weight, Math.floor(k / 2), false, stride), f.bias);
      assertClose(got, want, `k=${k} stride=${stride}`);
      // The BN really does something here.
      assert.ok(rel(conv(x, m.weight, Math.floor(k / 2), false, stride), want) > 0.1);
    });
    x.dispose();
    m.dispose();
  }
});

test('foldBatchNorm with an existing conv bias', () => {
  const rng = new Rng(10);
  const x = rand(rng, [2, 5, 5, 3]);
  const w = rand(rng, [3, 3, 3, 5], 0.3) as tf.Tensor4D;
  const b = rand(rng, [5], 0.5) as tf.Tensor1D;
  const bn = {
    gamma: uniform(rng, [5], 0.5, 2),
    beta: rand(rng, [5], 0.5),
    mean: rand(rng, [5], 0.3),
    variance: uniform(rng, [5], 0.2, 3),
    eps: 1e-3,
  };
  tf.tidy(() => {
    const y = tf.add(conv(x, w, 1), b);
    const want = tf.batchNorm(y, bn.mean, bn.variance, bn.beta, bn.gamma, bn.eps);
    const f = foldBatchNorm(w, b, bn);
    assertClose(tf.add(conv(x, f.weight, 1), f.bias), want, 'conv + bias → BN');
  });
  tf.dispose([x, w, b, bn.gamma, bn.beta, bn.mean, bn.variance]);
});

test('foldBatchNorm: DepthwiseConvBnAct (depthwise = true)', () => {
  for (const k of [3, 5]) {
    const rng = new Rng(20 + k);
    const m = new DepthwiseConvBnAct(6, { k, act: 'linear', rng });
    randomizeBn(m, rng);
    m.eval();
    const x = rand(rng, [2, 7, 6, 6]) as tf.Tensor4D;
    tf.tidy(() => {
      const want = m.forward(x);
      const bn = m.bn!;
      const f = foldBatchNorm(
        m.weight as tf.Tensor4D,
        null,
        {
          gamma: bn.gamma,
          beta: bn.beta,
          mean: bn.runningMean,
          variance: bn.runningVar,
          eps: BN_EPS,
        },
        true,
      );
      assert.deepEqual(f.weight.shape, [k, k, 6, 1]);
      assert.deepEqual(f.bias.shape, [6]);
      assertClose(tf.add(conv(x, f.weight, Math.floor(k / 2), true), f.bias), want, `depthwise k=${k}`);
    });
    x.dispose();
    m.dispose();
  }
});

class Net extends Module {
  readonly stem: ConvBnAct;
  readonly dw: DepthwiseConvBnAct;
  constructor(rng: Rng) {
    super();
    this.stem = this.addModule('stem', new ConvBnAct(3, 6, { k: 3, act: 'silu', rng }));
    this.dw = this.addModule('dw', new DepthwiseConvBnAct(6, { k: 3, act: 'leaky', rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.dw.forward(this.stem.forward(x));
  }
}

test('fuseInPlace folds BN into ConvBnAct and DepthwiseConvBnAct: same outputs, bn removed, reported', () => {
  const rng = new Rng(30);
  const net = new Net(rng);
  randomizeBn(net.stem, rng);
  randomizeBn(net.dw, rng);
  net.eval();
  const x = rand(rng, [2, 8, 9, 3]) as tf.Tensor4D;
  const before = net.forward(x);
  const paramsBefore = net.numParams();
  const report = newFuseReport();
  net.fuseInPlace(report);
  const after = net.forward(x);
  assertClose(after, before, 'net output');
  for (const [name, m, cout] of [
    ['stem', net.stem, 6],
    ['dw', net.dw, 6],
  ] as const) {
    assert.equal(m.bn, null, `${name}.bn removed`);
    assert.ok(m.bias, `${name} has a conv bias`);
    assert.deepEqual(m.bias.shape, [cout]);
    assert.ok(!m.childModules().some(([n]) => n === 'bn'), `${name}: no bn child`);
    assert.ok(
      report.folded.some((line) => line.includes(name) && line.includes('bn') && line.includes(`${name}.conv`)),
      `${name} in ${report.folded.join(' | ')}`,
    );
  }
  assert.equal(report.folded.length, 2);
  const names = net.parameters().map((p) => p.name);
  assert.ok(!names.some((n) => n.includes('.bn.')), names.join(', '));
  for (const n of ['stem.conv.weight', 'stem.conv.bias', 'dw.conv.weight', 'dw.conv.bias'])
    assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  // Each layer had γ, β (2·C) and now has a bias (C).
  assert.equal(net.numParams(), paramsBefore - 6 - 6);
  // Folding again is a no-op.
  net.fuseInPlace(report);
  assert.equal(report.folded.length, 2);
  const again = net.forward(x);
  assertClose(again, before, 'after a second fuseInPlace');
  // Once folded, other constants may be folded in with setConv.
  tf.dispose([x, before, after, again]);
  net.dispose();
});

test('foldAddBeforeConv: exact for 1x1 and for 3x3 without padding', () => {
  const rng = new Rng(40);
  const x = rand(rng, [2, 6, 7, 4]);
  const z = rand(rng, [4], 0.5) as tf.Tensor1D;
  for (const k of [1, 3]) {
    const w = rand(rng, [k, k, 4, 5], 0.3) as tf.Tensor4D;
    const b = rand(rng, [5], 0.3) as tf.Tensor1D;
    tf.tidy(() => {
      const want = tf.add(conv(tf.add(x, z), w, 0), b);
      const b2 = foldAddBeforeConv(w, b, z, { k, pad: 0 });
      assert.deepEqual(b2.shape, [5]);
      assertClose(tf.add(conv(x, w, 0), b2), want, `k=${k} pad=0`);
    });
    tf.dispose([w, b]);
  }
  tf.dispose([x, z]);
});

test('foldAddBeforeConv: exact for depthwise convs with channel multiplier 1, 2 and 3 (1x1 and unpadded 3x3)', () => {
  const rng = new Rng(42);
  const C = 4;
  const x = rand(rng, [2, 6, 7, C]);
  const z = rand(rng, [C], 0.5) as tf.Tensor1D;
  for (const m of [1, 2, 3]) {
    for (const k of [1, 3]) {
      const w = rand(rng, [k, k, C, m], 0.3) as tf.Tensor4D;
      const b = rand(rng, [C * m], 0.3) as tf.Tensor1D;
      tf.tidy(() => {
        const want = tf.add(conv(tf.add(x, z), w, 0, true), b);
        const b2 = foldAddBeforeConv(w, b, z, { k, pad: 0, depthwise: true });
        assert.deepEqual(b2.shape, [C * m]);
        assertClose(tf.add(conv(x, w, 0, true), b2), want, `depthwise m=${m} k=${k}`);
      });
      tf.dispose([w, b]);
    }
  }
  tf.dispose([x, z]);
});

test('foldAddBeforeConv: refused for a padded 3x3 conv, because border outputs would differ', () => {
  const rng = new Rng(41);
  const [H, W, cin, cout] = [6, 7, 4, 5];
  const x = rand(rng, [2, H, W, cin]);
  const zv = rng.normalArray(cin, 0.5);
  const z = tf.tensor1d(zv);
  const wv = rng.normalArray(9 * cin * cout, 0.3);
  const w = tf.tensor4d(wv, [3, 3, cin, cout]);
  const b = rand(rng, [cout], 0.3) as tf.Tensor1D;
  const before = tf.memory().numTensors;
  assert.throws(
    () => foldAddBeforeConv(w, b, z, { k: 3, pad: 1 }),
    (err: unknown) => {
      assert.ok(err instanceof FoldRefused, String(err));
      assert.ok(err instanceof Error);
      assert.match(err.message, /pad/);
      return true;
    },
  );
  assert.throws(() => foldAddBeforeConv(w, b, z, { k: 3, pad: 1, depthwise: false }), FoldRefused);
  assert.equal(tf.memory().numTensors, before, 'a refused fold allocates nothing');

  // Why: the bias that would be folded (what pad 0 computes) is right in the interior only.
  tf.tidy(() => {
    const want = tf.add(conv(tf.add(x, z), w, 1), b); // unfused: padding is 0, not z
    const b2 = foldAddBeforeConv(w, b, z, { k: 3, pad: 0 });
    const got = tf.add(conv(x, w, 1), b2);
    const interior = (t: tf.Tensor) => tf.slice(t, [0, 1, 1, 0], [2, H - 2, W - 2, cout]);
    assertClose(interior(got), interior(want), 'interior');
    const diff = tf.sub(got, want).arraySync() as number[][][][];
    // At each border output the difference is exactly the contribution z would make through
    // the taps that read padding: Σ_{taps outside} Σ_ci W[i, j, ci, co]·z_ci.
    const scale = tf.max(tf.abs(want)).dataSync()[0]!;
    let maxBorder = 0;
    for (let oy = 0; oy < H; oy++) {
      for (let ox = 0; ox < W; ox++) {
        const border = oy === 0 || ox === 0 || oy === H - 1 || ox === W - 1;
        for (let co = 0; co < cout; co++) {
          let expected = 0;
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              const iy = oy + i - 1;
              const ix = ox + j - 1;
              if (iy >= 0 && iy < H && ix >= 0 && ix < W) continue;
              for (let ci = 0; ci < cin; ci++) expected += wv[((i * 3 + j) * cin + ci) * cout + co]! * zv[ci]!;
            }
          }
          if (!border) assert.equal(expected, 0);
          for (let n = 0; n < 2; n++) {
            const d = diff[n]![oy]![ox]![co]!;
            assert.ok(Math.abs(d - expected) <= 1e-5 * scale, `(${oy}, ${ox}, ${co}): ${d} vs ${expected}`);
            if (border) maxBorder = Math.max(maxBorder, Math.abs(d));
          }
        }
      }
    }
    assert.ok(maxBorder > 1e-2 * scale, `the border really differs (${maxBorder} vs scale ${scale})`);
  });
  tf.dispose([x, z, w, b]);
});

test('foldAddBeforeConv: depthwise 1x1 and 3x3 without padding exact, padded 3x3 refused', () => {
  const rng = new Rng(42);
  const C = 5;
  const x = rand(rng, [2, 6, 5, C]);
  const z = rand(rng, [C], 0.5) as tf.Tensor1D;
  for (const k of [1, 3]) {
    const w = rand(rng, [k, k, C, 1], 0.3) as tf.Tensor4D;
    const b = rand(rng, [C], 0.3) as tf.Tensor1D;
    tf.tidy(() => {
      const want = tf.add(conv(tf.add(x, z), w, 0, true), b);
      const b2 = foldAddBeforeConv(w, b, z, { k, pad: 0, depthwise: true });
      assert.deepEqual(b2.shape, [C]);
      assertClose(tf.add(conv(x, w, 0, true), b2), want, `depthwise k=${k}`);
    });
    if (k === 3) assert.throws(() => foldAddBeforeConv(w, b, z, { k, pad: 1, depthwise: true }), FoldRefused);
    tf.dispose([w, b]);
  }
  tf.dispose([x, z]);
});

test('foldMulBeforeConv: exact with zero padding, for a 3x3 conv and a depthwise 3x3', () => {
  const rng = new Rng(50);
  const x = rand(rng, [2, 6, 7, 4]);
  const z = rand(rng, [4], 0.5, 1) as tf.Tensor1D;
  const w = rand(rng, [3, 3, 4, 5], 0.3) as tf.Tensor4D;
  const wd = rand(rng, [3, 3, 4, 1], 0.3) as tf.Tensor4D;
  tf.tidy(() => {
    const w2 = foldMulBeforeConv(w, z);
    assert.deepEqual(w2.shape, [3, 3, 4, 5]);
    assertClose(conv(x, w2, 1), conv(tf.mul(x, z), w, 1), 'conv 3x3 pad 1');
    const wd2 = foldMulBeforeConv(wd, z);
    assert.deepEqual(wd2.shape, [3, 3, 4, 1]);
    assertClose(conv(x, wd2, 1, true), conv(tf.mul(x, z), wd, 1, true), 'depthwise 3x3 pad 1');
    // 1x1 and 5x5 with pad 2 too.
    const w1 = rand(rng, [1, 1, 4, 3]);
    assertClose(conv(x, foldMulBeforeConv(w1 as tf.Tensor4D, z), 0), conv(tf.mul(x, z), w1, 0), 'conv 1x1');
    const w5 = rand(rng, [5, 5, 4, 3], 0.2);
    assertClose(conv(x, foldMulBeforeConv(w5 as tf.Tensor4D, z), 2), conv(tf.mul(x, z), w5, 2), 'conv 5x5 pad 2');
  });
  tf.dispose([x, z, w, wd]);
});

test('foldConcatBeforeConv: 1x1 conv over concat(x, z) becomes a conv over x; refused for a padded 3x3', () => {
  const rng = new Rng(60);
  const [cin, extra, cout] = [4, 3, 5];
  const layer = new ImplicitConcat(extra, { sigma: 0.5, rng });
  const x = rand(rng, [2, 6, 7, cin]) as tf.Tensor4D;
  const z = layer.constantValue();
  for (const k of [1, 3]) {
    const w = rand(rng, [k, k, cin + extra, cout], 0.3) as tf.Tensor4D;
    const b = rand(rng, [cout], 0.3) as tf.Tensor1D;
    tf.tidy(() => {
      const want = tf.add(conv(layer.forward(x), w, 0), b);
      const f = foldConcatBeforeConv(w, b, z, cin, { k, pad: 0 });
      assert.deepEqual(f.weight.shape, [k, k, cin, cout]);
      assert.deepEqual(f.bias.shape, [cout]);
      assertClose(tf.add(conv(x, f.weight, 0), f.bias), want, `k=${k} pad=0`);
      // The kept weights are the x part, unchanged.
      assert.equal(rel(f.weight, tf.slice(w, [0, 0, 0, 0], [k, k, cin, cout])), 0);
    });
    if (k === 3) {
      assert.throws(
        () => foldConcatBeforeConv(w, b, z, cin, { k: 3, pad: 1 }),
        (err: unknown) => err instanceof FoldRefused,
      );
    }
    tf.dispose([w, b]);
  }
  tf.dispose([x, z]);
  layer.dispose();
});

test('foldMulAfterConv and foldAddAfterConv: exact', () => {
  const rng = new Rng(70);
  const x = rand(rng, [2, 6, 7, 4]);
  const z = rand(rng, [5], 0.5, 1) as tf.Tensor1D;
  const za = rand(rng, [5], 0.5) as tf.Tensor1D;
  for (const k of [1, 3]) {
    const p = Math.floor(k / 2);
    const w = rand(rng, [k, k, 4, 5], 0.3) as tf.Tensor4D;
    const b = rand(rng, [5], 0.3) as tf.Tensor1D;
    tf.tidy(() => {
      const y = tf.add(conv(x, w, p), b);
      const fm = foldMulAfterConv(w, b, z);
      assert.deepEqual(fm.weight.shape, [k, k, 4, 5]);
      assertClose(tf.add(conv(x, fm.weight, p), fm.bias), tf.mul(y, z), `mul after k=${k}`);
      const ba = foldAddAfterConv(b, za);
      assert.deepEqual(ba.shape, [5]);
      assertClose(tf.add(conv(x, w, p), ba), tf.add(y, za), `add after k=${k}`);
      // Both in sequence (refine: conv → + z_a → · z_m).
      const both = foldMulAfterConv(w, foldAddAfterConv(b, za), z);
      assertClose(tf.add(conv(x, both.weight, p), both.bias), tf.mul(tf.add(y, za), z), `add then mul after k=${k}`);
    });
    tf.dispose([w, b]);
  }
  tf.dispose([x, z, za]);
});

test('a per-position z (rank 2 or 3) is refused by every rule', () => {
  const rng = new Rng(80);
  const [H, W, C] = [4, 5, 3];
  const spatial = new ImplicitAdd(C, { spatial: [H, W], rng });
  const zs = [spatial.constantValue(), rand(rng, [H * W, C]), rand(rng, [1, C])];
  const w1 = rand(rng, [1, 1, C, C]) as tf.Tensor4D;
  const wd = rand(rng, [1, 1, C, 1]) as tf.Tensor4D;
  const wc = rand(rng, [1, 1, 2 * C, C]) as tf.Tensor4D;
  const b = rand(rng, [C]) as tf.Tensor1D;
  const before = tf.memory().numTensors;
  for (const z of zs) {
    const where = `z [${z.shape}]`;
    assert.ok(z.rank >= 2);
    assert.throws(() => foldAddBeforeConv(w1, b, z, { k: 1, pad: 0 }), FoldRefused, `add before ${where}`);
    assert.throws(() => foldAddBeforeConv(wd, b, z, { k: 1, pad: 0, depthwise: true }), FoldRefused, `dw add before ${where}`);
    assert.throws(() => foldMulBeforeConv(w1, z), FoldRefused, `mul before ${where}`);
    assert.throws(() => foldMulBeforeConv(wd, z), FoldRefused, `dw mul before ${where}`);
    assert.throws(() => foldConcatBeforeConv(wc, b, z, C, { k: 1, pad: 0 }), FoldRefused, `concat before ${where}`);
    assert.throws(() => foldMulAfterConv(w1, b, z), FoldRefused, `mul after ${where}`);
    assert.throws(() => foldAddAfterConv(b, z), FoldRefused, `add after ${where}`);
  }
  assert.equal(tf.memory().numTensors, before, 'refusals allocate nothing');
  tf.dispose([...zs, w1, wd, wc, b]);
  spatial.dispose();
});
