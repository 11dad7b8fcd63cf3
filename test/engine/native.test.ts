/**
 * The native kernels (native/: oneDNN convolutions, fused batch norm + activation):
 * `--backend native` passes the selftest, the fused op matches the composite ops on
 * the cpu reference (values and every gradient, for each activation it takes),
 * per-channel sums do not depend on how a batch is sharded, the memory-bound kernels
 * (pooling and resize gradients, channel concat / split, leading-axes sums) equal the
 * plain wasm ones whatever the threads, and bad calls throw.
 * Skipped, with the reason, where the addon is not built (CI builds it).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, kernelsInUse } from '../../src/engine/backend.js';
import { batchNormActTrain, batchNormTrain } from '../../src/engine/fused-ops.js';
import { missingNativeFunctions } from '../../src/engine/native/addon.js';
import { loadNativeAddon, NATIVE_KERNELS, type NativeAct } from '../../src/engine/native/index.js';
import { runSelftest } from '../../src/engine/selftest.js';
import { activate } from '../../src/nn/activation.js';
import { Rng } from '../../src/util/rng.js';

const load = loadNativeAddon();
const skip = load.addon ? false : `native addon unavailable: ${load.reason}`;

after(async () => {
  await initBackend('wasm');
});

test('--backend native passes the selftest and reports its kernels', { skip }, async () => {
  const info = await initBackend('native');
  assert.ok(info.native, 'native info reported');
  assert.match(info.native.library, /^(oneDNN \d|built-in)/);
  const report = await runSelftest({ seed: 11, quick: true });
  const failed = report.results.filter((r) => !r.passed);
  assert.deepEqual(failed, [], JSON.stringify(failed, null, 1));
  const checked = new Set(report.results.map((r) => r.name));
  for (const k of [
    'Conv2D',
    'Conv2DBackpropInput',
    'Conv2DBackpropFilter',
    'DepthwiseConv2dNative',
    'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter',
    'MaxPoolGrad',
    'ResizeNearestNeighborGrad',
    'Concat',
    'SplitV',
    'Slice',
    'Sum',
    'Mean',
  ]) {
    assert.ok(checked.has(k), `${k} is checked`);
  }
  assert.ok(checked.has('batchNorm+silu (native fused op)'));
  const inUse = kernelsInUse();
  for (const k of NATIVE_KERNELS)
    assert.ok(
      inUse.some((u) => u.kernel === k.kernelName && u.engine === 'native'),
      `${k.kernelName} listed`,
    );
});

function fusedAndGrads(
  act: NativeAct,
  x: Float32Array,
  shape: [number, number, number, number],
  g: Float32Array,
  b: Float32Array,
  dy: Float32Array,
  native: boolean,
) {
  return tf.tidy(() => {
    const xs = tf.tensor4d(x, shape);
    const gs = tf.tensor1d(g);
    const bs = tf.tensor1d(b);
    const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor): tf.Tensor => {
      const y = native ? batchNormActTrain(xi as tf.Tensor4D, gi, bi, 1e-3, act) : activate(batchNormTrain(xi as tf.Tensor4D, gi, bi, 1e-3), act);
      return tf.sum(tf.mul(y, tf.tensor4d(dy, shape)));
    };
    const { value, grads } = tf.valueAndGrads(f)([xs, gs, bs]);
    return { value: value.dataSync()[0]!, grads: grads.map((t) => t.dataSync() as Float32Array) };
  });
}

const relErr = (a: Float32Array, b: Float32Array): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
};

test('fused native batch norm + activation equals the composite ops on the cpu reference', { skip }, async () => {
  const rng = new Rng(5);
  const shape: [number, number, number, number] = [3, 7, 5, 19];
  const n = shape.reduce((p, q) => p * q, 1);
  const x = Float32Array.from(rng.normalArray(n), (v) => 2 * v + 0.7);
  const g = Float32Array.from(rng.normalArray(19), (v) => 1 + 0.3 * v);
  const b = Float32Array.from(rng.normalArray(19), (v) => 0.2 * v);
  const dy = Float32Array.from(rng.normalArray(n));
  for (const act of ['silu', 'relu', 'leaky', 'linear'] as const) {
    await initBackend('cpu');
    const ref = fusedAndGrads(act, x, shape, g, b, dy, false);
    await initBackend('native');
    const got = fusedAndGrads(act, x, shape, g, b, dy, true);
    assert.ok(Math.abs(got.value - ref.value) <= 1e-5 * Math.max(1, Math.abs(ref.value)), `${act}: value ${got.value} vs ${ref.value}`);
    for (const [i, name] of ['x', 'gamma', 'beta'].entries()) {
      const e = relErr(got.grads[i]!, ref.grads[i]!);
      assert.ok(e < 1e-4, `${act}: d${name} relative error ${e}`);
    }
  }
});

test('native per-channel sums are the same however the batch is sharded and whatever the thread count', { skip }, () => {
  const addon = load.addon!;
  const rng = new Rng(9);
  const [batch, pixels, c] = [4, 3000, 13];
  const x = Float32Array.from(rng.normalArray(batch * pixels * c));
  const whole = new Float64Array(c);
  addon.channelSums(x, batch, pixels, c, null, whole);
  const sharded = new Float64Array(c);
  for (let i = 0; i < batch; i++) {
    const part = new Float64Array(c);
    addon.channelSums(x.subarray(i * pixels * c, (i + 1) * pixels * c), 1, pixels, c, null, part);
    for (let k = 0; k < c; k++) sharded[k]! += part[k]!;
  }
  addon.setThreads(1);
  const oneThread = new Float64Array(c);
  addon.channelSums(x, batch, pixels, c, null, oneThread);
  addon.setThreads(2);
  assert.deepEqual(Array.from(sharded), Array.from(whole));
  assert.deepEqual(Array.from(oneThread), Array.from(whole));
});

test('the native addon rejects short buffers and bad geometry with a message', { skip }, () => {
  const addon = load.addon!;
  const geo = Int32Array.of(1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  assert.throws(() => addon.convForward(geo, new Float32Array(5), new Float32Array(54), new Float32Array(48)), /x holds 5 elements, needs 32/);
  assert.throws(
    () => addon.convForward(geo.subarray(0, 10), new Float32Array(32), new Float32Array(54), new Float32Array(48)),
    /convolution geometry holds 10 elements/,
  );
  assert.throws(
    () =>
      addon.bnActForward(
        new Float32Array(4),
        2,
        2,
        new Float32Array(2),
        new Float32Array(2),
        new Float32Array(2),
        new Float32Array(2),
        9,
        new Float32Array(4),
      ),
    /unknown activation code 9/,
  );
  const pool = Int32Array.of(1, 4, 4, 2, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1);
  assert.throws(
    () => addon.maxPoolBackward(pool, new Float32Array(32), new Float32Array(31), new Float32Array(32)),
    /dy holds 31 elements, needs 32/,
  );
  assert.throws(
    () =>
      addon.maxPoolBackward(
        Int32Array.of(1, 4, 4, 2, 4, 4, 3, 3, 0, 1, 1, 1, 1, 1),
        new Float32Array(32),
        new Float32Array(32),
        new Float32Array(32),
      ),
    /pooling geometry entry 8 is 0/,
  );
  assert.throws(() => addon.copyColumns(new Float32Array(10), 5, new Float32Array(5), 3, 2, 3), /dst holds 5 elements, needs 6/);
  assert.throws(
    () =>
      addon.resizeNearestBackward(
        new Float32Array(8),
        Int32Array.of(1, 2, 2, 2, 1, 1),
        Int32Array.of(0, 1),
        Int32Array.of(0, 0),
        new Float32Array(2),
      ),
    /rows\[1\] is out of range/,
  );
});

test('native memory-bound kernels equal the direct loops on a yolor-n sized case, whatever the thread count', { skip }, async () => {
  await initBackend('native');
  const rng = new Rng(5);
  const x = tf.tensor4d(rng.normalArray(2 * 10 * 10 * 24), [2, 10, 10, 24]);
  const run = (): Float32Array[] =>
    tf.tidy(() => {
      const pooled = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 5, 1, 'same'), tf.sin(t))))(x);
      const up = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [20, 20]), tf.ones([2, 20, 20, 24]).cumsum(1))),
      )(x);
      const [a, b] = tf.split(x, [7, 17], 3);
      const cat = tf.concat([b!, a!], 3);
      const colSum = tf.sum(x, [0, 1, 2]);
      return [pooled, up, cat, colSum].map((t) => t.dataSync() as Float32Array);
    });
  const one = (() => {
    load.addon!.setThreads(1);
    return run();
  })();
  load.addon!.setThreads(2);
  const two = run();
  await initBackend('wasm');
  const ref = run();
  for (let i = 0; i < one.length; i++) {
    assert.deepEqual(Array.from(one[i]!), Array.from(two[i]!), `output ${i}: threads change nothing`);
    assert.ok(relErr(two[i]!, ref[i]!) < 1e-6, `output ${i} vs plain wasm: ${relErr(two[i]!, ref[i]!)}`);
  }
  x.dispose();
});

test('an addon built from older sources is recognised by the functions it lacks', () => {
  assert.deepEqual(missingNativeFunctions({ info: () => 0 }).includes('sgdStep'), true);
  assert.ok(!missingNativeFunctions({ info: () => 0 }).includes('info'));
  if (load.addon) assert.deepEqual(missingNativeFunctions(load.addon), []);
});
