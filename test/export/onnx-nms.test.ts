/**
 * In-graph NMS (`nms` output [K, 7]) equals our own `postprocessBatch` on the
 * same decoded rows (ONNX Runtime's `detections` output), up to ordering among
 * equal scores: per image, class-aware, multi-label, conf/iou thresholds, the
 * maxDet cap per image; with a dynamic and a fixed batch; and an empty result.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { exportOnnx } from '../../src/export/onnx/index.js';
import { OnnxDetector } from '../../src/export/onnx-runtime.js';
import type { Detector } from '../../src/models/detector.js';
import { postprocessBatch } from '../../src/tasks/detect/nms.js';
import { tmp } from '../helpers/tmp.js';
import { NAMES, shapesImages, smallConfig, testModel, tfjsRows } from './onnx-helpers.js';

const S = 64;
const NC = NAMES.length;
const NO = 5 + NC;
let dir = '';
let model: Detector;

before(async () => {
  await initBackend('wasm');
  dir = tmp('onnx-nms');
  model = testModel(smallConfig('yolor-n'), 5);
});

/** A conf threshold that leaves about `n` (row, class) candidates over the images. */
function confFor(rows: Float32Array, n: number): number {
  const scores: number[] = [];
  for (let r = 0; r < rows.length / NO; r++) for (let c = 0; c < NC; c++) scores.push(rows[r * NO + 4]! * rows[r * NO + 5 + c]!);
  scores.sort((a, b) => b - a);
  return Math.fround(scores[Math.min(n, scores.length - 1)]!);
}

type Det = [number, number, number, number, number, number, number];
const order = (a: Det, b: Det): number => a[0] - b[0] || b[5] - a[5] || a[6] - b[6] || a[1] - b[1];

async function check(file: string, x: Float32Array, batch: number, o: { conf: number; iou: number; maxDet: number }): Promise<number> {
  const det = await OnnxDetector.load(file, { threads: 1 });
  try {
    assert.equal(det.hasNms, true);
    const out = await det.run(x, batch);
    const got: Det[] = [];
    for (let k = 0; k < out.nms!.length; k += 7) got.push(Array.from(out.nms!.subarray(k, k + 7)) as Det);
    const want: Det[] = [];
    postprocessBatch(out.rows, batch, NC, { confThres: o.conf, iouThres: o.iou, maxDet: o.maxDet }).forEach((dets, b) => {
      for (const d of dets) want.push([b, ...d.box, d.score, d.cls]);
    });
    // The graph's own order: by image, then descending score.
    for (let k = 1; k < got.length; k++)
      assert.ok(got[k - 1]![0] < got[k]![0] || (got[k - 1]![0] === got[k]![0] && got[k - 1]![5] >= got[k]![5]), 'nms rows ordered');
    got.sort(order);
    want.sort(order);
    assert.equal(got.length, want.length, `${file}: ${got.length} detections vs ${want.length}`);
    got.forEach((g, k) => {
      const w = want[k]!;
      assert.equal(g[0], w[0]);
      assert.equal(g[6], w[6]);
      assert.ok(Math.abs(g[5] - w[5]) <= 1e-6, `score ${g[5]} vs ${w[5]}`);
      for (let i = 1; i <= 4; i++) assert.ok(Math.abs(g[i]! - w[i]!) <= 1e-4, `box ${g} vs ${w}`);
    });
    for (let b = 0; b < batch; b++) assert.ok(got.filter((g) => g[0] === b).length <= o.maxDet);
    return got.length;
  } finally {
    await det.dispose();
  }
}

test('NMS in the graph equals postprocess: dynamic batch, run at batch 2 and 1', async () => {
  const x = shapesImages(2, S, 40);
  const conf = confFor(tfjsRows(model, x, 2, S), 150);
  const o = { conf, iou: 0.45, maxDet: 300 };
  const file = join(dir, 'nms-dynamic.onnx');
  const r = await exportOnnx(model, file, { imgsz: S, dynamicBatch: true, nms: o });
  assert.deepEqual(r.meta.outputs, ['detections', 'nms']);
  assert.deepEqual(r.meta.nms, o);
  const n2 = await check(file, x, 2, o);
  console.log(`# nms: ${n2} detections over 2 images match postprocess`);
  assert.ok(n2 > 10, `only ${n2} detections: the check would be weak`);
  await check(file, x.subarray(S * S * 3), 1, o);
});

test('NMS maxDet caps each image (fixed batch 2)', async () => {
  const x = shapesImages(2, S, 50);
  const o = { conf: confFor(tfjsRows(model, x, 2, S), 200), iou: 0.5, maxDet: 4 };
  const file = join(dir, 'nms-cap.onnx');
  await exportOnnx(model, file, { imgsz: S, batch: 2, nms: o });
  assert.equal(await check(file, x, 2, o), 8);
});

test('NMS with nothing above the threshold gives an empty [0, 7] output', async () => {
  const x = shapesImages(1, S, 60);
  const o = { conf: 0.99999, iou: 0.45, maxDet: 100 };
  const file = join(dir, 'nms-empty.onnx');
  await exportOnnx(model, file, { imgsz: S, nms: o });
  assert.equal(await check(file, x, 1, o), 0);
});

test('NMS options are validated', async () => {
  await assert.rejects(exportOnnx(model, join(dir, 'bad.onnx'), { imgsz: S, nms: { conf: 2, iou: 0.5, maxDet: 10 } }), /nms\.conf/);
  await assert.rejects(exportOnnx(model, join(dir, 'bad.onnx'), { imgsz: S, nms: { conf: 0.5, iou: 0.5, maxDet: 0 } }), /nms\.maxDet/);
  await assert.rejects(exportOnnx(model, join(dir, 'bad.onnx'), { imgsz: S, raw: true, nms: { conf: 0.5, iou: 0.5, maxDet: 3 } }), /raw/);
});
