/**
 * The colourisation task's own logic (the contract is checked by
 * conformance.test.ts): sRGB → Lab against published values, the batch
 * conversion against the exact one, the in-gamut bin set (262 bins, and why not
 * the paper's 313), the soft encoding (the 5 nearest bins, weights summing to 1),
 * the rebalancing weights (E_p̃[w] = 1, rarer bins weigh more, the histogram
 * frozen after PRIOR_BATCHES) and the regression variant.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { PretextNetwork } from '../../src/models/pretext-network.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { abBins, GRID, inGamutBins, rebalanceWeights, SoftEncoder } from '../../src/pretext/colorize/bins.js';
import { type ColorizeState, colorizeTask, PRIOR_BATCHES, priorWeights } from '../../src/pretext/colorize/index.js';
import { labPlanes, srgbToLab } from '../../src/pretext/colorize/lab.js';
import { pretextOptions } from '../../src/pretext/options.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const close = (got: readonly number[], want: readonly number[], tol: number, what: string): void => {
  got.forEach((g, i) => {
    assert.ok(Math.abs(g - want[i]!) <= tol, `${what}: [${got.join(', ')}], expected [${want.join(', ')}]`);
  });
};

test('sRGB → Lab (D65) matches published values', () => {
  close(srgbToLab(1, 1, 1), [100, 0, 0], 1e-4, 'white');
  close(srgbToLab(0, 0, 0), [0, 0, 0], 1e-9, 'black');
  close(srgbToLab(1, 0, 0), [53.2408, 80.0925, 67.2032], 1e-3, 'red');
  close(srgbToLab(0, 1, 0), [87.7347, -86.1827, 83.1793], 1e-3, 'green');
  close(srgbToLab(0, 0, 1), [32.297, 79.1875, -107.8602], 1e-3, 'blue');
  close(srgbToLab(0.5, 0.5, 0.5), [53.389, 0, 0], 1e-3, 'grey 0.5');
});

test('the batch conversion: L/100 in three channels, ab averaged per cell, as the exact formula', () => {
  const rng = new Rng(1);
  const images = Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => rng.next());
  const { grey, ab } = labPlanes({ images, shape: [2, 8, 8, 3] }, 4);
  assert.equal(ab.length, 2 * 2 * 2 * 2);
  const sum = [0, 0];
  for (let y = 4; y < 8; y++)
    for (let x = 0; x < 4; x++) {
      const p = ((64 + y * 8 + x) * 3) as number;
      const lab = srgbToLab(images[p]!, images[p + 1]!, images[p + 2]!);
      close([grey[p]!, grey[p + 1]!, grey[p + 2]!], [lab[0] / 100, lab[0] / 100, lab[0] / 100], 1e-5, 'L');
      sum[0]! += lab[1] / 16;
      sum[1]! += lab[2] / 16;
    }
  // Image 1, cell row 1, column 0.
  close([ab[(4 + 2) * 2]!, ab[(4 + 2) * 2 + 1]!], sum, 1e-3, 'ab');
});

test('the in-gamut bins: 262 centres of the 10-grid (the paper reports 313; see bins.ts)', () => {
  const bins = abBins();
  assert.equal(bins.length / 2, 262);
  const key = (a: number, b: number): string => `${a},${b}`;
  const set = new Set(Array.from({ length: bins.length / 2 }, (_, q) => key(bins[2 * q]!, bins[2 * q + 1]!)));
  // A denser sample of the cube's surface finds no other bin.
  assert.deepEqual(inGamutBins(1024), bins);
  // Every sampled sRGB colour (inside the cube too) falls into a listed bin.
  const rng = new Rng(2);
  for (let i = 0; i < 20000; i++) {
    const [, a, b] = srgbToLab(rng.next(), rng.next(), rng.next());
    assert.ok(set.has(key(Math.round(a / GRID) * GRID, Math.round(b / GRID) * GRID)), `(${a}, ${b})`);
  }
  const as = Array.from({ length: bins.length / 2 }, (_, q) => bins[2 * q]!);
  const bs = Array.from({ length: bins.length / 2 }, (_, q) => bins[2 * q + 1]!);
  assert.deepEqual([Math.min(...as), Math.max(...as), Math.min(...bs), Math.max(...bs)], [-90, 100, -110, 90]);
  // The first centres of the paper's set (a = −90 with b = 50…90) are mostly beyond sRGB: only (−90, 80) is reached.
  assert.deepEqual(
    [50, 60, 70, 80, 90].filter((b) => set.has(key(-90, b))),
    [80],
  );
});

test('soft encoding: the 5 nearest bins, nearest first, Gaussian weights summing to 1', () => {
  const bins = abBins();
  const enc = new SoftEncoder(bins);
  const idx = new Int32Array(5);
  const wts = new Float32Array(5);
  const rng = new Rng(3);
  for (let i = 0; i < 2000; i++) {
    const [, a, b] = srgbToLab(rng.next(), rng.next(), rng.next());
    const nearest = enc.encode(a, b, idx, wts, 0);
    const d = Array.from({ length: enc.q }, (_, r) => Math.hypot(bins[2 * r]! - a, bins[2 * r + 1]! - b));
    const order = d.map((v, r) => [v, r] as const).sort((x, y) => x[0] - y[0]);
    assert.equal(nearest, order[0]![1]);
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(d[idx[j]!]! - order[j]![0]) < 1e-9, 'a 5-nearest bin');
    assert.ok(Math.abs(wts.reduce((s, v) => s + v, 0) - 1) < 1e-6);
    for (let j = 0; j < 5; j++) {
      const want = Math.exp(-(d[idx[j]!]! ** 2) / 50) / order.slice(0, 5).reduce((s, [v]) => s + Math.exp(-(v ** 2) / 50), 0);
      assert.ok(Math.abs(wts[j]! - want) < 1e-5);
    }
  }
});

test('rebalancing weights: E_p̃[w] = 1, rarer bins weigh more', () => {
  const bins = abBins();
  const q = bins.length / 2;
  const rng = new Rng(4);
  const counts = Array.from({ length: q }, (_, r) => (r % 7 === 0 ? 0 : Math.floor(1000 * rng.next() ** 4)));
  const { smoothed, weights } = rebalanceWeights(counts, bins);
  assert.ok(Math.abs(smoothed.reduce((s, v) => s + v, 0) - 1) < 1e-9);
  assert.ok(Math.abs(smoothed.reduce((s, v, r) => s + v * weights[r]!, 0) - 1) < 1e-9);
  for (let r = 0; r < q; r++) for (let t = 0; t < q; t++) if (smoothed[r]! < smoothed[t]!) assert.ok(weights[r]! > weights[t]!);
  // Uniform counts: p̃ is close to uniform and the weights near 1.
  const flat = rebalanceWeights(new Array<number>(q).fill(5), bins).weights;
  assert.ok(Math.max(...flat) / Math.min(...flat) < 3);
});

test('the prior histogram fills over the first PRIOR_BATCHES batches, then stays', () => {
  const state = colorizeTask.init!(pretextOptions(), new Rng(0)) as ColorizeState;
  const nearest = Int32Array.from([0, 1, 1, 5]);
  const w1 = priorWeights(state, nearest);
  // The same batch again: the same distribution, the same weights.
  assert.deepEqual(priorWeights(state, nearest), w1);
  for (let k = 2; k < PRIOR_BATCHES + 5; k++) priorWeights(state, Int32Array.from([7]));
  assert.equal(state.batches, PRIOR_BATCHES);
  assert.equal(state.counts[7], PRIOR_BATCHES - 2);
  assert.deepEqual(colorizeTask.checkState!(JSON.parse(JSON.stringify(state)), 'x'), state);
  assert.throws(() => colorizeTask.checkState!({ counts: [1, 2], batches: 0 }, 'ckpt/state.json'), /ckpt\/state\.json/);
});

test("the 'regress' variant: 2 output channels at stride 4, smooth L1, no acc", () => {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  const cfg = parseModelConfig({ ...raw, name: 'tiny', nc: 3, width_multiple: 0.125, depth_multiple: 0.33, imgsz: 64 }, 'colorize test');
  const options = pretextOptions({ colorize: 'regress' });
  const states = { colorize: colorizeTask.init!(options, new Rng(0)) };
  const net = new PretextNetwork(cfg, { tasks: ['colorize'], states, imgsz: 64, options });
  net.train();
  const rng = new Rng(5);
  const batch = {
    images: Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rng.next()),
    shape: [2, 64, 64, 3] as [number, number, number, number],
  };
  tf.tidy(() => {
    const head = net.heads.colorize as Parameters<typeof colorizeTask.loss>[0]['head'];
    assert.deepEqual(head.forward(net.features(tf.zeros([1, 64, 64, 3]))[0]!).shape, [1, 16, 16, 2]);
    const r = colorizeTask.loss({ encoder: net, head, batch, rng, state: states.colorize, options });
    assert.ok(Number.isFinite(r.items.loss) && r.items.loss > 0);
    assert.equal(r.items.acc, undefined);
  });
  net.dispose();
});
