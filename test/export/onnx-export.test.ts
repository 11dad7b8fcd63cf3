/**
 * ONNX export, run with ONNX Runtime, against the tfjs model:
 *   - yolor-n, yolor-fpn-n, yolor-bifpn-n (3 classes, implicit tensors and BN
 *     statistics perturbed), folded and not folded, at 64 px on shapes images:
 *     boxes within 1e-4 of the largest box value, scores within 1e-4;
 *   - a dynamic batch (one file at batch 1 and 3; also a model whose folded
 *     graph keeps a batch-shaped constant, traced at batch 2), the NHWC
 *     layout, a fixed batch run in chunks, opset 13;
 *   - the file decodes with our schema (opset ≥ 13, IR version, value infos),
 *     its metadata round-trips, and load/run errors name the file.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/engine/backend.js';
import { exportOnnx, readOnnxMetadata } from '../../src/export/onnx/index.js';
import { decodeModel, encodeModel, type ModelProto, onnxType } from '../../src/export/onnx/schema.js';
import { OnnxDetector } from '../../src/export/onnx-runtime.js';
import { parseModelConfig } from '../../src/models/config.js';
import { tmp } from '../helpers/tmp.js';
import { NAMES, rowDiff, shapesImages, smallConfig, testModel, tfjsRows } from './onnx-helpers.js';

const S = 64;
const NO = 5 + NAMES.length;
let dir = '';

before(async () => {
  await initBackend('wasm');
  dir = tmp('onnx-export');
});

function readModel(path: string): ModelProto {
  return decodeModel(readFileSync(path));
}

for (const name of ['yolor-n', 'yolor-fpn-n', 'yolor-bifpn-n']) {
  for (const fuse of [true, false]) {
    test(`${name} (${fuse ? 'folded' : 'not folded'}): ONNX Runtime matches the tfjs model on shapes images`, async () => {
      const model = testModel(smallConfig(name));
      const path = join(dir, `${name}-${fuse}.onnx`);
      const r = await exportOnnx(model, path, { imgsz: S, batch: 2, fuse });
      assert.equal(r.meta.fused, fuse);
      assert.equal(r.fuseReport === null, !fuse);
      const x = shapesImages(2, S);
      const ref = tfjsRows(model, x, 2, S);
      const det = await OnnxDetector.load(path, { threads: 1 });
      try {
        const out = await det.run(x, 2);
        assert.deepEqual(out.shape, [2, ref.length / 2 / NO, NO]);
        const d = rowDiff(out.rows, ref, NO);
        console.log(`# ${name} ${fuse ? 'fused' : 'unfused'}: box rel diff ${d.box.toExponential(2)}, score abs diff ${d.score.toExponential(2)}`);
        assert.ok(d.box <= 1e-4, `${name}: box relative difference ${d.box}`);
        assert.ok(d.score <= 1e-4, `${name}: score difference ${d.score}`);
        // The layout pass: NCHW throughout, one Transpose back to NHWC per decoder level, no others.
        const nodes = readModel(path).graph!.node!;
        assert.equal(nodes.filter((n) => n.op_type === 'Transpose').length, model.strides.length);
      } finally {
        await det.dispose();
        model.dispose();
      }
    });
  }
}

test('dynamic batch: one file runs at batch 1 and 3', async () => {
  const model = testModel(smallConfig('yolor-n'));
  const path = join(dir, 'dynamic.onnx');
  await exportOnnx(model, path, { imgsz: S, batch: 1, dynamicBatch: true });
  const g = readModel(path).graph!;
  assert.equal(g.input![0]!.type!.tensor_type!.shape!.dim![0]!.dim_param, 'batch');
  assert.equal(g.output![0]!.type!.tensor_type!.shape!.dim![0]!.dim_param, 'batch');
  const det = await OnnxDetector.load(path, { threads: 1 });
  try {
    assert.equal(det.fixedBatch, null);
    for (const b of [1, 3]) {
      const x = shapesImages(b, S, 10);
      const out = await det.run(x, b);
      const d = rowDiff(out.rows, tfjsRows(model, x, b, S), NO);
      assert.ok(d.box <= 1e-4 && d.score <= 1e-4, `batch ${b}: ${JSON.stringify(d)}`);
    }
  } finally {
    await det.dispose();
    model.dispose();
  }
});

test('dynamic batch with a batch-shaped constant (implicit concat kept by the fold), traced at batch 2', async () => {
  const cfg = parseModelConfig(
    {
      name: 't-concat-bifpn',
      nc: 3,
      names: NAMES,
      neck: 'bifpn',
      width_multiple: 0.125,
      bifpn_width: 16,
      bifpn_repeats: 1,
      head_depth: 1,
      implicit: { align: 'concat', refine: true, kind: 'vector' },
    },
    'test',
  );
  const model = testModel(cfg);
  const path = join(dir, 'dynamic-concat.onnx');
  const r = await exportOnnx(model, path, { imgsz: S, batch: 2, dynamicBatch: true });
  assert.ok(
    r.fuseReport!.kept.some((k) => k.includes('constant concat')),
    'the fold keeps a constant concat',
  );
  assert.ok(
    readModel(path).graph!.node!.some((n) => n.op_type === 'Expand'),
    'the constant is expanded to the runtime batch',
  );
  const det = await OnnxDetector.load(path, { threads: 1 });
  try {
    for (const b of [1, 3]) {
      const x = shapesImages(b, S, 20);
      const d = rowDiff((await det.run(x, b)).rows, tfjsRows(model, x, b, S), NO);
      assert.ok(d.box <= 1e-4 && d.score <= 1e-4, `batch ${b}: ${JSON.stringify(d)}`);
    }
  } finally {
    await det.dispose();
    model.dispose();
  }
});

test('NHWC layout; a fixed batch-1 file runs 3 images in chunks; opset 13', async () => {
  const model = testModel(smallConfig('yolor-fpn-n'));
  const path = join(dir, 'nhwc.onnx');
  await exportOnnx(model, path, { imgsz: S, layout: 'NHWC', opset: 13 });
  const m = readModel(path);
  assert.equal(m.opset_import![0]!.version, 13);
  assert.equal(m.ir_version, 7);
  assert.deepEqual(
    m.graph!.input![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value),
    [1, S, S, 3],
  );
  // One Transpose in (to NCHW for the convolutions), one out per decoder level.
  assert.equal(m.graph!.node!.filter((n) => n.op_type === 'Transpose').length, 1 + model.strides.length);
  const det = await OnnxDetector.load(path, { threads: 1 });
  try {
    assert.equal(det.meta.layout, 'NHWC');
    assert.equal(det.fixedBatch, 1);
    const x = shapesImages(3, S, 30);
    const d = rowDiff((await det.run(x, 3)).rows, tfjsRows(model, x, 3, S), NO);
    assert.ok(d.box <= 1e-4 && d.score <= 1e-4, JSON.stringify(d));
  } finally {
    await det.dispose();
    model.dispose();
  }
});

test('the file decodes with the schema: opset ≥ 13, producer, value infos, initializers; metadata round-trips', async () => {
  const model = testModel(smallConfig('yolor-n'));
  const path = join(dir, 'meta.onnx');
  const r = await exportOnnx(model, path, { imgsz: S, producerVersion: '9.9.9' });
  const m = readModel(path);
  assert.ok(m.opset_import!.some((o) => (o.domain ?? '') === '' && o.version! >= 13));
  assert.equal(m.opset_import![0]!.version, 17);
  assert.equal(m.ir_version, 8);
  assert.equal(m.producer_name, 'yolor-ts');
  assert.equal(m.producer_version, '9.9.9');
  const g = m.graph!;
  assert.equal(g.node!.length, r.nodes);
  assert.deepEqual(
    g.input!.map((v) => v.name),
    ['images'],
  );
  assert.deepEqual(
    g.input![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value),
    [1, 3, S, S],
  );
  assert.deepEqual(
    g.output!.map((v) => v.name),
    ['detections'],
  );
  const rows = (S / 8) ** 2 * 3 + (S / 16) ** 2 * 3 + (S / 32) ** 2 * 3;
  assert.deepEqual(
    g.output![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value),
    [1, rows, NO],
  );
  assert.ok(g.initializer!.every((t) => t.raw_data && t.raw_data.length > 0));
  assert.ok(g.node!.every((n) => n.name && n.op_type));

  // Metadata: the yolor JSON and the plain keys.
  const meta = await readOnnxMetadata(path);
  assert.deepEqual(meta, r.meta);
  assert.deepEqual(meta.names, NAMES);
  assert.equal(meta.imgsz, S);
  assert.equal(meta.layout, 'NCHW');
  assert.equal(meta.batch, 1);
  assert.equal(meta.nms, null);
  assert.deepEqual(meta.strides, model.strides);
  const props = Object.fromEntries(m.metadata_props!.map((p) => [p.key, p.value]));
  assert.deepEqual(JSON.parse(props.names!), NAMES);
  assert.equal(props.imgsz, String(S));
  assert.equal(props.stride, String(Math.max(...model.strides)));
  assert.deepEqual(JSON.parse(props.letterbox!), { color: 114, center: true, scaleup: true });
  const det = await OnnxDetector.load(path, { threads: 1 });
  assert.deepEqual(det.meta, r.meta);
  assert.equal(det.hasNms, false);
  // Wrong input size names the file.
  await assert.rejects(det.run(new Float32Array(10), 1), (e: Error) => e.message.includes(path) && /64x64x3/.test(e.message));
  await det.dispose();
  model.dispose();
});

test('field numbers are those of onnx.proto (wire bytes)', () => {
  const model = onnxType('ModelProto');
  const bytes = (m: Record<string, unknown>): number[] => Array.from(model.encode(m).finish());
  assert.deepEqual(bytes({ ir_version: 8 }), [0x08, 8]); // field 1 varint
  assert.deepEqual(bytes({ producer_name: 'a' }), [0x12, 1, 0x61]); // field 2
  assert.deepEqual(bytes({ graph: {} }), [0x3a, 0]); // field 7
  assert.deepEqual(bytes({ opset_import: [{ version: 17 }] }), [0x42, 2, 0x10, 17]); // field 8, version = 2
  assert.deepEqual(bytes({ metadata_props: [{ key: 'k' }] }), [0x72, 3, 0x0a, 1, 0x6b]); // field 14
  const tensor = onnxType('TensorProto');
  // dims (1, not packed), data_type (2), name (8), raw_data (9).
  assert.deepEqual(
    Array.from(tensor.encode({ dims: [2, 3], data_type: 1, name: 'w', raw_data: new Uint8Array([7]) }).finish()),
    [0x08, 2, 0x08, 3, 0x10, 1, 0x42, 1, 0x77, 0x4a, 1, 7],
  );
  // float_data (4) is packed.
  assert.deepEqual(Array.from(tensor.encode({ float_data: [0] }).finish()), [0x22, 4, 0, 0, 0, 0]);
  const attr = onnxType('AttributeProto');
  // name (1), type (20), ints (8, not packed).
  assert.deepEqual(Array.from(attr.encode({ name: 'p', type: 7, ints: [1, 2] }).finish()), [0x0a, 1, 0x70, 0x40, 1, 0x40, 2, 0xa0, 0x01, 7]);
  const dim = onnxType('TensorShapeProto');
  assert.deepEqual(Array.from(dim.encode({ dim: [{ dim_param: 'b' }, { dim_value: 3 }] }).finish()), [0x0a, 3, 0x12, 1, 0x62, 0x0a, 2, 0x08, 3]);
  // A model round-trips.
  const m: ModelProto = {
    ir_version: 8,
    opset_import: [{ domain: 'ai.onnx.ml', version: 3 }],
    producer_name: 'x',
    graph: { name: 'g', node: [{ op_type: 'Relu', input: ['a'], output: ['b'], name: 'n' }] },
  };
  assert.deepEqual(decodeModel(encodeModel(m)), m);
});

test('a raw export gives the head maps (NHWC) as map0, map1, …; OnnxDetector refuses it', async () => {
  const model = testModel(smallConfig('yolor-bifpn-n'));
  const path = join(dir, 'raw.onnx');
  const r = await exportOnnx(model, path, { imgsz: S, raw: true });
  assert.equal(r.meta.output, 'raw');
  assert.deepEqual(r.meta.outputs, ['map0', 'map1', 'map2']);
  const x = shapesImages(1, S, 70);
  const xt = tf.tensor4d(x, [1, S, S, 3]);
  const maps = model.forward(xt);
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  const nchw = tf.tidy(() => tf.transpose(xt, [0, 3, 1, 2]).dataSync() as Float32Array);
  const out = await session.run({ images: new ort.Tensor('float32', nchw, [1, 3, S, S]) });
  maps.forEach((m, i) => {
    const got = out[`map${i}`]!;
    assert.deepEqual(got.dims, m.shape);
    const d = rowDiff(got.data as Float32Array, m.dataSync() as Float32Array, 1);
    assert.ok(d.box <= 1e-5, `map${i}: ${d.box}`);
  });
  await session.release();
  tf.dispose([xt, ...maps]);
  await assert.rejects(OnnxDetector.load(path), (e: Error) => e.message.includes(path) && /raw head maps/.test(e.message));
  model.dispose();
});

test('load errors name the file: missing, not ONNX, not a yolor-ts export', async () => {
  const missing = join(dir, 'missing.onnx');
  await assert.rejects(OnnxDetector.load(missing), (e: Error) => e.message.includes(missing) && /no such/.test(e.message));
  await assert.rejects(readOnnxMetadata(missing), (e: Error) => e.message.includes(missing));
  const garbage = join(dir, 'garbage.onnx');
  writeFileSync(garbage, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]));
  await assert.rejects(OnnxDetector.load(garbage), (e: Error) => e.message.includes(garbage) && /not an ONNX model/.test(e.message));
  const foreign = join(dir, 'foreign.onnx');
  writeFileSync(foreign, encodeModel({ ir_version: 8, opset_import: [{ version: 17 }], graph: { name: 'g' } }));
  await assert.rejects(OnnxDetector.load(foreign), (e: Error) => e.message.includes(foreign) && /not a yolor-ts/.test(e.message));
  await assert.rejects(readOnnxMetadata(foreign), /not a yolor-ts/);
});
