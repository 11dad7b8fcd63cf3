/**
 * The jigsaw task's own logic (the contract is checked by conformance.test.ts):
 * the permutation set (distinct permutations, a minimum Hamming distance well
 * above a random set's, fast, reproducible, checked when read back), the tile
 * geometry (tiles inside their cells, gaps between them) and the puzzle (slot j
 * shows the cell the permutation names).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FloatImage } from '../../src/pretext/image-ops.js';
import { jigsawTask } from '../../src/pretext/jigsaw/index.js';
import { allPermutations, checkPermutationSet, hamming, maxHammingPermutations, minPairwiseHamming } from '../../src/pretext/jigsaw/permutations.js';
import { jigsawGeometry, shuffledTiles, tileBoxes } from '../../src/pretext/jigsaw/tiles.js';
import { pretextOptions } from '../../src/pretext/options.js';
import { Rng } from '../../src/util/rng.js';

function isPermutation(p: readonly number[]): boolean {
  return p.length === 9 && [...p].sort((a, b) => a - b).every((v, i) => v === i);
}

function randomSet(n: number, rng: Rng): number[][] {
  const out = new Map<string, number[]>();
  while (out.size < n) {
    const p = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    for (let i = 8; i > 0; i--) {
      const j = rng.int(0, i);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    out.set(p.join(','), p);
  }
  return [...out.values()];
}

test('the permutation set: N distinct permutations of 0…8, minimum Hamming distance 6 for N = 100, fast', () => {
  const t0 = performance.now();
  const set = maxHammingPermutations(100, new Rng(1));
  const ms = performance.now() - t0;
  assert.equal(set.length, 100);
  assert.ok(set.every(isPermutation));
  assert.equal(new Set(set.map((p) => p.join(','))).size, 100);
  const min = minPairwiseHamming(set);
  assert.equal(min, 6);
  // Random sets of 100 permutations have a minimum distance of 2–4.
  const rng = new Rng(2);
  for (let k = 0; k < 5; k++) assert.ok(minPairwiseHamming(randomSet(100, rng)) < min);
  // The average distance is about that of random permutations (8): the set is not a tight cluster.
  let sum = 0;
  for (let i = 0; i < set.length; i++) for (let j = i + 1; j < set.length; j++) sum += hamming(set[i]!, set[j]!);
  assert.ok(sum / ((100 * 99) / 2) > 8);
  assert.ok(ms < 3000, `${ms.toFixed(0)} ms for N = 100`);
});

test('the permutation set for the paper’s N = 1000: minimum Hamming distance 5, in a few seconds', () => {
  const t0 = performance.now();
  const set = maxHammingPermutations(1000, new Rng(4));
  const ms = performance.now() - t0;
  assert.equal(new Set(set.map((p) => p.join(','))).size, 1000);
  assert.ok(set.every(isPermutation));
  assert.equal(minPairwiseHamming(set), 5);
  assert.ok(ms < 10000, `${ms.toFixed(0)} ms for N = 1000`);
});

/** The greedy rule written plainly (every candidate rescored each step): max minimum distance, then max sum, then lowest index. */
function plainGreedy(n: number, first: number[]): number[][] {
  const cands = allPermutations();
  const count = cands.length / 9;
  const min = new Array<number>(count).fill(9);
  const sum = new Array<number>(count).fill(0);
  const set = [first];
  while (set.length < n) {
    const p = set[set.length - 1]!;
    let best = -1;
    for (let k = 0; k < count; k++) {
      let d = 0;
      for (let i = 0; i < 9; i++) if (cands[k * 9 + i] !== p[i]) d++;
      min[k] = Math.min(min[k]!, d);
      sum[k] += d;
      if (best < 0 || min[k]! > min[best]! || (min[k] === min[best] && sum[k]! > sum[best]!)) best = k;
    }
    set.push(Array.from(cands.subarray(best * 9, best * 9 + 9)));
  }
  return set;
}

test('the fast greedy chooses exactly what the plain greedy rule chooses', () => {
  const fast = maxHammingPermutations(30, new Rng(9));
  assert.deepEqual(plainGreedy(30, fast[0]!), fast);
});

test('the permutation set is reproducible and starts from a random permutation', () => {
  const a = maxHammingPermutations(20, new Rng(5));
  assert.deepEqual(maxHammingPermutations(20, new Rng(5)), a);
  assert.notDeepEqual(maxHammingPermutations(20, new Rng(6))[0], a[0]);
  assert.equal(jigsawTask.init!(pretextOptions({ jigsawPermutations: 30 }), new Rng(0)).length, 30);
});

test('a permutation set read back is checked, the error naming where it came from', () => {
  const set = maxHammingPermutations(10, new Rng(0));
  assert.deepEqual(checkPermutationSet(JSON.parse(JSON.stringify(set)), 'x'), set);
  const bad: Array<[unknown, RegExp]> = [
    [null, /not an array/],
    [{ perms: set }, /not an array/],
    [[set[0]], /1 permutation/],
    [[set[0], [0, 1, 2]], /entry 1/],
    [[set[0], [0, 1, 2, 3, 4, 5, 6, 7, 7]], /not a permutation/],
    [[set[0], [0, 1, 2, 3, 4, 5, 6, 7, 9]], /not a permutation/],
    [[set[0], [0, 1, 2, 3, 4, 5, 6, 7, 8.5]], /not a permutation/],
    [[set[0], set[1], set[0]], /entry 2 .* repeats/],
  ];
  for (const [state, why] of bad) {
    assert.throws(() => checkPermutationSet(state, 'run/last.json'), /^Error: run\/last\.json: jigsaw permutation set/);
    assert.throws(() => checkPermutationSet(state, 'run/last.json'), why);
  }
});

test('tile geometry: tiles about 4/5 of a cell, inputs a multiple of the stride', () => {
  for (const s of [64, 96, 224, 320, 640]) {
    const g = jigsawGeometry(s, s, 32);
    assert.deepEqual([g.xs[0], g.xs[3]], [0, s]);
    const cell = s / 3;
    assert.ok(g.tile < Math.floor(cell) && Math.abs(g.tile - 0.8 * cell) <= 1, `${s}: tile ${g.tile}`);
    assert.ok(g.input % 32 === 0 && g.input >= g.tile && g.input - g.tile < 32);
  }
  assert.equal(jigsawGeometry(64, 64, 32).input, 32);
  assert.equal(jigsawGeometry(640, 640, 32).input, 192);
  assert.throws(() => jigsawGeometry(12, 12, 32), /too small/);
});

test('tiles lie inside their cells at random positions, with gaps between neighbours', () => {
  const g = jigsawGeometry(224, 224, 32);
  const rng = new Rng(3);
  const xs = new Set<number>();
  let gaps = 0;
  let n = 0;
  for (let k = 0; k < 200; k++) {
    const boxes = tileBoxes(g, rng);
    boxes.forEach((b, i) => {
      const [r, c] = [Math.floor(i / 3), i % 3];
      assert.ok(b.x >= g.xs[c]! && b.x + g.tile <= g.xs[c + 1]!, `tile ${i} x ${b.x}`);
      assert.ok(b.y >= g.ys[r]! && b.y + g.tile <= g.ys[r + 1]!, `tile ${i} y ${b.y}`);
      if (c < 2) {
        gaps += boxes[i + 1]!.x - (b.x + g.tile);
        n++;
      }
    });
    xs.add(boxes[4]!.x);
  }
  assert.ok(xs.size > 5, 'the jitter moves the tiles');
  const cell = 224 / 3;
  const mean = gaps / n;
  assert.ok(mean > 0.15 * cell && mean < 0.25 * cell, `mean gap ${mean} of a ${cell}-pixel cell`);
});

test('shuffled tiles land where the permutation says', () => {
  const s = 96;
  const colour = (cell: number): number[] => [cell / 8, ((cell * 5) % 9) / 8, 1 - cell / 8];
  const data = new Float32Array(s * s * 3);
  const g = jigsawGeometry(s, s, 32);
  const cellOf = (v: number, b: number[]): number => (v < b[1]! ? 0 : v < b[2]! ? 1 : 2);
  for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) data.set(colour(3 * cellOf(y, g.ys) + cellOf(x, g.xs)), (y * s + x) * 3);
  const img: FloatImage = { data, width: s, height: s, channels: 3 };
  const rng = new Rng(8);
  for (const perm of maxHammingPermutations(5, rng)) {
    const tiles = shuffledTiles(img, perm, tileBoxes(g, rng), g);
    tiles.forEach((t, slot) => {
      assert.equal(t.width, g.input);
      const want = colour(perm[slot]!);
      // The outermost ring of an upsampled tile may blend in one pixel beyond the tile.
      for (let y = 1; y < t.height - 1; y++)
        for (let x = 1; x < t.width - 1; x++)
          for (let k = 0; k < 3; k++) assert.ok(Math.abs(t.data[(y * t.width + x) * 3 + k]! - want[k]!) < 1e-6, `slot ${slot}`);
    });
  }
});
