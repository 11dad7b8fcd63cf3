/** The contrastive task's pieces without the network: NT-Xent against hand-computed values, and the SimCLR augmentations. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { colourJitter, cropWindow, simclrView } from '../../src/pretext/contrastive/augment.js';
import { ntXent, positives } from '../../src/pretext/contrastive/ntxent.js';
import type { FloatImage } from '../../src/pretext/image-ops.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const close = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** NT-Xent by its definition, in plain numbers. */
function reference(z: number[][], tau: number): number {
  const n = z.length;
  const unit = z.map((v) => {
    const l = Math.hypot(...v);
    return v.map((x) => x / l);
  });
  const sim = (i: number, j: number): number => unit[i]!.reduce((s, x, k) => s + x * unit[j]![k]!, 0) / tau;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let denom = 0;
    for (let j = 0; j < n; j++) if (j !== i) denom += Math.exp(sim(i, j));
    total += -sim(i, (i + n / 2) % n) + Math.log(denom);
  }
  return total / n;
}

test('NT-Xent for 2 images equals the hand-computed value', () => {
  // Views of image 0 along x, of image 1 along y (rows: view 1 of images 0, 1, then view 2 of images 0, 1).
  // Each anchor: positive similarity 1, the two negatives 0, so ℓ = −1 + log(e + 1 + 1) at τ = 1.
  const r = ntXent(
    tf.tensor2d([
      [2, 0],
      [0, 1],
      [1, 0],
      [0, 3],
    ]),
    1,
  );
  close(r.loss.dataSync()[0]!, Math.log(Math.E + 2) - 1);
  assert.equal(r.acc, 1);
  // A less tidy case, against the definition.
  const z = [
    [1, 0.2, -0.3],
    [0.1, 1, 0.4],
    [0.8, 0.5, 0],
    [-0.2, 0.7, 0.9],
  ];
  close(ntXent(tf.tensor2d(z), 0.5).loss.dataSync()[0]!, reference(z, 0.5));
  assert.deepEqual([...positives(4)], [2, 3, 0, 1]);
  assert.throws(() => positives(3), /even/);
});

test('NT-Xent is small when the views align and large when they are shuffled', () => {
  const rng = new Rng(1);
  const b = 8;
  const a = Array.from({ length: b }, () => Array.from({ length: 16 }, () => rng.normal()));
  const aligned = ntXent(tf.tensor2d([...a, ...a]), 0.1);
  const shuffled = ntXent(tf.tensor2d([...a, ...a.slice(1), a[0]!]), 0.1);
  const al = aligned.loss.dataSync()[0]!;
  const sh = shuffled.loss.dataSync()[0]!;
  assert.ok(al < 0.5, `aligned ${al}`);
  assert.ok(sh > al + 5, `shuffled ${sh} vs aligned ${al}`);
  assert.equal(aligned.acc, 1);
  assert.ok(shuffled.acc < 0.5);
  // One image: no negatives, loss 0.
  close(
    ntXent(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      0.5,
    ).loss.dataSync()[0]!,
    0,
  );
});

function smoothImage(w: number, h: number, seed: number): FloatImage {
  const rng = new Rng(seed);
  const f = [rng.next(), rng.next(), rng.next()];
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 0.5 + 0.5 * Math.sin(f[c]! * x * 0.3 + y * 0.2 * (c + 1));
  return { data, width: w, height: h, channels: 3 };
}

test('the augmentations keep the shape and the 0–1 range, and vary from draw to draw', () => {
  const img = smoothImage(48, 40, 2);
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let k = 0; k < 20; k++) {
    const v = simclrView(img, 64, rng);
    assert.equal(v.width, 64);
    assert.equal(v.height, 64);
    assert.equal(v.channels, 3);
    assert.equal(v.data.length, 64 * 64 * 3);
    for (const x of v.data) assert.ok(x >= 0 && x <= 1, `value ${x}`);
    seen.add(v.data[1000]!);
    const c = cropWindow(48, 40, rng);
    assert.ok(c.x >= 0 && c.y >= 0 && c.x + c.w <= 48 && c.y + c.h <= 40 && c.w * c.h >= 0.2 * 48 * 40 * 0.9, JSON.stringify(c));
  }
  assert.ok(seen.size > 10);
  // Full strength jitter stays in range too.
  const j = colourJitter(img, { brightness: 0.9, contrast: 0.9, saturation: 0.9, hue: 0.5 }, rng);
  for (const x of j.data) assert.ok(x >= 0 && x <= 1);
});

test('colour jitter at zero strength is the identity; brightness alone scales the pixels', () => {
  const img = smoothImage(16, 16, 4);
  const same = colourJitter(img, { brightness: 0, contrast: 0, saturation: 0, hue: 0 }, new Rng(5));
  assert.deepEqual([...same.data], [...img.data]);
  assert.notEqual(same.data, img.data);
  // A change of brightness alone scales the pixels.
  const rng = new Rng(6);
  const b = colourJitter(img, { brightness: 0.3, contrast: 0, saturation: 0, hue: 0 }, rng);
  const ratio = b.data[5]! / img.data[5]!;
  assert.ok(ratio >= 0.7 && ratio <= 1.3);
  for (let p = 0; p < img.data.length; p++) close(b.data[p]!, Math.min(1, img.data[p]! * ratio), 1e-5);
});
