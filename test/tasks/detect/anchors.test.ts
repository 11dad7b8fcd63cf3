/**
 * Anchor metrics (YOLOv5 ratio metric: BPR, AAT, fitness), k-means anchors,
 * genetic evolution and autoAnchor.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anchorFitness, autoAnchor, evolveAnchors, filterValidWh, kmeansAnchors } from '../../../src/tasks/detect/anchors.js';
import { Rng } from '../../../src/util/rng.js';

const CENTERS: Array<[number, number]> = [
  [10, 14],
  [60, 40],
  [200, 250],
];

/** 3 well-separated clusters of (w, h), `per` boxes each, ±5% multiplicative jitter. */
function clusters(seed: number, per = 100): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(CENTERS.length * per * 2);
  let p = 0;
  for (const [w, h] of CENTERS) {
    for (let i = 0; i < per; i++) {
      out[p++] = w * (1 + 0.05 * (2 * rng.next() - 1));
      out[p++] = h * (1 + 0.05 * (2 * rng.next() - 1));
    }
  }
  return out;
}

const close = (a: number, b: number, tol: number, msg?: string): void => assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} expected ${b}, got ${a}`);

describe('anchorFitness', () => {
  test('a box equal to an anchor has best 1', () => {
    const m = anchorFitness([10, 20], [[10, 20]]);
    assert.deepEqual(m, { bpr: 1, aat: 1, fitness: 1, n: 1, ignored: 0 });
  });

  test('a ratio of exactly thr is not a match; just inside is', () => {
    const edge = anchorFitness([40, 20], [[10, 20]], 4);
    assert.equal(edge.bpr, 0);
    assert.equal(edge.aat, 0);
    assert.equal(edge.fitness, 0);
    const tall = anchorFitness([10, 5], [[10, 20]], 4); // h/ah = 1/4
    assert.equal(tall.bpr, 0);
    const inside = anchorFitness([39.9, 20], [[10, 20]], 4);
    assert.equal(inside.bpr, 1);
    close(inside.fitness, 10 / 39.9, 1e-9);
    // A looser threshold matches the boundary box.
    assert.equal(anchorFitness([40, 20], [[10, 20]], 5).bpr, 1);
  });

  test('BPR, AAT and fitness over several boxes and anchors', () => {
    const anchors = [
      [10, 10],
      [20, 20],
      [50, 50],
    ];
    // (10,10): x = 1, .5, .2      → best 1,   2 above
    // (30,30): x = 1/3, 2/3, .6  → best 2/3, 3 above
    // (400,400): x = .025,.05,.125 → best .125, none
    const m = anchorFitness([10, 10, 30, 30, 400, 400], anchors);
    close(m.bpr, 2 / 3, 1e-12);
    close(m.aat, 5 / 3, 1e-12);
    close(m.fitness, (1 + 2 / 3) / 3, 1e-12);
    assert.equal(m.n, 3);
  });

  test('boxes with a non-positive side are ignored and counted', () => {
    const m = anchorFitness([10, 20, 0, 5, -3, 4, 7, 0, Number.NaN, 3], [[10, 20]]);
    assert.equal(m.ignored, 4);
    assert.equal(m.n, 1);
    assert.equal(m.bpr, 1);
    const none = anchorFitness([0, 0], [[10, 20]]);
    assert.deepEqual(none, { bpr: 0, aat: 0, fitness: 0, n: 0, ignored: 1 });
    assert.equal(filterValidWh([1, 2, 0, 1, 3, 4]).n, 2);
  });

  test('rejects bad arguments', () => {
    assert.throws(() => anchorFitness([1, 2, 3], [[1, 1]]), /pairs/);
    assert.throws(() => anchorFitness([1, 2], [[0, 1]]), /anchor 0/);
    assert.throws(() => anchorFitness([1, 2], [[1, 1]], 1), /thr/);
  });
});

describe('kmeansAnchors', () => {
  for (const metric of ['iou', 'ratio'] as const) {
    test(`recovers 3 well-separated clusters (${metric})`, () => {
      const wh = clusters(1);
      const anchors = kmeansAnchors(wh, 3, { rng: new Rng(7), metric });
      assert.equal(anchors.length, 3);
      anchors.forEach((a, i) => {
        const [w, h] = CENTERS[i]!;
        close(a[0]!, w, 0.03 * w, `anchor ${i} w`);
        close(a[1]!, h, 0.03 * h, `anchor ${i} h`);
      });
      const areas = anchors.map((a) => a[0]! * a[1]!);
      assert.deepEqual(
        [...areas].sort((a, b) => a - b),
        areas,
        'sorted by area',
      );
    });
  }

  test('deterministic for a seed, ignores invalid boxes, reseeds empty clusters', () => {
    const wh = Float32Array.from([...clusters(2), 0, 3, -1, -1]);
    const a = kmeansAnchors(wh, 5, { rng: new Rng(3) });
    const b = kmeansAnchors(wh, 5, { rng: new Rng(3) });
    assert.deepEqual(a, b);
    assert.equal(a.length, 5);
    for (const [w, h] of a) assert.ok(w! > 0 && h! > 0 && Number.isFinite(w! * h!));
    // More clusters than distinct sizes: every anchor still lies on a box size.
    const dup = kmeansAnchors([5, 5, 5, 5, 5, 5, 9, 9], 3, { rng: new Rng(1) });
    assert.equal(dup.length, 3);
    for (const [w] of dup) assert.ok(w === 5 || w === 9);
  });

  test('throws with fewer valid boxes than k', () => {
    assert.throws(() => kmeansAnchors([1, 1, 2, 2, 0, 1], 3, { rng: new Rng(1) }), /at least k=3/);
  });
});

describe('evolveAnchors', () => {
  test('never lowers fitness and is deterministic for a seed', () => {
    const wh = clusters(4);
    const start = [
      [5, 5],
      [30, 30],
      [90, 90],
    ];
    const f0 = anchorFitness(wh, start).fitness;
    const a = evolveAnchors(wh, start, { rng: new Rng(11), generations: 300 });
    const b = evolveAnchors(wh, start, { rng: new Rng(11), generations: 300 });
    assert.deepEqual(a, b);
    close(a.initialFitness, f0, 1e-12);
    assert.ok(a.fitness > f0, `fitness ${a.fitness} should improve on ${f0}`);
    close(anchorFitness(wh, a.anchors).fitness, a.fitness, 1e-9);
    // Starting from the evolved anchors it can only stay or improve.
    const c = evolveAnchors(wh, a.anchors, { rng: new Rng(12), generations: 100 });
    assert.ok(c.fitness >= a.fitness);
    const other = evolveAnchors(wh, start, { rng: new Rng(99), generations: 300 });
    assert.ok(other.fitness >= f0);
  });
});

describe('autoAnchor', () => {
  const levels = (flat: number[][]): Array<Array<[number, number]>> =>
    [0, 1, 2].map((l) => flat.slice(3 * l, 3 * l + 3).map((a) => [a[0]!, a[1]!] as [number, number]));

  test('leaves good anchors unchanged', () => {
    const wh = clusters(5);
    const good = levels([
      [8, 11],
      [10, 14],
      [12, 17],
      [50, 33],
      [60, 40],
      [72, 48],
      [170, 210],
      [200, 250],
      [240, 300],
    ]);
    const r = autoAnchor(wh, good, { rng: new Rng(1), generations: 100 });
    assert.ok(r.before.bpr >= 0.98);
    assert.equal(r.changed, false);
    assert.equal(r.recomputed, false);
    assert.deepEqual(r.anchors, good);
    assert.deepEqual(r.after, r.before);
    assert.equal(r.ignored, 0);
  });

  test('improves bad anchors and reports before/after', () => {
    const wh = Float32Array.from([...clusters(6), 0, 10]);
    const bad = levels([
      [3, 3],
      [3, 4],
      [4, 3],
      [4, 4],
      [5, 4],
      [4, 5],
      [5, 5],
      [6, 5],
      [6, 6],
    ]);
    const r = autoAnchor(wh, bad, { rng: new Rng(2), generations: 300 });
    assert.ok(r.before.bpr < 0.98, `before bpr ${r.before.bpr}`);
    assert.equal(r.recomputed, true);
    assert.equal(r.changed, true);
    assert.ok(r.after.bpr > r.before.bpr, `bpr ${r.before.bpr} → ${r.after.bpr}`);
    assert.ok(r.after.bpr >= 0.98);
    assert.ok(r.after.fitness > r.before.fitness);
    assert.equal(r.ignored, 1);
    assert.equal(r.before.ignored, 1);
    // Same shape, sorted small → large across levels.
    assert.deepEqual(
      r.anchors.map((l) => l.length),
      [3, 3, 3],
    );
    const areas = r.anchors.flat().map(([w, h]) => w * h);
    assert.deepEqual(
      [...areas].sort((a, b) => a - b),
      areas,
    );
    const again = autoAnchor(wh, bad, { rng: new Rng(2), generations: 300 });
    assert.deepEqual(again, r);
  });

  test('keeps the current anchors without enough boxes to re-estimate', () => {
    const bad = levels([
      [3, 3],
      [3, 4],
      [4, 3],
      [4, 4],
      [5, 4],
      [4, 5],
      [5, 5],
      [6, 5],
      [6, 6],
    ]);
    const r = autoAnchor([100, 100, 200, 200], bad, { rng: new Rng(1) });
    assert.equal(r.changed, false);
    assert.deepEqual(r.anchors, bad);
  });
});
