/**
 * The ONNX peephole pass that puts biases into their Conv (fold-conv-affine.ts):
 * constant per-channel Adds and (in a deploy graph) Muls right after a Conv
 * disappear into its bias and weights, with ONNX Runtime computing what tfjs
 * computes; what cannot be folded stays — a Conv output read twice, a constant
 * that varies over space, a Mul in a graph that is not the deploy form.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/engine/backend.js';
import { foldConvAffine } from '../../src/export/onnx/fold-conv-affine.js';
import { buildOnnxModel, encodeModel } from '../../src/export/onnx/index.js';
import { DataType } from '../../src/export/onnx/schema.js';
import { traceGraph } from '../../src/export/trace.js';
import type { DetectorExportMeta, TracedDetector } from '../../src/export/trace-detector.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const meta = (fused: boolean): DetectorExportMeta => ({
  format: 'yolor-ts',
  model: 'fold',
  names: ['a'],
  nc: 1,
  imgsz: 8,
  strides: [1],
  anchors: [[[1, 1]]],
  letterbox: { color: 114, center: true, scaleup: true },
  output: 'xywh-obj-cls',
  fused,
});

const S = 8;

function graphFn(rng: Rng): (x: tf.Tensor) => tf.Tensor {
  const w1 = tf.tensor4d(rng.normalArray(3 * 3 * 3 * 4, 0.5), [3, 3, 3, 4]);
  const b1 = tf.tensor1d(rng.normalArray(4, 1));
  const z1 = tf.tensor1d(rng.normalArray(4, 1));
  const a1 = tf.tensor1d(rng.normalArray(4, 1));
  const dw = tf.tensor4d(rng.normalArray(3 * 3 * 4 * 2, 0.5), [3, 3, 4, 2]);
  const b2 = tf.tensor1d(rng.normalArray(8, 1));
  const w3 = tf.tensor4d(rng.normalArray(8 * 4, 0.5), [1, 1, 8, 4]);
  const b3 = tf.tensor1d(rng.normalArray(4, 1));
  const spatial = tf.tensor4d(rng.normalArray(S, 1), [1, 1, S, 1]);
  return (x) => {
    // conv → +bias → ×z (per channel) → +a: all three fold into the conv in a deploy graph
    let y = tf.add(tf.mul(tf.add(tf.conv2d(x as tf.Tensor4D, w1, 1, 'same'), b1), z1), a1);
    // depthwise (multiplier 2) → +bias: folds; its output read twice afterwards
    y = tf.add(tf.depthwiseConv2d(y as tf.Tensor4D, dw, 1, 'same'), b2);
    const c = tf.conv2d(y as tf.Tensor4D, w3, 1, 'same');
    // c is read by two nodes: stays a Conv without folding
    const twice = tf.add(tf.add(c, b3), tf.mul(c, 0.5));
    // a constant that varies over the width is not per channel: stays an Add
    const conv2 = tf.add(tf.conv2d(twice as tf.Tensor4D, tf.onesLike(w3.slice([0, 0, 0, 0], [1, 1, 4, 4])), 1, 'same'), spatial);
    return tf.reshape(conv2, [x.shape[0]!, S * S, 4]);
  };
}

async function runOrt(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({ images: new ort.Tensor('float32', x, [1, S, S, 3]) });
    return out.detections!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function ops(nodes: Array<{ op_type?: string }>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of nodes) c[n.op_type!] = (c[n.op_type!] ?? 0) + 1;
  return c;
}

for (const fused of [true, false]) {
  test(`biases fold into their Conv${fused ? ', and constant Muls into the weights in a deploy graph' : '; Muls stay when the graph is not the deploy form'}`, async () => {
    const rng = new Rng(11);
    const fn = graphFn(rng);
    const x = tf.tensor4d(new Rng(3).normalArray(S * S * 3, 1), [1, S, S, 3]);
    const graph = traceGraph(fn, [x], ['images']);
    const traced: TracedDetector = { graph, meta: meta(fused), fuseReport: null };
    const { model } = buildOnnxModel(traced, { layout: 'NHWC' });
    const nodes = model.graph!.node!;
    const count = ops(nodes);
    assert.equal(count.Conv, 4, 'conv, depthwise, 1×1 and the last conv');
    // Left: Add after the twice-read conv (+b3), Add of the two branches, Add of the spatial constant;
    // Mul: the ×0.5 branch, plus ×z when not folded (then +a stays too, as it follows the Mul, not the Conv).
    assert.equal(count.Mul, fused ? 1 : 2, JSON.stringify(count));
    assert.equal(count.Add, fused ? 3 : 4, JSON.stringify(count));
    const convs = nodes.filter((n) => n.op_type === 'Conv');
    assert.equal(convs.filter((n) => n.input!.length === 3).length, 2, 'two convs carry a bias');
    const want = tf.tidy(() => fn(x).dataSync() as Float32Array);
    const got = await runOrt(encodeModel(model), x.dataSync() as Float32Array);
    let d = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      d = Math.max(d, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    assert.ok(d / scale < 1e-6, `relative difference ${d / scale}`);
    x.dispose();
  });
}

test('an initializer still read elsewhere is kept; the folded bias is a new one', () => {
  const f = (name: string, dims: number[], v: number[]) => ({
    name,
    dims,
    data_type: DataType.FLOAT,
    raw_data: new Uint8Array(Float32Array.from(v).buffer),
  });
  const inits = [f('w', [2, 1, 1, 1], [1, 2]), f('b', [1, 2, 1, 1], [3, 4])];
  const nodes = [
    { op_type: 'Conv', name: 'c', input: ['x', 'w'], output: ['y'] },
    { op_type: 'Add', name: 'a', input: ['y', 'b'], output: ['z'] },
    { op_type: 'Add', name: 'a2', input: ['z', 'x'], output: ['out'] },
    { op_type: 'Add', name: 'a3', input: ['x', 'b'], output: ['out2'] },
  ];
  const r = foldConvAffine(nodes, inits, new Set(['out', 'out2']));
  assert.deepEqual(r.folded, { add: 1, mul: 0 });
  assert.deepEqual(
    r.nodes.map((n) => n.op_type),
    ['Conv', 'Add', 'Add'],
  );
  const conv = r.nodes[0]!;
  assert.equal(conv.output![0], 'z');
  const bias = r.initializers.find((t) => t.name === conv.input![2])!;
  assert.deepEqual(Array.from(new Float32Array(bias.raw_data!.slice().buffer)), [3, 4]);
  assert.ok(
    r.initializers.some((t) => t.name === 'b'),
    'b is still read by a3',
  );
  // A Conv output that is a graph output is never renamed away.
  const kept = foldConvAffine(nodes.slice(0, 2), inits, new Set(['y', 'z']));
  assert.deepEqual(kept.folded, { add: 0, mul: 0 });
});
