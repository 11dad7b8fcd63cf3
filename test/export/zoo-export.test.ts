/**
 * Every zoo model, folded and not, exported to ONNX (run by ONNX Runtime) and
 * to a TF.js graph model (run by tfjs-converter), computes what the tfjs model
 * computes on real image content: boxes within 1e-4 of the largest box value,
 * scores within 1e-4 (the export gate's measure and default tolerance). Small
 * image size (64 px) and 3 classes keep it cheap; implicit tensors and batch-norm
 * statistics are moved far from their initial values first, so the folds matter.
 *
 * The folded ONNX graph has no per-channel constant Add or Mul directly after a
 * Conv: biases (and implicit multiplications) live inside the convolutions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { compareDecodedRows } from '../../src/export/check-export.js';
import { exportOnnx } from '../../src/export/onnx/index.js';
import { decodeModel, type ModelProto } from '../../src/export/onnx/schema.js';
import { OnnxDetector } from '../../src/export/onnx-runtime.js';
import { exportTfjs, TFJS_MODEL_JSON } from '../../src/export/tfjs/index.js';
import { listZoo } from '../../src/models/zoo.js';
import { tmp } from '../helpers/tmp.js';
import { NAMES, shapesImages, smallConfig, testModel, tfjsRows } from './onnx-helpers.js';

const S = 64;
const NO = 5 + NAMES.length;
const TOL = 1e-4;
let dir = '';
let x: Float32Array = new Float32Array(0);

before(async () => {
  await initBackend('wasm');
  dir = tmp('zoo-export');
  x = shapesImages(1, S);
});

/**
 * Conv nodes whose output goes straight, and only, into an Add or Mul with a constant: the pairs an exporter
 * folds. (A Conv output read by several nodes stays: the BiFPN's lateral convs feed two fusion nodes, each
 * weighting it with its own scalar, which one Conv cannot carry.)
 */
function convAffinePairs(model: ModelProto): string[] {
  const g = model.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name!));
  const readers = new Map<string, string[]>();
  for (const n of g.node ?? []) for (const i of n.input ?? []) readers.set(i, [...(readers.get(i) ?? []), n.op_type!]);
  const out: string[] = [];
  for (const conv of g.node ?? []) {
    if (conv.op_type !== 'Conv') continue;
    const y = conv.output![0]!;
    if ((readers.get(y) ?? []).length !== 1) continue;
    for (const n of g.node ?? []) {
      if ((n.op_type === 'Add' || n.op_type === 'Mul') && n.input!.includes(y) && n.input!.some((i) => i !== y && inits.has(i))) {
        out.push(`${conv.name} → ${n.op_type} ${n.name}`);
      }
    }
  }
  return out;
}

for (const name of listZoo().map((c) => c.name)) {
  test(`${name}: ONNX and TF.js exports, folded and not, match the tfjs model; no constant Add/Mul after a Conv`, async (t) => {
    const model = testModel(smallConfig(name));
    try {
      const ref = tfjsRows(model, x, 1, S);
      for (const fuse of [true, false]) {
        const file = join(dir, `${name}-${fuse}.onnx`);
        await exportOnnx(model, file, { imgsz: S, fuse });
        const proto = decodeModel(readFileSync(file));
        if (fuse) {
          assert.deepEqual(convAffinePairs(proto), [], `${name}: constant ops left after a Conv in the folded export`);
          const ops = proto.graph!.node!.map((n) => n.op_type);
          assert.ok(!ops.includes('BatchNormalization'), `${name}: batch norm left in the folded export`);
        }
        const det = await OnnxDetector.load(file, { threads: 1 });
        try {
          const d = compareDecodedRows((await det.run(x, 1)).rows, ref, NO, NAMES);
          t.diagnostic(`onnx ${fuse ? 'folded' : 'unfolded'}: box ${d.box.toExponential(2)}, score ${d.score.toExponential(2)}`);
          assert.ok(d.box <= TOL && d.score <= TOL, `${name} onnx (${fuse ? 'folded' : 'not folded'}): ${JSON.stringify(d)}`);
        } finally {
          await det.dispose();
        }
        const web = join(dir, `${name}-${fuse}_web_model`);
        await exportTfjs(model, web, { imgsz: S, fuse });
        const graph = await tfjs.loadGraphModel(`file://${join(web, TFJS_MODEL_JSON)}`);
        const input = tf.tensor4d(x, [1, S, S, 3]);
        const out = graph.execute(input) as tf.Tensor;
        const d = compareDecodedRows(out.dataSync(), ref, NO, NAMES);
        tf.dispose([input, out]);
        graph.dispose();
        t.diagnostic(`tfjs ${fuse ? 'folded' : 'unfolded'}: box ${d.box.toExponential(2)}, score ${d.score.toExponential(2)}`);
        assert.ok(d.box <= TOL && d.score <= TOL, `${name} tfjs (${fuse ? 'folded' : 'not folded'}): ${JSON.stringify(d)}`);
      }
    } finally {
      model.dispose();
    }
  });
}
