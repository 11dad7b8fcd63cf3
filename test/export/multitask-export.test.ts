/**
 * Multi-task exports: a model with classify and segment heads exports them as
 * outputs `labels` (sigmoid probabilities) and `segment` (per-pixel class
 * logits at the input size) after `detections`, in ONNX and TF.js. The folded
 * export (batch norm and the task-specific implicit codes folded into the
 * head convs) computes what the unfused model's forwardTasks computes, up to
 * float rounding; the class maps agree on ≥ 99.9 % of pixels. The runners
 * that `yolor val` and `yolor predict` use keep reading `detections`. The
 * task outputs leave the detection graph untouched (--no-tasks gives the
 * detection-only bytes), a dynamic batch is refused for the segment output
 * but works for the labels, and a model without the detect head is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { exportOnnx, readOnnxMetadata } from '../../src/export/onnx/index.js';
import { OnnxDetector } from '../../src/export/onnx-runtime.js';
import { loadRunner } from '../../src/export/runner-loaders.js';
import { exportTfjs, loadTfjsDetector, readTfjsMetadata } from '../../src/export/tfjs/index.js';
import { parseModelConfig, serializeModelConfig, type TaskName } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { decodePredictions } from '../../src/tasks/detect/decode.js';
import { Rng } from '../../src/util/rng.js';
import { perturb } from '../helpers/perturb.js';
import { tmp } from '../helpers/tmp.js';
import { rowDiff, shapesImages } from './onnx-helpers.js';

const IMGSZ = 64;
const NAMES = ['circle', 'square', 'triangle'];
const ATTRS = ['red', 'green'];
const LABELS = [...NAMES, ...ATTRS];

before(async () => {
  await initBackend('wasm');
});

function config(tasks: TaskName[], taskImplicit = 'add') {
  return parseModelConfig(
    {
      ...serializeModelConfig(resolveModelConfig('yolor-n')),
      nc: NAMES.length,
      names: NAMES,
      imgsz: IMGSZ,
      tasks,
      num_labels: LABELS.length,
      task_implicit: taskImplicit,
    },
    'test multi-task',
  );
}

/** A perturbed model in eval mode whose task codes are far from their near-identity start too. */
function model(tasks: TaskName[], taskImplicit = 'add', seed = 3): Detector {
  const m = new Detector(config(tasks, taskImplicit), seed);
  perturb(m, seed + 8);
  const rng = new Rng(seed + 9);
  for (const p of m.parameters()) {
    if (!/\.code\./.test(p.name)) continue;
    const next = tf.tidy(() => tf.add(p.variable, tf.tensor(rng.normalArray(p.variable.size, 0.7), p.variable.shape)));
    p.variable.assign(next);
    next.dispose();
  }
  m.eval();
  return m;
}

interface Outputs {
  detections: Float32Array;
  labels: Float32Array;
  segment: Float32Array;
}

/** The unfused model: decoded rows, sigmoid label probabilities and segment logits. */
function reference(m: Detector, x: Float32Array, batch: number): Outputs {
  return tf.tidy(() => {
    const t = m.forwardTasks(tf.tensor4d(x, [batch, IMGSZ, IMGSZ, 3]));
    return {
      detections: decodePredictions(t.detect!, m.config.anchors, m.strides, { rule: 'scaled' }).dataSync() as Float32Array,
      labels: tf.sigmoid(t.classify!).dataSync() as Float32Array,
      segment: t.segment!.dataSync() as Float32Array,
    };
  });
}

function maxRel(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-12);
}

/** Share of pixels whose argmax class agrees (K classes on the last axis). */
function argmaxAgreement(a: Float32Array, b: Float32Array, k: number): number {
  const am = (v: Float32Array, p: number): number => {
    let best = 0;
    for (let c = 1; c < k; c++) if (v[p * k + c]! > v[p * k + best]!) best = c;
    return best;
  };
  const n = a.length / k;
  let same = 0;
  for (let p = 0; p < n; p++) if (am(a, p) === am(b, p)) same++;
  return same / n;
}

function checkAgainst(what: string, got: Outputs, want: Outputs, nc: number): void {
  const rows = rowDiff(got.detections, want.detections, 5 + nc);
  assert.ok(rows.box <= 1e-4 && rows.score <= 1e-4, `${what}: detections differ (${JSON.stringify(rows)})`);
  const dl = maxRel(got.labels, want.labels);
  assert.ok(dl <= 1e-4, `${what}: labels relative difference ${dl}`);
  const ds = maxRel(got.segment, want.segment);
  assert.ok(ds <= 1e-4, `${what}: segment logits relative difference ${ds}`);
  const agree = argmaxAgreement(got.segment, want.segment, nc + 1);
  assert.ok(agree >= 0.999, `${what}: class maps agree on ${(agree * 100).toFixed(3)} % of pixels`);
}

async function runOnnx(file: string, x: Float32Array, batch: number): Promise<Outputs> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(readFileSync(file));
  try {
    // NCHW input, as exported by default.
    const hw = IMGSZ * IMGSZ;
    const nchw = new Float32Array(x.length);
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) nchw[b * 3 * hw + c * hw + p] = x[b * 3 * hw + p * 3 + c]!;
    const out = await session.run({ images: new ort.Tensor('float32', nchw, [batch, 3, IMGSZ, IMGSZ]) });
    assert.deepEqual(session.outputNames, ['detections', 'labels', 'segment']);
    assert.deepEqual(out.labels!.dims, [batch, LABELS.length]);
    assert.deepEqual(out.segment!.dims, [batch, IMGSZ, IMGSZ, NAMES.length + 1]);
    return {
      detections: out.detections!.data as Float32Array,
      labels: out.labels!.data as Float32Array,
      segment: out.segment!.data as Float32Array,
    };
  } finally {
    await session.release();
  }
}

async function runTfjs(dir: string, x: Float32Array, batch: number): Promise<Outputs> {
  const det = await loadTfjsDetector(dir);
  try {
    const input = tf.tensor4d(x, [batch, IMGSZ, IMGSZ, 3]);
    const outs = det.model.execute(input, ['detections', 'labels', 'segment']) as tf.Tensor[];
    const [d, l, s] = outs.map((t) => t.dataSync() as Float32Array);
    assert.deepEqual(outs[2]!.shape, [batch, IMGSZ, IMGSZ, NAMES.length + 1]);
    tf.dispose([input, ...outs]);
    return { detections: d!, labels: l!, segment: s! };
  } finally {
    det.dispose();
  }
}

describe('multi-task export', () => {
  const x = shapesImages(1, IMGSZ);

  for (const op of ['add', 'mul', 'concat']) {
    test(`task_implicit ${op}: the folded ONNX and TF.js exports compute the unfused model's labels and class logits`, async (t) => {
      const m = model(['detect', 'classify', 'segment'], op);
      const dir = tmp('mt-export');
      try {
        const want = reference(m, x, 1);
        const onnx = await exportOnnx(m, join(dir, 'm.onnx'), { imgsz: IMGSZ, labelNames: LABELS });
        assert.equal(onnx.meta.fused, true);
        assert.ok(
          onnx.fuseReport!.folded.some((f) => f.startsWith('classify_head.code →')),
          onnx.fuseReport!.folded.join('\n'),
        );
        assert.deepEqual(onnx.meta.outputs, ['detections', 'labels', 'segment']);
        assert.deepEqual(onnx.meta.tasks, { labels: { names: LABELS }, segment: { names: ['background', ...NAMES] } });
        assert.deepEqual((await readOnnxMetadata(join(dir, 'm.onnx'))).tasks, onnx.meta.tasks);
        checkAgainst(`onnx/${op}`, await runOnnx(join(dir, 'm.onnx'), x, 1), want, NAMES.length);
        if (op === 'add') {
          // Opset 18 moved ReduceMean's axes from an attribute to an input.
          await exportOnnx(m, join(dir, 'm18.onnx'), { imgsz: IMGSZ, labelNames: LABELS, opset: 18 });
          checkAgainst('onnx/opset 18', await runOnnx(join(dir, 'm18.onnx'), x, 1), want, NAMES.length);
        }
        const web = await exportTfjs(m, join(dir, 'web'), { imgsz: IMGSZ, labelNames: LABELS });
        assert.deepEqual(Object.keys((JSON.parse(readFileSync(web.files[0]!, 'utf8')) as { signature: { outputs: object } }).signature.outputs), [
          'detections',
          'labels',
          'segment',
        ]);
        assert.deepEqual((await readTfjsMetadata(web.dir)).tasks, onnx.meta.tasks);
        const got = await runTfjs(web.dir, x, 1);
        checkAgainst(`tfjs/${op}`, got, want, NAMES.length);
        t.diagnostic(
          `${op}: labels Δ ${maxRel(got.labels, want.labels).toExponential(2)}, segment Δ ${maxRel(got.segment, want.segment).toExponential(2)}`,
        );
      } finally {
        m.dispose();
      }
    });
  }

  test('yolor val/predict runners read `detections` from a multi-task export (ONNX and TF.js)', async () => {
    const m = model(['detect', 'classify', 'segment']);
    const dir = tmp('mt-runner');
    try {
      const want = reference(m, x, 1).detections;
      await exportOnnx(m, join(dir, 'm.onnx'), { imgsz: IMGSZ });
      await exportTfjs(m, join(dir, 'web'), { imgsz: IMGSZ });
      for (const path of [join(dir, 'm.onnx'), join(dir, 'web')]) {
        const runner = await loadRunner(path);
        try {
          const got = await runner.decode(x, [1, IMGSZ, IMGSZ, 3]);
          const d = rowDiff(got, want, 5 + NAMES.length);
          assert.ok(d.box <= 1e-4 && d.score <= 1e-4, `${path}: ${JSON.stringify(d)}`);
          assert.deepEqual(runner.names, NAMES);
        } finally {
          await runner.dispose();
        }
      }
      const onnx = await OnnxDetector.load(join(dir, 'm.onnx'));
      assert.equal((await onnx.run(x, 1)).rows.length, want.length);
      await onnx.dispose();
    } finally {
      m.dispose();
    }
  });

  test('--no-tasks (tasks: false) gives the detection-only export byte for byte', async () => {
    const multi = model(['detect', 'classify', 'segment']);
    const det = new Detector(config(['detect']), 1);
    const dir = tmp('mt-bytes');
    try {
      const keep = new Set(det.stateDict().keys());
      det.loadStateDict(new Map([...multi.stateDict()].filter(([k]) => keep.has(k))));
      det.eval();
      await exportOnnx(multi, join(dir, 'a.onnx'), { imgsz: IMGSZ, tasks: false, producerVersion: 't' });
      await exportOnnx(det, join(dir, 'b.onnx'), { imgsz: IMGSZ, producerVersion: 't' });
      assert.ok(readFileSync(join(dir, 'a.onnx')).equals(readFileSync(join(dir, 'b.onnx'))), 'ONNX bytes differ');
      const a = await exportTfjs(multi, join(dir, 'wa'), { imgsz: IMGSZ, tasks: false });
      const b = await exportTfjs(det, join(dir, 'wb'), { imgsz: IMGSZ });
      for (let i = 0; i < 2; i++) assert.ok(readFileSync(a.files[i]!).equals(readFileSync(b.files[i]!)), `${a.files[i]} differs`);
      assert.equal(a.meta.tasks, undefined);
      assert.equal('tasks' in b.meta, false, 'a detection-only export has no tasks metadata');
    } finally {
      multi.dispose();
      det.dispose();
    }
  });

  test('dynamic batch: refused for the segment output (with the way out), fine for labels only', async () => {
    const seg = model(['detect', 'classify', 'segment']);
    const cls = model(['detect', 'classify']);
    const dir = tmp('mt-dynamic');
    try {
      await assert.rejects(
        exportOnnx(seg, join(dir, 's.onnx'), { imgsz: IMGSZ, dynamicBatch: true }),
        /segment head cannot be exported with a dynamic batch.*--no-tasks/,
      );
      await assert.rejects(
        exportTfjs(seg, join(dir, 's-web'), { imgsz: IMGSZ, dynamicBatch: true }),
        /segment head cannot be exported with a dynamic batch/,
      );
      const r = await exportOnnx(cls, join(dir, 'c.onnx'), { imgsz: IMGSZ, dynamicBatch: true, labelNames: LABELS });
      assert.deepEqual(r.meta.outputs, ['detections', 'labels']);
      const x3 = shapesImages(3, IMGSZ);
      const want = tf.tidy(() => tf.sigmoid(cls.forwardTasks(tf.tensor4d(x3, [3, IMGSZ, IMGSZ, 3])).classify!).dataSync() as Float32Array);
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(readFileSync(join(dir, 'c.onnx')));
      const hw = IMGSZ * IMGSZ;
      const nchw = new Float32Array(x3.length);
      for (let b = 0; b < 3; b++)
        for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) nchw[b * 3 * hw + c * hw + p] = x3[b * 3 * hw + p * 3 + c]!;
      const out = await session.run({ images: new ort.Tensor('float32', nchw, [3, 3, IMGSZ, IMGSZ]) });
      await session.release();
      assert.ok(maxRel(out.labels!.data as Float32Array, want) <= 1e-4);
      const web = await exportTfjs(cls, join(dir, 'c-web'), { imgsz: IMGSZ, dynamicBatch: true });
      const det = await loadTfjsDetector(web.dir);
      const y = det.model.execute(tf.tensor4d(x3, [3, IMGSZ, IMGSZ, 3]), 'labels') as tf.Tensor;
      assert.ok(maxRel(y.dataSync() as Float32Array, want) <= 1e-4);
      y.dispose();
      det.dispose();
    } finally {
      seg.dispose();
      cls.dispose();
    }
  });

  test('a model without the detect head is refused at export, saying why', async () => {
    const m = model(['classify', 'segment']);
    const dir = tmp('mt-nodetect');
    try {
      await assert.rejects(
        exportOnnx(m, join(dir, 'x.onnx'), { imgsz: IMGSZ }),
        /has no detect head \(tasks: classify, segment\).*train with detect among --tasks/,
      );
      await assert.rejects(exportTfjs(m, join(dir, 'web'), { imgsz: IMGSZ }), /has no detect head/);
    } finally {
      m.dispose();
    }
  });
});
