import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CocoFormatError, loadCocoDetections, loadCocoGt, parseCocoDetections, parseCocoGt } from '../../src/eval/coco-json.js';

const GT = {
  images: [{ id: 1 }, { id: 2 }],
  categories: [
    { id: 1, name: 'cat' },
    { id: 5, name: 'dog' },
  ],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 20], area: 150, iscrowd: 0 },
    { id: 2, image_id: 2, category_id: 5, bbox: [5, 5, 4, 3] },
  ],
};

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CocoFormatError, `a CocoFormatError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

describe('malformed JSON', () => {
  // The parser itself is io/json.ts's (test/io/json.test.ts); here, that its errors are the COCO reader's.
  test('is a CocoFormatError with file:line:column, in ground truth and in detections', () => {
    rejects(() => parseCocoGt('{\n  "images": [1, 2,,]\n}', 'gt.json'), /^gt\.json:2:19: malformed JSON: unexpected character ","$/);
    rejects(() => parseCocoDetections('[{"image_id": 1}\n{"image_id": 2}]', 'dt.json'), /^dt\.json:2:1: malformed JSON: expected ',' or '\]'/);
  });

  test('a UTF-8 BOM is accepted', () => {
    assert.deepEqual(parseCocoDetections('\uFEFF[]', 'x.json'), []);
  });
});

describe('ground truth', () => {
  test('reads images, categories and annotations; missing area is w*h, missing iscrowd is 0', () => {
    const gt = parseCocoGt(JSON.stringify(GT), 'gt.json');
    assert.equal(gt.annotations[0]!.area, 150);
    assert.equal(gt.annotations[1]!.area, 12);
    assert.equal(gt.annotations[1]!.iscrowd, 0);
    assert.deepEqual(
      gt.categories.map((c) => c.name),
      ['cat', 'dog'],
    );
  });

  test('names the missing section, index and field', () => {
    rejects(
      () => parseCocoGt(JSON.stringify({ images: [], categories: [] }), 'gt.json'),
      /^gt\.json: not a COCO instances file: missing 'annotations' array$/,
    );
    const noBbox = { ...GT, annotations: [GT.annotations[0], { id: 3, image_id: 1, category_id: 1 }] };
    rejects(() => parseCocoGt(JSON.stringify(noBbox), 'gt.json'), /^gt\.json: annotations\[1\]: missing field 'bbox'$/);
    const badImg = { ...GT, images: [{ id: 1 }, { file_name: 'x.jpg' }] };
    rejects(() => parseCocoGt(JSON.stringify(badImg), 'gt.json'), /^gt\.json: images\[1\]: missing field 'id'$/);
    const negative = { ...GT, annotations: [{ image_id: 1, category_id: 1, bbox: [0, 0, 5, -1] }] };
    rejects(() => parseCocoGt(JSON.stringify(negative), 'gt.json'), /^gt\.json: annotations\[0\]: bbox has a negative width or height/);
    rejects(() => parseCocoGt('[]', 'gt.json'), /^gt\.json: expected a COCO instances object.*results file/);
  });
});

describe('detections', () => {
  const gt = parseCocoGt(JSON.stringify(GT), 'gt.json');

  test('reads a results list', () => {
    const dt = parseCocoDetections(JSON.stringify([{ image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], score: 0.5, extra: 'ok' }]), 'dt.json', gt);
    assert.deepEqual(dt, [{ image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], score: 0.5 }]);
  });

  test('unknown image_id: the count and the first few ids', () => {
    const dets = [1, 99, 99, 100, 101, 102, 103, 104].map((image_id) => ({ image_id, category_id: 1, bbox: [0, 0, 1, 1], score: 0.1 }));
    rejects(
      () => parseCocoDetections(JSON.stringify(dets), 'dt.json', gt),
      /^dt\.json: 7 detections refer to image_id values that are not in the ground truth's images: 99, 100, 101, 102, 103, \.\.\. \(6 distinct\)$/,
    );
  });

  test('unknown category_id', () => {
    const dets = [{ image_id: 1, category_id: 2, bbox: [0, 0, 1, 1], score: 0.1 }];
    rejects(
      () => parseCocoDetections(JSON.stringify(dets), 'dt.json', gt),
      /^dt\.json: 1 detection refers to category_id values that are not in the ground truth's categories: 2$/,
    );
  });

  test('negative width or height names the index', () => {
    const dets = [
      { image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: 0.1 },
      { image_id: 1, category_id: 1, bbox: [10, 10, -5, 3], score: 0.2 },
    ];
    rejects(
      () => parseCocoDetections(JSON.stringify(dets), 'dt.json', gt),
      /^dt\.json: detection \[1\]: bbox has a negative width or height: \[10,10,-5,3\]/,
    );
  });

  test('missing or mistyped fields name the index and the field', () => {
    rejects(
      () => parseCocoDetections(JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }]), 'dt.json'),
      /^dt\.json: detection \[0\]: missing field 'score'$/,
    );
    rejects(
      () => parseCocoDetections(JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }]), 'dt.json'),
      /^dt\.json: detection \[0\]: field 'bbox' must be \[x, y, width, height\]/,
    );
    rejects(
      () => parseCocoDetections(JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: '0.5' }]), 'dt.json'),
      /detection \[0\]: field 'score' must be a finite number, got "0\.5"/,
    );
    rejects(() => parseCocoDetections(JSON.stringify(GT), 'dt.json'), /^dt\.json: expected a JSON array of detections.*ground-truth file/);
  });
});

describe('loading files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coco-json-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('errors carry the path; missing files are reported plainly', async () => {
    const gtPath = join(dir, 'gt.json');
    await writeFile(gtPath, JSON.stringify(GT));
    const gt = await loadCocoGt(gtPath);
    assert.equal(gt.images.length, 2);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[\n  {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}\n  {"image_id": 2}\n]');
    await assert.rejects(
      loadCocoDetections(bad, gt),
      (e: Error) => e.message === `${bad}:3:3: malformed JSON: expected ',' or ']' after an array element`,
    );
    await assert.rejects(loadCocoGt(join(dir, 'nope.json')), /nope\.json: no such file$/);
  });
});
