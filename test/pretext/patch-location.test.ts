/**
 * The patch-location task's own logic (the contract is checked by
 * conformance.test.ts): the layout fits the image with gaps and jitter, the
 * patches lie inside the image, the neighbour is where its label says (in
 * coordinates and in pixels), and the chromatic-aberration treatment.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cropResize, type FloatImage } from '../../src/pretext/image-ops.js';
import { dechromatise, NEIGHBOURS, patchGeometry, patchPair } from '../../src/pretext/patch-location/patches.js';
import { Rng } from '../../src/util/rng.js';

test('the layout fits: 3p + 2·gap + 2·jitter ≤ S, gap ≈ p/2, the largest such p, jitter 7 scaled down for small images', () => {
  for (let s = 24; s <= 1024; s += 8) {
    const g = patchGeometry(s);
    assert.ok(3 * g.patch + 2 * g.gap + 2 * g.jitter <= s, `${s}`);
    assert.equal(g.gap, Math.round(g.patch / 2));
    const p = g.patch + 1;
    assert.ok(3 * p + 2 * Math.round(p / 2) + 2 * g.jitter > s, `${s}: a larger patch fits`);
    assert.equal(g.jitter, s >= 224 ? 7 : Math.max(1, Math.round((7 * s) / 224)));
  }
  assert.deepEqual(patchGeometry(64), { patch: 14, gap: 7, jitter: 2 });
  assert.equal(patchGeometry(640).jitter, 7);
  assert.throws(() => patchGeometry(12), /too small/);
});

test('both patches lie inside the image, apart, and the neighbour is where its label says', () => {
  for (const s of [64, 224, 640]) {
    const g = patchGeometry(s);
    const step = g.patch + g.gap;
    const rng = new Rng(s);
    const labels = new Set<number>();
    for (let k = 0; k < 500; k++) {
      const { centre, neighbour, label } = patchPair(g, s, rng);
      labels.add(label);
      for (const p of [centre, neighbour]) assert.ok(p.x >= 0 && p.y >= 0 && p.x + g.patch <= s && p.y + g.patch <= s, `${s}: ${p.x},${p.y}`);
      const [dx, dy] = NEIGHBOURS[label]!;
      assert.ok(Math.abs(neighbour.x - centre.x - dx * step) <= 2 * g.jitter);
      assert.ok(Math.abs(neighbour.y - centre.y - dy * step) <= 2 * g.jitter);
      // The gap outlasts the jitter: the patches never touch.
      assert.ok(Math.abs(neighbour.x - centre.x) >= g.patch + 1 || Math.abs(neighbour.y - centre.y) >= g.patch + 1);
    }
    assert.equal(labels.size, 8);
  }
});

test('in pixels: a patch cut from a 3×3 grid of distinct colours shows the cell its label names', () => {
  const s = 224;
  const g = patchGeometry(s);
  const rng = new Rng(1);
  for (let k = 0; k < 50; k++) {
    const pair = patchPair(g, s, rng);
    // Colour the image by the layout cell this draw's centre patch implies: cell (cx, cy) of the 3 × 3 grid of pitch `step`.
    const step = g.patch + g.gap;
    const ox = pair.centre.x + g.patch / 2 - 1.5 * step;
    const oy = pair.centre.y + g.patch / 2 - 1.5 * step;
    const cell = (v: number, o: number): number => Math.min(2, Math.max(0, Math.floor((v - o) / step)));
    const data = new Float32Array(s * s * 3);
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) {
        const i = 3 * cell(y, oy) + cell(x, ox);
        data.set([i / 8, 1 - i / 8, (i % 3) / 2], (y * s + x) * 3);
      }
    const img: FloatImage = { data, width: s, height: s, channels: 3 };
    const mid = (p: { x: number; y: number }): number[] => {
      const t = cropResize(img, p.x, p.y, g.patch, g.patch, 32, 32);
      return Array.from(t.data.subarray((16 * 32 + 16) * 3, (16 * 32 + 16) * 3 + 3));
    };
    const [dx, dy] = NEIGHBOURS[pair.label]!;
    const want = 3 * (1 + dy) + (1 + dx);
    const near = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - b[i]!) < 1e-6);
    assert.ok(near(mid(pair.centre), [4 / 8, 1 - 4 / 8, 1 / 2]), 'centre');
    assert.ok(near(mid(pair.neighbour), [want / 8, 1 - want / 8, (want % 3) / 2]), `label ${pair.label}`);
  }
});

test('chromatic aberration: half colour dropping (one channel kept, the others noise of its spread), half grey', () => {
  const rng = new Rng(7);
  const n = 32 * 32;
  const data = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) data.set([0.2 + 0.6 * ((p % 32) / 31), 0.5 + 0.1 * Math.sin(p), 0.9 - 0.5 * (p / n)], p * 3);
  const img: FloatImage = { data, width: 32, height: 32, channels: 3 };
  const stats = (a: number[]): { mean: number; std: number } => {
    const mean = a.reduce((x, y) => x + y, 0) / a.length;
    return { mean, std: Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / a.length) };
  };
  const channel = (d: Float32Array, k: number): number[] => Array.from({ length: n }, (_, p) => d[p * 3 + k]!);
  const counts = new Map<string, number>();
  for (let t = 0; t < 400; t++) {
    const { image, mode } = dechromatise(img, rng);
    counts.set(String(mode), (counts.get(String(mode)) ?? 0) + 1);
    if (mode === 'grey') {
      for (let p = 0; p < n * 3; p += 3) {
        const l = 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
        for (let k = 0; k < 3; k++) assert.ok(Math.abs(image.data[p + k]! - l) < 1e-6);
      }
    } else if (t % 10 === 0) {
      assert.ok(mode === 0 || mode === 1 || mode === 2);
      assert.deepEqual(channel(image.data, mode), channel(data, mode));
      const kept = stats(channel(data, mode));
      for (let k = 0; k < 3; k++) {
        if (k === mode) continue;
        const noise = stats(channel(image.data, k));
        assert.ok(Math.abs(noise.mean - kept.mean) < 0.2 * kept.std + 1e-3, `mean ${noise.mean} vs ${kept.mean}`);
        assert.ok(Math.abs(noise.std / kept.std - 1) < 0.15, `std ${noise.std} vs ${kept.std}`);
      }
    }
  }
  const grey = counts.get('grey') ?? 0;
  assert.ok(grey > 160 && grey < 240, `grey ${grey} of 400`);
  for (const k of ['0', '1', '2']) assert.ok((counts.get(k) ?? 0) > 40, `kept channel ${k}: ${counts.get(k)}`);
  const one: FloatImage = { data: new Float32Array(16), width: 4, height: 4, channels: 1 };
  assert.equal(dechromatise(one, rng).mode, 'none');
});
