/**
 * The denoising task's own logic (the contract is checked by
 * conformance.test.ts): the corruption (Gaussian of the requested std, clipped to
 * [0, 1], reproducible from the generator) and the loss reading `noiseStd`.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { PretextNetwork } from '../../src/models/pretext-network.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { denoiseTask, noisyCopy } from '../../src/pretext/denoise/index.js';
import type { PixelDecoder } from '../../src/pretext/heads.js';
import { pretextOptions } from '../../src/pretext/options.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

test('the noise: mean 0, the requested std, clipped to [0, 1], reproducible', () => {
  const clean = new Float32Array(100001).fill(0.5);
  for (const std of [0.05, 0.1]) {
    const noisy = noisyCopy(clean, std, new Rng(1));
    let s = 0;
    let s2 = 0;
    for (const v of noisy) {
      s += v - 0.5;
      s2 += (v - 0.5) ** 2;
    }
    const mean = s / noisy.length;
    const sd = Math.sqrt(s2 / noisy.length - mean * mean);
    assert.ok(Math.abs(mean) < 0.002, `mean ${mean}`);
    assert.ok(Math.abs(sd / std - 1) < 0.02, `std ${sd} for ${std}`);
  }
  assert.deepEqual(noisyCopy(clean, 0.1, new Rng(2)), noisyCopy(clean, 0.1, new Rng(2)));
  assert.notDeepEqual(noisyCopy(clean, 0.1, new Rng(2)), noisyCopy(clean, 0.1, new Rng(3)));
  const edges = noisyCopy(
    Float32Array.from({ length: 1000 }, (_, i) => i % 2),
    0.3,
    new Rng(4),
  );
  assert.ok(edges.every((v) => v >= 0 && v <= 1));
  assert.ok(edges.some((v) => v === 0) && edges.some((v) => v === 1));
});

test('the loss: full-resolution 3-channel reconstruction, reads noiseStd, no acc', () => {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  const cfg = parseModelConfig({ ...raw, name: 'tiny', nc: 3, width_multiple: 0.125, depth_multiple: 0.33, imgsz: 64 }, 'denoise test');
  const options = pretextOptions();
  const net = new PretextNetwork(cfg, { tasks: ['denoise'], states: {}, imgsz: 64, options });
  net.train();
  const head = net.heads.denoise as PixelDecoder;
  const r = new Rng(5);
  const batch = { images: Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => r.next()), shape: [2, 64, 64, 3] as [number, number, number, number] };
  tf.tidy(() => {
    assert.deepEqual(head.forward(net.features(tf.zeros([1, 64, 64, 3]))[0]!).shape, [1, 64, 64, 3]);
    const at = (noiseStd: number): { loss: number; acc?: number } =>
      denoiseTask.loss({ encoder: net, head, batch, rng: new Rng(6), state: undefined, options: { ...options, noiseStd } }).items;
    const a = at(0.1);
    assert.ok(Number.isFinite(a.loss) && a.loss > 0);
    assert.equal(a.acc, undefined);
    assert.notEqual(at(0.3).loss, a.loss);
  });
  net.dispose();
});
