/**
 * TF.js graph-model export: the exported directory, loaded with
 * tf.loadGraphModel (file:// in Node, and http with a plain fetch as a browser
 * would), computes the tfjs detector's decoded rows (relative difference
 * ≤ 1e-4) on real image content, folded or not, for any batch size when
 * exported with a dynamic batch; metadata round-trips; the shard matches its
 * manifest; and what cannot be expressed exactly is refused with the layer's name.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { generateShapes } from '../../src/data/datasets/shapes.js';
import { initBackend } from '../../src/engine/backend.js';
import { UnsupportedExportError } from '../../src/export/errors.js';
import {
  exportTfjs,
  graphToTfjs,
  loadTfjsDetector,
  readTfjsMetadata,
  TFJS_MODEL_JSON,
  TFJS_RULES,
  TFJS_SHARD,
  type TfjsModelJson,
} from '../../src/export/tfjs/index.js';
import { traceGraph } from '../../src/export/trace.js';
import type { DetectorExportMeta } from '../../src/export/trace-detector.js';
import { type TracedDetector, traceDetector } from '../../src/export/trace-detector.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { decodePredictions } from '../../src/tasks/detect/decode.js';
import { Rng } from '../../src/util/rng.js';
import { perturb } from '../helpers/perturb.js';
import { tmp } from '../helpers/tmp.js';

before(async () => {
  await initBackend('wasm');
});

const ZOO = ['yolor-n', 'yolor-fpn-n', 'yolor-bifpn-n'] as const;
const NAMES = ['a', 'b', 'c'];

function buildModel(name: string, seed = 3): Detector {
  const cfg = parseModelConfig({ ...serializeModelConfig(resolveModelConfig(name)), nc: 3, names: NAMES }, name);
  const model = new Detector(cfg, seed);
  // Implicit tensors and BN parameters/statistics far from their initial values.
  perturb(model, seed + 100);
  model.eval();
  return model;
}

/** `n` images of the built-in shapes dataset at `size` px as [n, size, size, 3] RGB in [0, 1]. */
function shapesImages(n: number, size: number): tf.Tensor4D {
  const ds = generateShapes({ size, train: n, val: 0, test: 0, seed: 7, minObjects: 2, maxObjects: 4, minSize: 8, maxSize: Math.floor(size / 2) });
  const data = new Float32Array(n * size * size * 3);
  ds.splits.train.forEach((im, i) => {
    im.image.data.forEach((v, k) => {
      data[i * size * size * 3 + k] = v / 255;
    });
  });
  return tf.tensor4d(data, [n, size, size, 3]);
}

function reference(model: Detector, x: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => decodePredictions(model.forward(x), model.config.anchors, model.strides, { rule: 'scaled' }));
}

function maxRelativeDifference(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(tf.max(tf.abs(b)).dataSync()[0]!, 1e-6));
}

const fileUrl = (dir: string): string => `file://${join(dir, TFJS_MODEL_JSON)}`;

for (const name of ZOO) {
  for (const fuse of [true, false]) {
    test(`${name} (${fuse ? 'folded' : 'not folded'}): one dynamic-batch export matches the tfjs detector at batch 1 and 2`, async (t) => {
      const model = buildModel(name);
      const dir = join(tmp('tfjs'), name);
      const res = await exportTfjs(model, dir, { imgsz: 64, fuse, dynamicBatch: true });
      assert.deepEqual(
        res.files.slice().sort(),
        readdirSync(dir)
          .map((f) => join(dir, f))
          .sort(),
      );
      assert.equal(res.meta.fused, fuse);
      assert.equal(res.fuseReport === null, !fuse);
      const graph = await tfjs.loadGraphModel(fileUrl(dir));
      const x = shapesImages(2, 64);
      const x1 = tf.slice(x, [0, 0, 0, 0], [1, 64, 64, 3]);
      // The folded export computes what the folded tfjs model computes (same tfjs ops), and both
      // what the training model computes up to the folding's rounding.
      const deploy = fuse ? model.fuse().model : model;
      for (const input of [x1, x]) {
        const want = reference(model, input);
        const same = reference(deploy, input);
        const got = graph.execute(input) as tf.Tensor;
        const diff = maxRelativeDifference(got, want);
        const exact = maxRelativeDifference(got, same);
        t.diagnostic(
          `batch ${input.shape[0]}: max relative difference ${diff.toExponential(2)} (vs the ${fuse ? 'folded' : 'same'} tfjs model: ${exact.toExponential(2)})`,
        );
        assert.ok(diff <= 1e-4, `${name} batch ${input.shape[0]}: relative difference ${diff}`);
        assert.ok(exact <= 1e-6, `${name} batch ${input.shape[0]}: relative difference to the exported tfjs model ${exact}`);
        tf.dispose([want, same, got]);
      }
      if (deploy !== model) deploy.dispose();
      // predict() returns the same tensor as execute(): the signature names the output.
      const viaPredict = graph.predict(x1) as tf.Tensor;
      const viaExecute = graph.execute(x1) as tf.Tensor;
      assert.equal(maxRelativeDifference(viaPredict, viaExecute), 0);
      tf.dispose([viaPredict, viaExecute, x, x1]);
      graph.dispose();
      model.dispose();
    });
  }
}

test('a static-batch export takes exactly its batch; loadTfjsDetector runs tensors and raw floats', async () => {
  const model = buildModel('yolor-n', 5);
  const dir = join(tmp('tfjs'), 'static');
  await exportTfjs(model, dir, { imgsz: 96, batch: 2 });
  const json = JSON.parse(readFileSync(join(dir, TFJS_MODEL_JSON), 'utf8')) as TfjsModelJson;
  assert.deepEqual(
    json.signature.inputs.images!.tensorShape.dim.map((d) => d.size),
    ['2', '96', '96', '3'],
  );
  const det = await loadTfjsDetector(dir);
  assert.equal(det.batch, 2);
  const x = shapesImages(2, 96);
  const want = reference(model, x);
  const got = det.run(x);
  const fromFloats = det.run(x.dataSync() as Float32Array, 2);
  assert.ok(maxRelativeDifference(got, want) <= 1e-4);
  assert.equal(maxRelativeDifference(fromFloats, got), 0);
  const one = tf.slice(x, [0, 0, 0, 0], [1, 96, 96, 3]);
  assert.throws(() => det.run(one), /takes a batch of 2/);
  tf.dispose([x, want, got, fromFloats, one]);
  det.dispose();
  model.dispose();
});

test('the directory loads over http with plain fetches of relative paths (as in a browser)', async () => {
  const model = buildModel('yolor-fpn-n', 6);
  const dir = join(tmp('tfjs'), 'served');
  await exportTfjs(model, dir, { imgsz: 64, dynamicBatch: true });
  const base = 'https://models.example/yolor/fpn/';
  const fetched: string[] = [];
  const fetchFunc = async (input: string | URL | Request): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    fetched.push(url);
    if (!url.startsWith(base)) return new Response('not found', { status: 404 });
    try {
      return new Response(readFileSync(join(dir, url.slice(base.length))), { status: 200 });
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
  const overHttp = await tfjs.loadGraphModel(`${base}${TFJS_MODEL_JSON}`, { fetchFunc });
  assert.deepEqual(fetched, [`${base}${TFJS_MODEL_JSON}`, `${base}${TFJS_SHARD}`]);
  const fromFile = await tfjs.loadGraphModel(fileUrl(dir));
  const x = shapesImages(1, 64);
  const a = overHttp.execute(x) as tf.Tensor;
  const b = fromFile.execute(x) as tf.Tensor;
  assert.equal(maxRelativeDifference(a, b), 0);
  assert.deepEqual((overHttp.metadata as { yolor: unknown }).yolor, await readTfjsMetadata(dir));
  tf.dispose([x, a, b]);
  overHttp.dispose();
  fromFile.dispose();
  model.dispose();
});

test('re-exporting replaces a previous export atomically; other directories are refused, not deleted', async () => {
  const model = buildModel('yolor-n', 10);
  const root = tmp('tfjs');
  const dir = join(root, 'out');
  await exportTfjs(model, dir, { imgsz: 64, names: ['p', 'q', 'r'] });
  await exportTfjs(model, dir, { imgsz: 96 });
  assert.deepEqual(readdirSync(dir).sort(), [TFJS_SHARD, TFJS_MODEL_JSON].sort());
  assert.equal((await readTfjsMetadata(dir)).imgsz, 96);
  assert.deepEqual(readdirSync(root), ['out']);
  const project = join(root, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'notes.txt'), 'keep me');
  await assert.rejects(exportTfjs(model, project, { imgsz: 64 }), /refusing to replace .*notes\.txt/);
  assert.equal(readFileSync(join(project, 'notes.txt'), 'utf8'), 'keep me');
  model.dispose();
});

test('metadata round-trips and the shard holds exactly the manifest', async () => {
  const model = buildModel('yolor-bifpn-n', 8);
  const dir = join(tmp('tfjs'), 'meta');
  const res = await exportTfjs(model, dir, { imgsz: 64, names: ['x', 'y', 'z'] });
  const meta = await readTfjsMetadata(dir);
  assert.deepEqual(meta, res.meta);
  assert.deepEqual(meta.names, ['x', 'y', 'z']);
  assert.equal(meta.nc, 3);
  assert.equal(meta.imgsz, 64);
  assert.deepEqual(meta.strides, model.strides);
  assert.equal(meta.output, 'xywh-obj-cls');
  const det = await loadTfjsDetector(dir);
  assert.deepEqual(det.meta, meta);
  assert.deepEqual((det.model.metadata as { yolor: unknown }).yolor, meta);
  det.dispose();

  const json = JSON.parse(readFileSync(join(dir, TFJS_MODEL_JSON), 'utf8')) as TfjsModelJson;
  assert.equal(json.format, 'graph-model');
  assert.equal(json.weightsManifest.length, 1);
  assert.deepEqual(json.weightsManifest[0]!.paths, [TFJS_SHARD]);
  const entries = json.weightsManifest[0]!.weights;
  const bytes = entries.reduce((n, w) => {
    assert.ok(w.dtype === 'float32' || w.dtype === 'int32', `${w.name}: ${w.dtype}`);
    return n + 4 * w.shape.reduce((a, b) => a * b, 1);
  }, 0);
  assert.equal(statSync(join(dir, TFJS_SHARD)).size, bytes);
  // Every Const node has its manifest entry, and nothing else does.
  const consts = json.modelTopology.node
    .filter((n) => n.op === 'Const')
    .map((n) => n.name)
    .sort();
  assert.deepEqual(entries.map((w) => w.name).sort(), consts);
  assert.equal(res.nodes, json.modelTopology.node.length);
  model.dispose();
});

function tracedSmall(): { model: Detector; traced: TracedDetector } {
  const model = buildModel('yolor-n', 9);
  return { model, traced: traceDetector(model, { imgsz: 64, fuse: false }) };
}

test('a kernel without a TF.js rule is refused with the layer that ran it', () => {
  const { model, traced } = tracedSmall();
  const node = traced.graph.nodes.find((n) => n.kernel === 'Sigmoid' && n.layer !== 'tail')!;
  node.kernel = 'Atan';
  assert.throws(
    () => graphToTfjs(traced),
    (err: unknown) => {
      assert.ok(err instanceof UnsupportedExportError);
      assert.equal(err.format, 'TF.js');
      assert.equal(err.node.layer, node.layer);
      assert.match(err.message, new RegExp(`op Atan in layer ${node.layer.replace(/\./g, '\\.')} \\(${node.layerType}\\)`));
      return true;
    },
  );
  model.dispose();
});

test('attributes that cannot be expressed exactly are refused', () => {
  const { model, traced } = tracedSmall();
  const conv = traced.graph.nodes.find((n) => n.kernel === 'Conv2D')!;
  conv.attrs.dataFormat = 'NCHW';
  assert.throws(
    () => graphToTfjs(traced),
    (err: unknown) => err instanceof UnsupportedExportError && err.node.layer === conv.layer && /dataFormat NCHW/.test(err.message),
  );
  conv.attrs.dataFormat = 'NHWC';
  conv.attrs.somethingNew = 2;
  assert.throws(() => graphToTfjs(traced), /attribute somethingNew=2/);
  delete conv.attrs.somethingNew;
  const pool = traced.graph.nodes.find((n) => n.kernel === 'MaxPool')!;
  pool.attrs.pad = [
    [0, 0],
    [2, 2],
    [2, 2],
    [0, 0],
  ];
  assert.throws(
    () => graphToTfjs(traced),
    (err: unknown) => err instanceof UnsupportedExportError && err.node.layer === pool.layer,
  );
  model.dispose();
});

test('ops that mix the batch axis export with a static batch but are refused with a dynamic one', () => {
  const { model, traced } = tracedSmall();
  const x = tf.zeros([2, 4, 4, 3]);
  // Flattening the whole batch into one row: valid for the traced batch only.
  const graph = traceGraph((t) => tf.sigmoid(tf.reshape(t, [1, -1])), [x], ['images']);
  tf.dispose(x);
  const flat: TracedDetector = { ...traced, graph };
  const { modelJson } = graphToTfjs(flat);
  assert.ok(modelJson.modelTopology.node.some((n) => n.op === 'Reshape'));
  assert.throws(
    () => graphToTfjs(flat, { dynamicBatch: true }),
    (err: unknown) => err instanceof UnsupportedExportError && /across the batch axis/.test(err.message),
  );
  model.dispose();
});

/** Small functions of a [B, 8, 8, 4] input that, together, run every kernel with a TF.js rule. */
function opCases(): Record<string, (x: tf.Tensor4D) => tf.Tensor> {
  const rng = new Rng(21);
  const w = (shape: number[], scale = 0.5): tf.Tensor =>
    tf.tensor(
      rng.normalArray(
        shape.reduce((a, b) => a * b, 1),
        scale,
      ),
      shape,
    );
  const filter = w([3, 3, 4, 5]) as tf.Tensor4D;
  const dw = w([3, 3, 4, 2]) as tf.Tensor4D;
  const [mean, variance, offset, scale, alpha] = [w([4]), tf.abs(w([4])), w([4]), w([4]), w([4], 0.2)] as tf.Tensor1D[];
  const [mm, mmT] = [w([16, 3]), w([5, 16])] as tf.Tensor2D[];
  return {
    activations: (x) =>
      tf.addN([
        tf.leakyRelu(x, 0.1),
        tf.mul(x, tf.tanh(tf.softplus(x))),
        tf.relu(x),
        tf.relu6(tf.mul(x, 4)),
        tf.elu(x),
        tf.selu(x),
        tf.sigmoid(x),
        tf.prelu(x as tf.Tensor, alpha),
        tf.clipByValue(x, -0.3, 0.4),
      ]),
    math: (x) =>
      tf.addN([
        tf.div(tf.sqrt(tf.add(tf.abs(x), 1)), tf.exp(tf.neg(x))),
        tf.log(tf.add(tf.square(x), 1)),
        tf.rsqrt(tf.add(tf.abs(x), 0.5)),
        tf.floor(tf.mul(x, 3)),
        tf.ceil(tf.mul(x, 3)),
        tf.erf(x),
        tf.pow(x, 2),
        tf.squaredDifference(x, 0.5),
        tf.maximum(x, 0.1),
        tf.minimum(x, 0.2),
        tf.floorDiv(x, 0.3),
        tf.sub(x, 1),
        tf.clone(x),
      ]),
    convs: (x) =>
      tf.concat(
        [
          tf.conv2d(x, filter, 1, 1),
          tf.conv2d(x, filter, 1, 'same', 'NHWC', 2),
          tf.slice(tf.conv2d(x, filter, 1, 'valid'), [0, 0, 0, 0], [-1, 6, 6, 5]).pad([
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          tf.depthwiseConv2d(x, dw, 1, 'same'),
          tf.depthwiseConv2d(x, dw, 1, [
            [0, 0],
            [2, 0],
            [0, 2],
            [0, 0],
          ]),
        ],
        3,
      ),
    strided: (x) =>
      tf.concat(
        [tf.conv2d(x, filter, 2, 'same'), tf.depthwiseConv2d(x, dw, 2, 'same'), tf.avgPool(x, 3, 2, 'same'), tf.maxPool(x, 2, 2, 'valid')],
        3,
      ),
    norms: (x) => tf.add(tf.batchNorm(x, mean, variance, offset, scale, 1e-3), tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5)),
    resize: (x) =>
      tf.concat(
        [
          tf.image.resizeBilinear(x, [12, 12], false, true),
          tf.image.resizeBilinear(x, [12, 12], true),
          tf.image.resizeNearestNeighbor(x, [12, 12], false, true),
          tf.image.resizeNearestNeighbor(x, [12, 12]),
        ],
        3,
      ),
    layout: (x) =>
      tf.concat(
        [
          tf.transpose(x, [0, 2, 1, 3]),
          tf.mirrorPad(
            tf.slice(x, [0, 1, 1, 0], [-1, 6, 6, 4]),
            [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ],
            'reflect',
          ),
          tf.mirrorPad(
            tf.slice(x, [0, 1, 1, 0], [-1, 6, 6, 4]),
            [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ],
            'symmetric',
          ),
        ],
        3,
      ),
    matmul: (x) => {
      const rows = tf.reshape(x, [x.shape[0], 16, 16]);
      return tf.concat([tf.matMul(rows, mm), tf.matMul(rows, mmT, false, true)], 2);
    },
    reduce: (x) => tf.concat([tf.mean(x, [1, 2]), tf.sum(x, 1).reshape([-1, 32]), tf.max(x, [1, 3]), tf.min(x, -1).reshape([-1, 64])], 1),
    shapes: (x) => {
      const [a, b] = tf.split(x, [1, 3], 3);
      const stacked = tf.stack([tf.softmax(b!), tf.cast(tf.cast(tf.mul(b!, 10), 'int32'), 'float32')], 4);
      return tf.concat([tf.reshape(stacked, [x.shape[0], 64, 6]), tf.reshape(tf.tile(a!, [1, 1, 1, 6]), [x.shape[0], 64, 6])], 2);
    },
  };
}

const OPS_META: DetectorExportMeta = {
  format: 'yolor-ts',
  model: 'ops',
  names: [],
  nc: 0,
  imgsz: 8,
  strides: [],
  anchors: [],
  letterbox: { color: 114, center: true, scaleup: true },
  output: 'xywh-obj-cls',
  fused: false,
};

async function inMemory(modelJson: TfjsModelJson, weightData: ArrayBuffer): Promise<tfjs.GraphModel> {
  return tfjs.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      format: modelJson.format,
      signature: modelJson.signature,
      weightSpecs: modelJson.weightsManifest[0]!.weights,
      weightData,
    }),
  );
}

test('every kernel rule runs the same tfjs op (static and dynamic batch)', async (t) => {
  const covered = new Set<string>();
  const cases = opCases();
  const refused: string[] = [];
  for (const [name, fn] of Object.entries(cases)) {
    const x2 = tf.tensor4d(new Rng(31).normalArray(2 * 8 * 8 * 4), [2, 8, 8, 4]);
    const x3 = tf.tensor4d(new Rng(32).normalArray(3 * 8 * 8 * 4), [3, 8, 8, 4]);
    const graph = traceGraph((x) => fn(x as tf.Tensor4D), [x2], ['images']);
    const traced: TracedDetector = { graph, meta: OPS_META, fuseReport: null };
    let hasRule = true;
    for (const n of graph.nodes)
      if (n.kernel in TFJS_RULES) covered.add(n.kernel);
      else hasRule = false;
    if (!hasRule) {
      // Tile (in `shapes`) has no rule: the case must be refused, and is re-run without it below.
      assert.throws(() => graphToTfjs(traced), UnsupportedExportError);
      refused.push(name);
      tf.dispose([x2, x3]);
      continue;
    }
    for (const dynamic of [false, true]) {
      const { modelJson, weightData } = graphToTfjs(traced, { dynamicBatch: dynamic });
      const gm = await inMemory(modelJson, weightData);
      for (const x of dynamic ? [x2, x3] : [x2]) {
        const want = tf.tidy(() => fn(x));
        const got = gm.execute(x) as tf.Tensor;
        const diff = maxRelativeDifference(got, want);
        t.diagnostic(`${name} (${dynamic ? 'dynamic' : 'static'}, batch ${x.shape[0]}): ${diff.toExponential(2)}`);
        assert.ok(diff <= 1e-6, `${name}: relative difference ${diff}`);
        tf.dispose([want, got]);
      }
      gm.dispose();
    }
    tf.dispose([x2, x3]);
  }
  assert.deepEqual(refused, ['shapes']);
  // `shapes` without Tile.
  const x = tf.tensor4d(new Rng(33).normalArray(2 * 8 * 8 * 4), [2, 8, 8, 4]);
  const noTile = (v: tf.Tensor4D): tf.Tensor => {
    const [, b] = tf.split(v, [1, 3], 3);
    return tf.reshape(tf.stack([tf.softmax(b!), tf.cast(tf.cast(tf.mul(b!, 10), 'int32'), 'float32')], 4), [v.shape[0], 64, 6]);
  };
  const graph = traceGraph((v) => noTile(v as tf.Tensor4D), [x], ['images']);
  for (const n of graph.nodes) covered.add(n.kernel);
  const { modelJson, weightData } = graphToTfjs({ graph, meta: OPS_META, fuseReport: null }, { dynamicBatch: true });
  const gm = await inMemory(modelJson, weightData);
  const want = tf.tidy(() => noTile(x));
  const got = gm.execute(x) as tf.Tensor;
  assert.ok(maxRelativeDifference(got, want) <= 1e-6);
  tf.dispose([x, want, got]);
  gm.dispose();
  const untested = Object.keys(TFJS_RULES).filter((k) => !covered.has(k));
  assert.deepEqual(untested, [], `rules not exercised: ${untested.join(', ')}`);
});
