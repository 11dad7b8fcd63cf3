import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateVoc, iouXyxy, type VocDetection, type VocGroundTruth, vocAllPointAp } from '../../src/eval/voc.js';

function close(a: number, b: number, what = ''): void {
  assert.ok(Math.abs(a - b) < 1e-12, `${what} expected ${b}, got ${a}`);
}

describe('VOC all-point AP', () => {
  test('area under the precision envelope', () => {
    // mrec [0, .5, 1, 1], mpre [0, 1, .5, 0] -> envelope [1, 1, .5, 0]: .5 * 1 + .5 * .5
    close(vocAllPointAp([0.5, 1], [1, 0.5]), 0.75);
    // A dip is filled from the right: precision 1, 0.5, 2/3 at recall 1/2, 1/2, 1 -> 1/2 * 1 + 1/2 * 2/3
    close(vocAllPointAp([0.5, 0.5, 1], [1, 0.5, 2 / 3]), 0.5 + 1 / 3);
    close(vocAllPointAp([], []), 0);
  });

  test('continuous coordinates, no +1', () => {
    close(iouXyxy([0, 0, 10, 10], 0, [5, 0, 15, 10], 0), 50 / 150);
    assert.equal(iouXyxy([0, 0, 10, 10], 0, [10, 0, 20, 10], 0), 0, 'touching boxes do not overlap');
  });
});

describe('evaluateVoc', () => {
  const box = (x: number, y: number): [number, number, number, number] => [x, y, x + 40, y + 40];
  const gts: VocGroundTruth[] = [
    { imageId: 'a', classId: 'dog', box: box(0, 0) }, // g1
    { imageId: 'a', classId: 'dog', box: box(100, 0) }, // g2
    { imageId: 'b', classId: 'dog', box: box(0, 0) }, // g3, never found
    { imageId: 'b', classId: 'dog', box: box(200, 200), difficult: true },
  ];
  const dets: VocDetection[] = [
    { imageId: 'a', classId: 'dog', box: box(0, 0), score: 0.9 }, // TP g1
    { imageId: 'a', classId: 'dog', box: box(300, 300), score: 0.8 }, // FP
    { imageId: 'b', classId: 'dog', box: box(200, 200), score: 0.7 }, // on the difficult box: neither
    { imageId: 'a', classId: 'dog', box: box(100, 0), score: 0.6 }, // TP g2
    { imageId: 'a', classId: 'dog', box: box(1, 1), score: 0.5 }, // duplicate of g1: FP
  ];

  test('hand-computed example with a difficult object and a duplicate', () => {
    const r = evaluateVoc(gts, dets);
    const dog = r.perClass.find((c) => c.classId === 'dog')!;
    assert.equal(dog.npos, 3, 'difficult objects are not counted');
    assert.equal(dog.tp, 2);
    assert.equal(dog.fp, 2, 'the detection on the difficult box is not a false positive');
    // recall 1/3, 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 1/2, 2/3, 1/2
    // -> AP = 1/3 * 1 + 1/3 * 2/3 = 5/9
    close(dog.ap, 5 / 9, 'AP');
    close(r.mAP, 5 / 9, 'mAP');
    assert.deepEqual(Array.from(dog.precision), [1, 0.5, 0.5, 2 / 3, 0.5]);
  });

  test('without the difficult flag the same detection is a true positive', () => {
    const plain = gts.map((g) => ({ ...g, difficult: false }));
    const dog = evaluateVoc(plain, dets).perClass[0]!;
    assert.equal(dog.npos, 4);
    assert.equal(dog.tp, 3);
    // recall 1/4, 1/4, 2/4, 3/4, 3/4; precision 1, 1/2, 2/3, 3/4, 3/5 -> envelope 1, 3/4, 3/4, 3/4
    close(dog.ap, 0.25 * 1 + 0.25 * 0.75 + 0.25 * 0.75, 'AP');
  });

  test('IoU of exactly 0.5 counts; classes without ground truth are -1 and left out of the mean', () => {
    const r = evaluateVoc(
      [{ imageId: 1, classId: 0, box: [0, 0, 100, 100] }],
      [
        { imageId: 1, classId: 0, box: [0, 0, 100, 50], score: 0.9 }, // IoU 0.5
        { imageId: 1, classId: 1, box: [0, 0, 100, 100], score: 0.9 },
      ],
    );
    assert.equal(r.perClass[0]!.ap, 1);
    assert.equal(r.perClass[1]!.ap, -1);
    assert.equal(r.mAP, 1);
    const below = evaluateVoc([{ imageId: 1, classId: 0, box: [0, 0, 100, 100] }], [{ imageId: 1, classId: 0, box: [0, 0, 100, 49.9], score: 0.9 }]);
    assert.equal(below.perClass[0]!.ap, 0);
  });
});
