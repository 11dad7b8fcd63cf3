/**
 * Kernel rules beyond the zoo's graphs, and refusals:
 *   - a traced function using every other supported kernel (SAME convs with
 *     odd sizes and strides, dilation, depthwise with multiplier 2, Mish,
 *     LeakyRelu, Relu6, Elu, Neg, Abs, Exp, Sqrt, Log, AvgPool, MaxPool
 *     'valid', PadV2, SplitV/Concat on channels with a negative axis, Max,
 *     Min, RealDiv, Square, Cast, Transpose, Reshape, Mean kept on NCHW maps
 *     and dropping an axis, BatchMatMul with a constant plain and transposed)
 *     runs in ONNX Runtime
 *     like tfjs, in both layouts, with a batch traced at 2 and run at 3;
 *   - an unknown kernel, an attribute without an exact equivalent, a
 *     non-constant filter, and batch-burying ops under a dynamic batch are
 *     refused with UnsupportedExportError naming the layer.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/engine/backend.js';
import { UnsupportedExportError } from '../../src/export/errors.js';
import { graphToOnnx } from '../../src/export/onnx/index.js';
import { type TraceGraph, type TraceNode, traceGraph } from '../../src/export/trace.js';
import type { DetectorExportMeta, TracedDetector } from '../../src/export/trace-detector.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

const META: DetectorExportMeta = {
  format: 'yolor-ts',
  model: 'rules',
  names: ['a'],
  nc: 1,
  imgsz: 13,
  strides: [1],
  anchors: [[[1, 1]]],
  letterbox: { color: 114, center: true, scaleup: true },
  output: 'xywh-obj-cls',
  fused: false,
};

const traced = (graph: TraceGraph): TracedDetector => ({ graph, meta: META, fuseReport: null });

function kernelsFn(rng: Rng): (x: tf.Tensor) => tf.Tensor {
  const w = tf.tensor4d(rng.normalArray(3 * 3 * 3 * 4, 0.5), [3, 3, 3, 4]);
  const wd = tf.tensor4d(rng.normalArray(3 * 3 * 4 * 4, 0.5), [3, 3, 4, 4]);
  const dw = tf.tensor4d(rng.normalArray(3 * 3 * 4 * 2, 0.5), [3, 3, 4, 2]);
  return (x) => {
    let y: tf.Tensor4D = tf.conv2d(x as tf.Tensor4D, w, 2, 'same');
    y = tf.conv2d(y, wd, 1, 'same', 'NHWC', 2);
    y = tf.mul(y, tf.tanh(tf.softplus(y)));
    y = tf.depthwiseConv2d(y, dw, 2, 'same');
    y = tf.elu(tf.sub(tf.relu6(tf.mul(tf.leakyRelu(y, 0.1), 0.3)), 1)) as tf.Tensor4D;
    y = tf.add(tf.relu(tf.neg(y)), tf.leakyRelu(y, 0.2));
    y = tf.maxPool(tf.avgPool(y, 3, 1, 'same'), 2, 2, 'valid');
    y = tf.pad(
      y,
      [
        [0, 0],
        [1, 0],
        [0, 2],
        [0, 0],
      ],
      0.5,
    );
    const [a, b] = tf.split(y, [3, 5], 3) as [tf.Tensor4D, tf.Tensor4D];
    y = tf.concat([tf.exp(tf.neg(tf.abs(a))), tf.sqrt(tf.abs(b)), tf.log(tf.add(tf.abs(a), 1))], -1) as tf.Tensor4D;
    y = tf.div(tf.maximum(y, 0.2), tf.add(tf.minimum(y, 3), 1));
    // Mean: kept dims on a map held NCHW, then a dropped axis (plain order of what remains).
    y = tf.sub(y, tf.mean(y, [1, 2], true));
    y = tf.add(y, tf.reshape(tf.mean(y, 1), [x.shape[0]!, 1, y.shape[2], y.shape[3]]));
    const t = tf.transpose(tf.cast(tf.square(y), 'float32'), [0, 2, 1, 3]);
    const r = tf.reshape(t, [x.shape[0]!, 11, -1]);
    // BatchMatMul: the batched rows times a constant, plain and transposed (deterministic values: the function runs twice).
    const k = r.shape[2]!;
    const mm = tf.tensor2d(
      Float32Array.from({ length: k * 3 }, (_, i) => Math.sin(i)),
      [k, 3],
    );
    const mmT = tf.tensor2d(
      Float32Array.from({ length: 2 * k }, (_, i) => Math.cos(i)),
      [2, k],
    );
    return tf.concat([r, tf.matMul(r, mm), tf.matMul(r, mmT, false, true)], 2);
  };
}

async function runOrt(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({ images: new ort.Tensor('float32', x, dims) });
    return out.detections!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function nhwcToNchw(x: Float32Array, [b, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < b!; n++)
    for (let i = 0; i < h! * w!; i++) for (let k = 0; k < c!; k++) out[(n * c! + k) * h! * w! + i] = x[(n * h! * w! + i) * c! + k]!;
  return out;
}

for (const layout of ['NCHW', 'NHWC'] as const) {
  test(`every supported kernel runs in ONNX Runtime like tfjs (${layout}, batch traced at 2, run at 3)`, async () => {
    const fn = kernelsFn(new Rng(1));
    const graph = traceGraph(fn, [tf.zeros([2, 13, 13, 3])], ['images']);
    const bytes = graphToOnnx(traced(graph), { layout, dynamicBatch: true });
    const shape = [3, 13, 13, 3];
    const xt = tf.tensor4d(new Rng(2).normalArray(3 * 13 * 13 * 3), shape as [number, number, number, number]);
    const x = xt.dataSync() as Float32Array;
    const ref = tf.tidy(() => fn(xt).dataSync() as Float32Array);
    const got = await runOrt(bytes, layout === 'NCHW' ? nhwcToNchw(x, shape) : x, layout === 'NCHW' ? [3, 3, 13, 13] : shape);
    assert.equal(got.length, ref.length);
    assert.ok(new Set(ref).size > ref.length / 4, 'the reference output is not degenerate');
    let d = 0,
      s = 0;
    for (let i = 0; i < ref.length; i++) {
      d = Math.max(d, Math.abs(got[i]! - ref[i]!));
      s = Math.max(s, Math.abs(ref[i]!));
    }
    console.log(`# kernels ${layout}: relative difference ${(d / s).toExponential(2)}`);
    assert.ok(d / s <= 1e-5, `relative difference ${d / s}`);
    xt.dispose();
  });
}

/** A one-node graph on images [b, 8, 8, 3]. */
function oneNode(
  node: Partial<TraceNode> & { kernel: string },
  outShape: number[],
  b = 1,
  constants: TraceGraph['constants'] = new Map(),
): TracedDetector {
  return traced({
    inputs: [{ name: 'images', shape: [b, 8, 8, 3], dtype: 'float32' }],
    outputs: [{ name: 't0', shape: outShape, dtype: 'float32' }],
    nodes: [
      {
        inputs: { x: 'images' },
        attrs: {},
        layer: 'backbone.fancy',
        layerType: 'Fancy',
        ...node,
        outputs: [{ name: 't0', shape: outShape, dtype: 'float32' }],
      },
    ],
    constants,
  });
}

function refused(t: TracedDetector, re: RegExp, opts = {}): void {
  assert.throws(
    () => graphToOnnx(t, opts),
    (e: unknown) => {
      assert.ok(e instanceof UnsupportedExportError, String(e));
      assert.equal(e.format, 'ONNX');
      assert.match(e.message, /layer backbone\.fancy \(Fancy\)/);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('an unknown kernel is refused with the layer name', () => {
  refused(oneNode({ kernel: 'Erf' }, [1, 8, 8, 3]), /op Erf .* has no ONNX conversion rule/);
});

test('attributes and inputs without an exact ONNX equivalent are refused with the layer name', () => {
  refused(
    oneNode(
      { kernel: 'ResizeNearestNeighbor', inputs: { images: 'images' }, attrs: { alignCorners: true, halfPixelCenters: false, size: [16, 16] } },
      [1, 16, 16, 3],
    ),
    /alignCorners/,
  );
  refused(
    oneNode(
      { kernel: 'Conv2D', inputs: { x: 'images', filter: 'images' }, attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 } },
      [1, 1, 1, 3],
    ),
    /constant/,
  );
  refused(
    oneNode({ kernel: 'MaxPool', attrs: { filterSize: 3, strides: 2, pad: 1, dimRoundingMode: 'ceil' } }, [1, 5, 5, 3]),
    /output size 5 where ONNX would give 4/,
  );
  refused(
    oneNode(
      { kernel: 'Conv2D', inputs: { x: 'images', filter: 'c0' }, attrs: { strides: 1, pad: 'same', dataFormat: 'NCHW', dilations: 1 } },
      [1, 8, 8, 2],
      1,
      new Map([['c0', { name: 'c0', shape: [1, 1, 3, 2], dtype: 'float32' as const, values: new Float32Array(6) }]]),
    ),
    /dataFormat NCHW/,
  );
});

test('a dynamic batch is refused where an op buries the batch, or a constant differs per traced item', () => {
  const merge = oneNode({ kernel: 'Reshape', attrs: { shape: [-1, 3] } }, [128, 3], 2);
  refused(merge, /merging the batch/, { dynamicBatch: true });
  assert.ok(graphToOnnx(merge).length > 0, 'fine with a fixed batch');
  refused(oneNode({ kernel: 'Transpose', attrs: { perm: [1, 0, 2, 3] } }, [8, 2, 8, 3], 2), /moves the batch axis/, { dynamicBatch: true });
  const values = new Float32Array(2 * 3).map((_, i) => i);
  const perItem = oneNode(
    { kernel: 'Add', inputs: { a: 'images', b: 'c0' } },
    [2, 8, 8, 3],
    2,
    new Map([['c0', { name: 'c0', shape: [2, 1, 1, 3], dtype: 'float32' as const, values }]]),
  );
  refused(perItem, /differs between the traced batch items/, { dynamicBatch: true });
  assert.ok(graphToOnnx(perItem).length > 0, 'fine with a fixed batch');
});

test('export options are validated', () => {
  const t = oneNode({ kernel: 'Relu' }, [1, 8, 8, 3]);
  assert.throws(() => graphToOnnx(t, { opset: 12 }), /opset must be an integer from 13/);
  assert.throws(() => graphToOnnx(t, { layout: 'NCWH' as 'NCHW' }), /layout must be NCHW or NHWC/);
});
