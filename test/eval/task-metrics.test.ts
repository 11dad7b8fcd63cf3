import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { multiLabelAP, multiLabelF1 } from '../../src/eval/multilabel-metrics.js';
import { retrievalMetrics } from '../../src/eval/retrieval-metrics.js';
import { SegmentationConfusion } from '../../src/eval/segmentation-metrics.js';
import { Rng } from '../../src/util/rng.js';

function close(a: number, b: number, what = ''): void {
  assert.ok(Math.abs(a - b) < 1e-12, `${what} expected ${b}, got ${a}`);
}

/** Column-major label lists -> row-major [n, numLabels] Float32Array. */
function table(columns: number[][]): Float32Array {
  const n = columns[0].length;
  const out = new Float32Array(n * columns.length);
  columns.forEach((col, c) => {
    col.forEach((v, i) => {
      out[i * columns.length + c] = v;
    });
  });
  return out;
}

describe('multiLabelAP', () => {
  test('sklearn example, perfect ranking, label without positives', () => {
    const scores = table([
      [0.1, 0.4, 0.35, 0.8], // sklearn docs: AP 0.8333...
      [0.9, 0.8, 0.2, 0.1], // perfect ranking: AP 1
      [0.3, 0.2, 0.9, 0.5], // no positives: NaN
    ]);
    const targets = table([
      [0, 0, 1, 1],
      [1, 1, 0, 0],
      [0, 0, 0, 0],
    ]);
    const { ap, mAP } = multiLabelAP(scores, targets, 4, 3);
    // Label 0, ranked 0.8(+) 0.4(-) 0.35(+) 0.1(-): P/R = 1/.5, .5/.5, 2/3/1, .5/1
    // -> .5 * 1 + .5 * 2/3 = 5/6.
    close(ap[0], 5 / 6, 'sklearn example');
    close(ap[1], 1, 'perfect');
    assert.ok(Number.isNaN(ap[2]));
    close(mAP, (5 / 6 + 1) / 2, 'mAP leaves out the NaN label');
  });

  test('tied scores form one threshold', () => {
    // Scores .5(+) .5(-) .5(+) .1(-): one threshold at .5 with TP 2, FP 1 -> P 2/3, R 1.
    // AP = 2/3 (ranking the ties by index would give (1 + 2/3) / 2 = 5/6).
    const r1 = multiLabelAP(table([[0.5, 0.5, 0.5, 0.1]]), table([[1, 0, 1, 0]]), 4, 1);
    close(r1.ap[0], 2 / 3);
    // .9(-) then .5(+) .5(+): thresholds (P 0, R 0), (P 2/3, R 1) -> AP 2/3.
    const r2 = multiLabelAP(table([[0.9, 0.5, 0.5]]), table([[0, 1, 1]]), 3, 1);
    close(r2.ap[0], 2 / 3);
    // All tied: AP = prevalence.
    close(multiLabelAP(table([[0.3, 0.3, 0.3, 0.3]]), table([[1, 0, 0, 0]]), 4, 1).ap[0], 1 / 4);
  });

  test("without ties, AP is the mean precision at the positives' ranks", () => {
    const rng = new Rng(7);
    const n = 50;
    const L = 3;
    const scores = new Float32Array(n * L);
    const targets = new Float32Array(n * L);
    for (let i = 0; i < n * L; i++) {
      scores[i] = (i + 1) / (n * L + 1); // distinct
      targets[i] = rng.next() < 0.3 ? 1 : 0;
    }
    // Shuffle scores within each label so the ranking is random.
    for (let c = 0; c < L; c++) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i);
        const t = scores[i * L + c];
        scores[i * L + c] = scores[j * L + c];
        scores[j * L + c] = t;
      }
    }
    const { ap } = multiLabelAP(scores, targets, n, L);
    for (let c = 0; c < L; c++) {
      const idx = [...Array(n).keys()].sort((a, b) => scores[b * L + c] - scores[a * L + c]);
      let tp = 0;
      let sum = 0;
      idx.forEach((i, r) => {
        if (targets[i * L + c] === 1) {
          tp++;
          sum += tp / (r + 1);
        }
      });
      close(ap[c], sum / tp, `label ${c}`);
    }
  });

  test('no label with positives -> mAP NaN; shape errors', () => {
    assert.ok(Number.isNaN(multiLabelAP(table([[0.2, 0.7]]), table([[0, 0]]), 2, 1).mAP));
    assert.throws(() => multiLabelAP(new Float32Array(5), new Float32Array(6), 2, 3), /n \* numLabels = 6/);
  });
});

describe('multiLabelF1', () => {
  test('micro and macro on a small table', () => {
    const scores = table([
      [0.9, 0.6, 0.4, 0.1], // targets 1 0 1 0 -> TP 1, FP 1, FN 1, F1 1/2
      [0.7, 0.5, 0.2, 0.3], // targets 1 1 0 0 -> TP 2 (0.5 >= 0.5), F1 1
      [0.1, 0.2, 0.3, 0.9], // targets 0 0 0 0 -> FP 1, F1 0 (counted)
      [0.1, 0.1, 0.1, 0.1], // targets 0 0 0 0, no predictions -> left out of macro
    ]);
    const targets = table([
      [1, 0, 1, 0],
      [1, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    const r = multiLabelF1(scores, targets, 4, 4);
    // Summed: TP 3, FP 2, FN 1 -> P 3/5, R 3/4, F1 6/9.
    close(r.precision, 3 / 5, 'precision');
    close(r.recall, 3 / 4, 'recall');
    close(r.f1Micro, 2 / 3, 'micro');
    close(r.f1Macro, (0.5 + 1 + 0) / 3, 'macro');
    // A higher threshold: label 0 TP 1 FN 1; label 1 TP 1 (0.7) FN 1; label 2 FP 1 (0.9).
    const h = multiLabelF1(scores, targets, 4, 4, 0.65);
    close(h.precision, 2 / 3);
    close(h.recall, 2 / 4);
    close(h.f1Micro, 4 / 7);
    close(h.f1Macro, (2 / 3 + 2 / 3 + 0) / 3);
  });

  test('undefined ratios are NaN', () => {
    const none = multiLabelF1(table([[0.1, 0.2]]), table([[0, 0]]), 2, 1);
    assert.ok(Number.isNaN(none.f1Micro) && Number.isNaN(none.f1Macro));
    assert.ok(Number.isNaN(none.precision) && Number.isNaN(none.recall));
    // Positives but no predictions: precision undefined, recall and F1 0.
    const missed = multiLabelF1(table([[0.1, 0.2]]), table([[1, 0]]), 2, 1);
    assert.ok(Number.isNaN(missed.precision));
    assert.equal(missed.recall, 0);
    assert.equal(missed.f1Micro, 0);
    assert.equal(missed.f1Macro, 0);
  });
});

describe('SegmentationConfusion', () => {
  // 2 x 3 image, classes 0..3 (3 never appears):
  //   target 0 0 1     pred 0 1 1
  //          1 2 255        1 2 0   (the 255 pixel is ignored)
  // matrix[t][p]: [0][0] 1, [0][1] 1, [1][1] 2, [2][2] 1.
  // IoU0 = 1 / (2 + 1 - 1) = 1/2, IoU1 = 2 / (2 + 3 - 2) = 2/3, IoU2 = 1, IoU3 NaN.
  const target = [0, 0, 1, 1, 2, 255];
  const pred = [0, 1, 1, 1, 2, 0];

  test('known IoUs, mIoU, pixel accuracy, ignore index', () => {
    const cm = new SegmentationConfusion(4);
    cm.add(pred, target);
    const m = cm.matrix;
    assert.deepEqual([...m], [1, 1, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    const iou = cm.iou();
    close(iou[0], 1 / 2);
    close(iou[1], 2 / 3);
    close(iou[2], 1);
    assert.ok(Number.isNaN(iou[3]));
    close(cm.mIoU(), (1 / 2 + 2 / 3 + 1) / 3, 'mIoU over classes present (background included)');
    close(cm.pixelAccuracy(), 4 / 5);
    // matrix is a copy.
    m[0] = 99;
    assert.equal(cm.matrix[0], 1);
    // Accumulates; a custom ignore index.
    cm.add(Uint8Array.from([3, 3]), Uint8Array.from([3, 9]), 9);
    close(cm.iou()[3], 1);
    close(cm.pixelAccuracy(), 5 / 6);
  });

  test('empty matrix: NaN everywhere', () => {
    const cm = new SegmentationConfusion(2);
    assert.ok(Number.isNaN(cm.mIoU()) && Number.isNaN(cm.pixelAccuracy()));
    assert.ok(cm.iou().every(Number.isNaN));
  });

  test('out-of-range values throw and leave the matrix unchanged', () => {
    const cm = new SegmentationConfusion(3);
    assert.throws(() => cm.add([0, 1], [0, 7]), /target value 7/);
    assert.throws(() => cm.add([0, 5], [0, 1]), /pred value 5/);
    assert.throws(() => cm.add([0, -1], [0, 1]), /pred value -1/);
    assert.throws(() => cm.add([255], [1]), /pred value 255/, 'a predicted ignore index on a counted pixel');
    assert.throws(() => cm.add([0], [0, 1]), /same length/);
    assert.throws(() => new SegmentationConfusion(0));
    assert.ok(cm.matrix.every((v) => v === 0));
    // Any prediction is fine on an ignored pixel.
    cm.add([42], [255]);
    assert.ok(Number.isNaN(cm.pixelAccuracy()));
  });
});

/** Row-major [n, 2] embeddings from angles in degrees (unit vectors). */
function fromAngles(deg: number[]): Float32Array {
  const out = new Float32Array(deg.length * 2);
  deg.forEach((a, i) => {
    out[2 * i] = Math.cos((a * Math.PI) / 180);
    out[2 * i + 1] = Math.sin((a * Math.PI) / 180);
  });
  return out;
}

const i32 = (a: number[]): Int32Array => Int32Array.from(a);

describe('retrievalMetrics', () => {
  test('perfect retrieval: top1 = mAP = 1', () => {
    const emb = Float32Array.from([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]);
    const r = retrievalMetrics(emb, 2, i32([0, 0, 1, 1]), i32([0, 1, 0, 1]));
    assert.deepEqual(r, { top1: 1, mAP: 1, queries: 4 });
  });

  test('hand-computed mAP', () => {
    // Query 0 (image 0, id 0, angle 0). Image 1 holds, by decreasing similarity:
    //   1: id 1 (10 deg), 2: id 0 (20), 3: id 2 (30), 4: id 0 (40), 5: id 0 (50).
    // Query 0: relevant at ranks 2, 4, 5 -> AP = (1/2 + 2/4 + 3/5) / 3 = 1.6 / 3; top1 miss.
    // Queries 2, 4, 5: gallery is image 0 = {0}, same id -> AP 1, top1 hit.
    // Queries 1, 3: ids 1, 2 occur nowhere else -> not counted.
    // mAP = (1.6/3 + 3) / 4 = 53/60, top1 = 3/4.
    const r = retrievalMetrics(fromAngles([0, 10, 20, 30, 40, 50]), 2, i32([0, 1, 0, 2, 0, 0]), i32([0, 1, 1, 1, 1, 1]));
    assert.equal(r.queries, 4);
    close(r.top1, 3 / 4);
    close(r.mAP, 53 / 60);
  });

  test('items from the same image are not in the gallery', () => {
    // 0 and 1: image 0, id 0, identical (would retrieve each other).
    // 2: image 1, id 1, close to them; 3: image 1, id 0, orthogonal.
    // Queries 0 and 1: gallery {2, 3} -> top1 is id 1 (miss), relevant at rank 2 -> AP 1/2.
    // Query 3: gallery {0, 1}, both id 0 -> AP 1, hit. Query 2 (id 1): no positive, not counted.
    const emb = Float32Array.from([1, 0, 1, 0, 1, 0.1, 0, 1]);
    const r = retrievalMetrics(emb, 2, i32([0, 0, 1, 0]), i32([0, 0, 1, 1]));
    assert.equal(r.queries, 3);
    close(r.top1, 1 / 3);
    close(r.mAP, (0.5 + 0.5 + 1) / 3);
  });

  test('unlabelled items and queries without positives are left out', () => {
    // 1 is unlabelled and identical to query 0 but is never in a gallery; 3 (id 5) is alone.
    const emb = Float32Array.from([1, 0, 1, 0, 1, 1, 0, 1]);
    const r = retrievalMetrics(emb, 2, i32([0, -1, 0, 5]), i32([0, 1, 1, 1]));
    assert.deepEqual(r, { top1: 1, mAP: 1, queries: 2 });
    const none = retrievalMetrics(emb, 2, i32([0, 1, 2, -1]), i32([0, 1, 1, 1]));
    assert.ok(Number.isNaN(none.top1) && Number.isNaN(none.mAP));
    assert.equal(none.queries, 0);
    const empty = retrievalMetrics(new Float32Array(0), 4, i32([]), i32([]));
    assert.equal(empty.queries, 0);
  });

  test('zero vectors have similarity 0; ties go to the lower index', () => {
    // Query 0 is a zero vector: both gallery items (image 1) tie at 0 -> item 1 (id 1) first:
    // miss, relevant item 2 at rank 2 -> AP 1/2. Query 2: gallery {0} -> AP 1, hit.
    const r = retrievalMetrics(Float32Array.from([0, 0, 1, 0, 0, 1]), 2, i32([0, 1, 0]), i32([0, 1, 1]));
    assert.equal(r.queries, 2);
    close(r.top1, 1 / 2);
    close(r.mAP, 3 / 4);
    // A zero gallery item (similarity 0) ranks above an opposite one (similarity -1).
    // Query 0: gallery 1 (id 1, sim -1), 2 (id 0, zero) -> hit, AP 1. Query 2: zero vs 0 -> AP 1.
    const z = retrievalMetrics(Float32Array.from([1, 0, -1, 0, 0, 0]), 2, i32([0, 1, 0]), i32([0, 1, 1]));
    assert.deepEqual(z, { top1: 1, mAP: 1, queries: 2 });
    // Exact tie between a scaled copy (id 1, lower index) and the relevant item: the lower index wins.
    const t = retrievalMetrics(Float32Array.from([1, 0, 2, 0, 1, 0]), 2, i32([0, 1, 0]), i32([0, 1, 1]));
    assert.equal(t.queries, 2);
    close(t.top1, 1 / 2); // query 0 misses, query 2 hits
    close(t.mAP, (1 / 2 + 1) / 2);
  });

  test('matches a brute-force ranking on random data with ties', () => {
    const rng = new Rng(3);
    const n = 80;
    const dim = 3;
    const emb = new Float32Array(n * dim);
    // Small integer coordinates: many duplicate directions, hence exact ties.
    for (let i = 0; i < n * dim; i++) emb[i] = rng.int(-1, 1);
    const ids = Int32Array.from({ length: n }, () => rng.int(-1, 6));
    const grp = Int32Array.from({ length: n }, () => rng.int(0, 9));
    const r = retrievalMetrics(emb, dim, ids, grp);

    const unit = (i: number): number[] => {
      const v = [...emb.subarray(i * dim, i * dim + dim)];
      const ss = v.reduce((s, x) => s + x * x, 0);
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      return v.map((x) => x * inv);
    };
    let count = 0;
    let hits = 0;
    let apSum = 0;
    for (let i = 0; i < n; i++) {
      if (ids[i] < 0) continue;
      const q = unit(i);
      const gal: { j: number; s: number }[] = [];
      for (let j = 0; j < n; j++) {
        if (grp[j] === grp[i] || ids[j] < 0) continue;
        const g = unit(j);
        let s = 0;
        for (let d = 0; d < dim; d++) s += q[d] * g[d];
        gal.push({ j, s });
      }
      gal.sort((a, b) => b.s - a.s || a.j - b.j);
      const rel = gal.filter((x) => ids[x.j] === ids[i]).length;
      if (rel === 0) continue;
      count++;
      if (ids[gal[0].j] === ids[i]) hits++;
      let tp = 0;
      let ap = 0;
      gal.forEach((x, rank) => {
        if (ids[x.j] === ids[i]) ap += ++tp / (rank + 1);
      });
      apSum += ap / rel;
    }
    assert.ok(count > 20, `enough queries (${count})`);
    assert.equal(r.queries, count);
    close(r.top1, hits / count, 'top1');
    close(r.mAP, apSum / count, 'mAP');
  });

  test('random embeddings of many identities give a low mAP', () => {
    const rng = new Rng(11);
    const n = 1000;
    const dim = 32;
    const emb = rng.normalArray(n * dim);
    const ids = Int32Array.from({ length: n }, (_, i) => i % 100);
    const grp = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 25));
    const r = retrievalMetrics(emb, dim, ids, grp);
    assert.equal(r.queries, n);
    assert.ok(r.mAP > 0 && r.mAP < 0.2, `random embeddings give a low mAP (${r.mAP})`);
  });

  test('shape errors', () => {
    assert.throws(() => retrievalMetrics(new Float32Array(5), 2, i32([0, 1, 2]), i32([0, 1, 2])), /expected n \* dim = 6/);
    assert.throws(() => retrievalMetrics(new Float32Array(6), 2, i32([0, 1, 2]), i32([0, 1])), /differ in length/);
  });
});
