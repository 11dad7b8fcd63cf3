/**
 * The inpainting task's own logic (the contract is checked by
 * conformance.test.ts): the mask covers the centre square of half the side and
 * fills it with the visible mean, the loss sees only the centre (a prediction
 * changed outside it leaves the loss unchanged), and L1 / L2 follow the option.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { PretextNetwork } from '../../src/models/pretext-network.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import type { PixelDecoder } from '../../src/pretext/heads.js';
import { centreBox, centreLoss, inpaintTask, maskCentre } from '../../src/pretext/inpaint/index.js';
import { pretextOptions } from '../../src/pretext/options.js';
import type { PretextBatch } from '../../src/pretext/types.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

function randomBatch(seed: number, b = 2, s = 64): PretextBatch {
  const rng = new Rng(seed);
  return { images: Float32Array.from({ length: b * s * s * 3 }, () => rng.next()), shape: [b, s, s, 3] };
}

test('the mask: the centre square of half the side, filled with the mean of the visible pixels per channel', () => {
  assert.deepEqual(centreBox(64, 64), { y0: 16, x0: 16, h: 32, w: 32 });
  assert.deepEqual(centreBox(96, 64), { y0: 24, x0: 16, h: 48, w: 32 });
  const batch = randomBatch(1);
  const masked = maskCentre(batch);
  for (let i = 0; i < 2; i++) {
    const mean = [0, 0, 0];
    let n = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const p = ((i * 64 + y) * 64 + x) * 3;
        const inside = y >= 16 && y < 48 && x >= 16 && x < 48;
        if (inside) continue;
        n++;
        for (let k = 0; k < 3; k++) {
          mean[k]! += batch.images[p + k]!;
          assert.equal(masked[p + k], batch.images[p + k], 'outside unchanged');
        }
      }
    for (let y = 16; y < 48; y++)
      for (let x = 16; x < 48; x++)
        for (let k = 0; k < 3; k++) assert.ok(Math.abs(masked[((i * 64 + y) * 64 + x) * 3 + k]! - mean[k]! / n) < 1e-6, 'centre = visible mean');
  }
});

test('the loss sees the centre only; L2 and L1', () => {
  tf.tidy(() => {
    const target = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const inside = tf.pad(tf.ones([2, 16, 16, 3]), [
      [0, 0],
      [8, 8],
      [8, 8],
      [0, 0],
    ]) as tf.Tensor4D;
    const outside = tf.sub(1, inside) as tf.Tensor4D;
    const noise = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 2);
    for (const kind of ['l2', 'l1'] as const) {
      const base = tf.add(target, tf.mul(0.5, inside)) as tf.Tensor4D;
      const changedOutside = tf.add(base, tf.mul(noise, outside)) as tf.Tensor4D;
      const changedInside = tf.add(base, tf.mul(noise, inside)) as tf.Tensor4D;
      const l = centreLoss(base, target, kind).dataSync()[0]!;
      assert.ok(Math.abs(l - (kind === 'l2' ? 0.25 : 0.5)) < 1e-6, `${kind}: ${l}`);
      assert.equal(centreLoss(changedOutside, target, kind).dataSync()[0], l);
      assert.notEqual(centreLoss(changedInside, target, kind).dataSync()[0], l);
    }
  });
});

test('the task follows --inpaint-loss (l2 default, l1), reports no acc', () => {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  const cfg = parseModelConfig({ ...raw, name: 'tiny', nc: 3, width_multiple: 0.125, depth_multiple: 0.33, imgsz: 64 }, 'inpaint test');
  const options = pretextOptions();
  const net = new PretextNetwork(cfg, { tasks: ['inpaint'], states: {}, imgsz: 64, options });
  net.train();
  const head = net.heads.inpaint as PixelDecoder;
  const batch = randomBatch(3);
  tf.tidy(() => {
    const masked = tf.tensor4d(maskCentre(batch), batch.shape);
    const pred = head.forward(net.features(masked)[0]!);
    const clean = tf.tensor4d(batch.images, batch.shape);
    const want = { l2: centreLoss(pred, clean, 'l2').dataSync()[0]!, l1: centreLoss(pred, clean, 'l1').dataSync()[0]! };
    assert.notEqual(want.l1, want.l2);
    for (const kind of ['l2', 'l1'] as const) {
      const r = inpaintTask.loss({ encoder: net, head, batch, rng: new Rng(0), state: undefined, options: pretextOptions({ inpaintLoss: kind }) });
      assert.ok(Math.abs(r.items.loss - want[kind]) < 1e-6 * Math.max(1, want[kind]), `${kind}: ${r.items.loss} vs ${want[kind]}`);
      assert.equal(r.items.acc, undefined);
    }
  });
  net.dispose();
});
