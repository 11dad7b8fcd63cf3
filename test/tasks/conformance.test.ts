/**
 * One conformance suite over every registered task (tasks/registry.ts): a task
 * that does not keep the contract of the task table cannot be registered
 * unnoticed, because these tests iterate the registry. For each task, on a tiny
 * model with that task (and detection, which every model here has):
 *   - the spec is complete and consistent (names, columns, items, fixtures);
 *   - the head's output has the expected shapes and finite values;
 *   - the loss is finite and ≥ 0 on a tiny batch, and reports the items its
 *     progress bar and results columns read;
 *   - the loss's gradient with respect to the head's output matches central
 *     finite differences;
 *   - two data-parallel shards' losses and gradients add up to the whole batch's;
 *   - the evaluator gets a toy batch's hand-computed metrics (or, for a task
 *     evaluated on decoded rows, the detection evaluation fills its columns);
 *   - fuse() is exact for its task-specific implicit code (add, mul, concat);
 *   - predict writes something for the image.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { type ModelConfig, parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { multiTaskLoss, type TaskBatch, taskGlobalCounts } from '../../src/tasks/multitask.js';
import { TASK_NAMES, TASKS } from '../../src/tasks/registry.js';
import type { TaskSpec } from '../../src/tasks/types.js';
import { predictTasks } from '../../src/train/predict-tasks.js';
import { detectionEvaluation, type ValidationResult } from '../../src/train/validate.js';
import { Rng } from '../../src/util/rng.js';
import { perturb } from '../helpers/perturb.js';
import type { TaskFixture } from './fixtures/types.js';

const S = 64;
const B = 4;
const SPECS: readonly TaskSpec[] = TASKS;

/** Each registered task's fixture, test/tasks/fixtures/<task>.ts (missing: undefined, and the suite fails). */
const FIXTURES: Record<string, TaskFixture | undefined> = Object.fromEntries(
  await Promise.all(
    TASK_NAMES.map(async (name) => {
      try {
        return [name, ((await import(`./fixtures/${name}.js`)) as { fixture: TaskFixture }).fixture];
      } catch {
        return [name, undefined];
      }
    }),
  ),
);

before(async () => {
  await initBackend('wasm');
});

function config(task: string, overrides: Record<string, unknown> = {}): ModelConfig {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  return parseModelConfig(
    {
      ...raw,
      name: `tiny-${task}`,
      nc: 3,
      width_multiple: 0.125,
      depth_multiple: 0.33,
      imgsz: S,
      tasks: task === 'detect' ? ['detect'] : ['detect', task],
      num_labels: 5,
      num_identities: 7,
      embed_dim: 4,
      task_implicit: 'add',
      ...overrides,
    },
    'conformance',
  );
}

/** A batch of B images with every kind of label: boxes, image labels, class maps, identities. */
function tinyBatch(): { x: tf.Tensor4D; batch: TaskBatch } {
  const targets = Float32Array.from([
    0, 0, 20, 20, 16, 24, 0, 2, 44, 40, 30, 20, 1, 1, 32, 32, 40, 40, 1, 0, 10, 52, 12, 12, 2, 2, 30, 12, 20, 14, 3, 0, 40, 44, 24, 30, 3, 0, 12, 16,
    10, 12, 3, 1, 50, 50, 12, 10,
  ]);
  const labels = new Float32Array(B * 5);
  for (let o = 0; o < targets.length; o += 6) labels[targets[o]! * 5 + targets[o + 1]!] = 1;
  labels[3] = 1;
  labels[2 * 5 + 4] = 1;
  const semantic = new Uint8Array(B * S * S);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) semantic[(b * S + y) * S + x] = x < 16 ? 0 : 1 + ((x + y + b) % 3);
  const identity = Int32Array.from([0, 4, -1, 6, 2, 5, 1, 3]);
  const x = tf.tensor4d(new Rng(8).normalArray(B * S * S * 3), [B, S, S, 3]);
  return { x, batch: { shape: [B, S, S, 3], targets, labels, semantic, identity } };
}

/** Images [start, start + count) of a batch, targets re-indexed from 0. */
function shard(batch: TaskBatch, start: number, count: number): TaskBatch {
  const rows: number[] = [];
  const ids: number[] = [];
  for (let o = 0, r = 0; o < batch.targets.length; o += 6, r++) {
    const img = batch.targets[o]!;
    if (img < start || img >= start + count) continue;
    rows.push(img - start, ...batch.targets.subarray(o + 1, o + 6));
    ids.push(batch.identity![r]!);
  }
  const per = (a: { length: number }): number => a.length / batch.shape[0];
  const [, h, w, c] = batch.shape;
  return {
    shape: [count, h, w, c],
    targets: Float32Array.from(rows),
    identity: Int32Array.from(ids),
    labels: batch.labels!.slice(start * per(batch.labels!), (start + count) * per(batch.labels!)),
    semantic: batch.semantic!.slice(start * per(batch.semantic!), (start + count) * per(batch.semantic!)),
  };
}

const tensorsOf = (v: unknown): tf.Tensor[] => (Array.isArray(v) ? (v as tf.Tensor[]) : [v as tf.Tensor]);

test('the task table: every task once, with a fixture, consistent columns, items and names', () => {
  assert.equal(new Set(TASK_NAMES).size, TASK_NAMES.length, 'task names are unique');
  assert.equal(new Set(SPECS.map((s) => s.module)).size, SPECS.length, 'head module names are unique');
  const columns = SPECS.flatMap((s) => s.columns);
  assert.equal(new Set(columns).size, columns.length, 'results columns are unique across tasks');
  const labels = SPECS.flatMap((s) => s.progress.map(([l]) => l));
  assert.equal(new Set(labels).size, labels.length, 'progress labels are unique across tasks');
  for (const s of SPECS) {
    assert.ok(FIXTURES[s.name], `${s.name}: no conformance fixture (test/tasks/fixtures/${s.name}.ts)`);
    assert.ok(s.description && s.labels && s.summary({}).length > 0, `${s.name}: description, labels and summary`);
    for (const c of Object.keys(s.trainColumns)) assert.ok(s.columns.includes(c), `${s.name}: train column ${c} is not one of its columns`);
    assert.equal(
      Boolean(s.evaluator),
      Boolean(FIXTURES[s.name]!.evaluatorCase),
      `${s.name}: an evaluator needs a hand-computed fixture case, and only then`,
    );
  }
});

for (const spec of SPECS) {
  describe(`task ${spec.name}`, () => {
    test('head output: shapes and finite values', () => {
      const model = new Detector(config(spec.name), 1);
      const { x } = tinyBatch();
      tf.tidy(() => {
        const out = (model.forwardTasks(x) as Record<string, unknown>)[spec.name];
        const ts = tensorsOf(out);
        assert.deepEqual(
          ts.map((t) => t.shape),
          FIXTURES[spec.name]!.outputShapes(model, B, S),
        );
        for (const t of ts) assert.ok(tf.all(tf.isFinite(t)).dataSync()[0], `${spec.name}: non-finite output`);
      });
      x.dispose();
      model.dispose();
    });

    test('loss: finite, ≥ 0, reports what the progress bar and results columns read', () => {
      const model = new Detector(config(spec.name), 2);
      const { x, batch } = tinyBatch();
      tf.tidy(() => {
        const out = model.forwardTasks(x) as Record<string, unknown>;
        const r = spec.loss({
          net: model,
          head: model.heads[spec.name as 'detect']!,
          out: out[spec.name],
          batch,
          options: {},
          share: 1,
          memo: (_k, make) => make(),
        });
        const v = r.loss.dataSync()[0]!;
        assert.ok(Number.isFinite(v) && v >= 0, `${spec.name}: loss ${v}`);
        for (const key of [...spec.progress.map(([, k]) => k), ...Object.values(spec.trainColumns)]) {
          assert.ok(Number.isFinite(r.items[key]), `${spec.name}: item ${key} = ${r.items[key]}`);
        }
      });
      x.dispose();
      model.dispose();
    });

    test('loss gradient with respect to the head output matches central finite differences', () => {
      const model = new Detector(config(spec.name), 3);
      model.eval();
      const { x, batch } = tinyBatch();
      const outs = tensorsOf((model.forwardTasks(x) as Record<string, unknown>)[spec.name]).map((t) => tf.keep(t.clone()));
      const isList = Array.isArray((model.forwardTasks(x) as Record<string, unknown>)[spec.name]);
      const lossOf = (ts: tf.Tensor[]): tf.Scalar =>
        spec.loss({
          net: model,
          head: model.heads[spec.name as 'detect']!,
          out: isList ? ts : ts[0],
          batch,
          options: {},
          share: 1,
          memo: (_k, make) => make(),
        }).loss;
      // (+ 0·Σ outputs keeps maps the loss does not read — a level without picks — in the graph, with gradient 0.)
      const analytic = tf.tidy(() =>
        tf
          .grads((...ts: tf.Tensor[]) => tf.add(lossOf(ts), tf.mul(0, tf.addN(ts.map((t) => tf.sum(t))))))(outs)
          .map((g) => g.dataSync() as Float32Array),
      );
      const rng = new Rng(4);
      const values = outs.map((t) => Float32Array.from(t.dataSync()));
      let worst = 0;
      for (let k = 0; k < 16; k++) {
        const li = rng.int(0, outs.length - 1);
        const i = rng.int(0, values[li]!.length - 1);
        const eps = 1e-2;
        const at = (d: number): number =>
          tf.tidy(() => {
            const v = values.map((a) => Float32Array.from(a));
            v[li]![i]! += d;
            return lossOf(v.map((a, j) => tf.tensor(a, outs[j]!.shape))).dataSync()[0]!;
          });
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        const a = analytic[li]![i]!;
        worst = Math.max(worst, Math.abs(numeric - a) / Math.max(1e-3, Math.abs(numeric) + Math.abs(a)));
      }
      assert.ok(worst < 3e-2, `${spec.name}: gradient relative error ${worst}`);
      tf.dispose(outs);
      x.dispose();
      model.dispose();
    });

    test("two data-parallel shards give the whole batch's loss and gradients", () => {
      const model = new Detector(config(spec.name), 5);
      model.eval();
      const { x, batch } = tinyBatch();
      const vars = model
        .parameters()
        .filter((p) => p.group !== 'buffer')
        .map((p) => p.variable);
      const step = (xs: tf.Tensor4D, b: TaskBatch, global?: ReturnType<typeof taskGlobalCounts>) =>
        tf.variableGrads(() => multiTaskLoss(model, model.forwardTasks(xs), b, global ? { global } : {}).total, vars);
      const whole = step(x, batch);
      const global = taskGlobalCounts(model, batch);
      const parts = [
        [0, 1],
        [1, 3],
      ].map(([start, count]) => {
        const xs = tf.slice(x, [start!, 0, 0, 0], [count!, S, S, 3]);
        const r = step(xs, shard(batch, start!, count!), global);
        xs.dispose();
        return r;
      });
      const total = parts.reduce((s, p) => s + p.value.dataSync()[0]!, 0);
      const want = whole.value.dataSync()[0]!;
      assert.ok(Math.abs(total - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${spec.name}: shards ${total} vs whole ${want}`);
      let diff = 0;
      let scale = 0;
      for (const [name, g] of Object.entries(whole.grads)) {
        const a = g.dataSync();
        const b0 = parts[0]!.grads[name]?.dataSync();
        const b1 = parts[1]!.grads[name]?.dataSync();
        for (let i = 0; i < a.length; i++) {
          diff = Math.max(diff, Math.abs(a[i]! - (b0?.[i] ?? 0) - (b1?.[i] ?? 0)));
          scale = Math.max(scale, Math.abs(a[i]!));
        }
      }
      assert.ok(diff / Math.max(scale, 1e-12) < 1e-4, `${spec.name}: gradients differ by ${diff / scale} (relative)`);
      tf.dispose([whole.value, ...Object.values(whole.grads), ...parts.flatMap((p) => [p.value, ...Object.values(p.grads)])]);
      x.dispose();
      model.dispose();
    });

    test('evaluator: hand-computed metrics on a toy batch (or the detection evaluation fills the columns)', () => {
      const model = new Detector(config(spec.name), 6);
      const fixture = FIXTURES[spec.name]!;
      if (!spec.evaluator) {
        const fake = {
          mAP50: 0.5,
          mAP50_95: 0.25,
          precision: 0.75,
          recall: 0.6,
          stats: [],
          perClass: {},
          loss: { box: 1, obj: 2, cls: 3 },
          speedMs: { preprocess: 0, inference: 0, postprocess: 0 },
        };
        const cols = detectionEvaluation(fake as unknown as ValidationResult).columns;
        const valColumns = spec.columns.filter((c) => !(c in spec.trainColumns));
        assert.deepEqual(
          Object.keys(cols).sort(),
          [...valColumns].sort(),
          `${spec.name}: the decoded-row evaluation fills exactly the validation columns`,
        );
        assert.equal(spec.fitness({ ...cols }), 0.1 * 0.5 + 0.9 * 0.25);
        model.dispose();
        return;
      }
      const c = fixture.evaluatorCase!(model);
      const e = spec.evaluator(model);
      e.reset();
      tf.tidy(() => e.process(c.batch, c.out));
      const r = e.evaluate();
      for (const [k, v] of Object.entries(c.expected))
        assert.ok(Math.abs(r.columns[k]! - v) < 1e-6, `${spec.name}: ${k} = ${r.columns[k]}, expected ${v}`);
      const valColumns = spec.columns.filter((col) => !(col in spec.trainColumns));
      assert.deepEqual(Object.keys(r.columns).sort(), [...valColumns].sort(), `${spec.name}: evaluation columns`);
      for (const v of Object.values(r.columns)) assert.ok(Number.isFinite(v), `${spec.name}: a non-finite column`);
      assert.ok(r.text.startsWith(spec.name), `${spec.name}: text '${r.text}'`);
      // The evaluator resets: the same batch again gives the same answer.
      e.reset();
      tf.tidy(() => e.process(c.batch, c.out));
      assert.deepEqual(e.evaluate().columns, r.columns);
      tf.dispose(tensorsOf(c.out));
      model.dispose();
    });

    for (const op of ['add', 'mul', 'concat'] as const) {
      test(`fuse() is exact for the task code (${op})`, () => {
        const model = new Detector(config(spec.name, { task_implicit: op }), 7);
        perturb(model, 11);
        model.eval();
        const deploy = model.fuse().model;
        const { x } = tinyBatch();
        tf.tidy(() => {
          const a = tensorsOf((model.forwardTasks(x) as Record<string, unknown>)[spec.name]);
          const b = tensorsOf((deploy.forwardTasks(x) as Record<string, unknown>)[spec.name]);
          a.forEach((t, i) => {
            const d = tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!;
            const s = tf.max(tf.abs(t)).dataSync()[0]!;
            assert.ok(d / Math.max(s, 1e-6) < 1e-4, `${spec.name} (${op}): folded output differs by ${d / s}`);
          });
        });
        x.dispose();
        deploy.dispose();
        model.dispose();
      });
    }

    test("predict: writes the task's part of an image's prediction", () => {
      const model = new Detector(config(spec.name), 8);
      if (!spec.predict) {
        // Detection's predictions are boxes, written by predictImages (test/train/train-e2e.test.ts).
        assert.equal(spec.name, 'detect', `${spec.name}: every task but detection predicts through its spec`);
        model.dispose();
        return;
      }
      const rng = new Rng(9);
      const image = { width: 80, height: 60, data: Uint8Array.from({ length: 80 * 60 * 3 }, () => Math.floor(rng.next() * 256)) };
      const parts = predictTasks(model, image, {
        imgsz: S,
        stem: 'img',
        labelNames: ['a', 'b', 'c', 'd', 'e'],
        labelThreshold: 0,
        detections: [{ box: [10, 10, 40, 30], cls: 1, score: 0.9 }],
      });
      const part = parts[spec.name as 'classify']!;
      assert.ok(part?.json && Object.keys(part.json).length > 0, `${spec.name}: no tasks.json fields`);
      for (const [name, bytes] of Object.entries(part.files ?? {})) {
        assert.ok(name.startsWith('img'), `${spec.name}: file ${name} is not named after the image`);
        assert.ok(bytes.length > 0, `${spec.name}: empty file ${name}`);
      }
      assert.doesNotThrow(() => JSON.stringify(part.json));
      model.dispose();
    });
  });
}
