import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { loadTensors } from '../../src/io/file-handler.js';
import { loadModel, saveModel } from '../../src/models/checkpoint.js';
import { Detector } from '../../src/models/detector.js';
import { float16Bits, listPretrained, packPretrained, resolveWeights } from '../../src/models/pretrained.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { tmp } from '../helpers/tmp.js';

before(async () => {
  await initBackend('wasm');
});

/** The float32 value of half-precision bits. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test('float16Bits rounds to the nearest half (ties to even), with subnormals, overflow and NaN', () => {
  assert.equal(float16Bits(1), 0x3c00);
  assert.equal(float16Bits(-2), 0xc000);
  assert.equal(float16Bits(65504), 0x7bff);
  assert.equal(float16Bits(1e6), 0x7c00);
  assert.equal(float16Bits(2 ** -24), 0x0001);
  assert.equal(float16Bits(2 ** -26), 0x0000);
  assert.equal(float16Bits(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(float16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.ok(Number.isNaN(halfValue(float16Bits(Number.NaN))));
  for (const v of [0.1, -Math.PI, 1e-5, 123.456, 6.1e-5]) {
    const h = halfValue(float16Bits(v));
    const ulp = 2 ** (Math.floor(Math.log2(Math.abs(v))) - 10);
    assert.ok(Math.abs(h - v) <= Math.max(ulp, 2 ** -24) / 2 + 1e-12, `${v} → ${h}`);
  }
});

test('packed float16 weights load exactly to their float16 values and rebuild the model', async () => {
  const dir = tmp('pack');
  const det = new Detector({ ...resolveModelConfig('yolor-n'), nc: 3 }, 4);
  await saveModel(join(dir, 'src'), det);
  const r = await packPretrained(join(dir, 'src'), join(dir, 'packed'), { command: 'test' });
  const orig = await loadTensors(join(dir, 'src'));
  const packed = await loadTensors(join(dir, 'packed'));
  assert.equal(r.tensors, Object.keys(orig.tensors).length);
  for (const [k, t] of Object.entries(orig.tensors)) {
    const a = t.dataSync();
    const b = packed.tensors[k]!.dataSync();
    for (let i = 0; i < a.length; i++) assert.equal(b[i], halfValue(float16Bits(a[i]!)), `${k}[${i}]`);
  }
  assert.deepEqual(packed.metadata.pretrained, { command: 'test' });
  const { model } = await loadModel(join(dir, 'packed'));
  model.dispose();
  tf.dispose([...Object.values(orig.tensors), ...Object.values(packed.tensors)]);
  det.dispose();
});

test('resolveWeights: a path as it is, a shipped name, or an error listing both', () => {
  const dir = tmp('resolve');
  assert.equal(resolveWeights(dir), dir);
  for (const e of listPretrained()) assert.equal(resolveWeights(e.name), e.dir);
  assert.throws(() => resolveWeights('no-such-weights'), /--weights no-such-weights: no such checkpoint directory/);
});
