/**
 * The multi-task model: output shapes of every task head from one shared pass,
 * a model without the detection head, config validation of the task fields, the
 * per-task implicit codes (which exist, their sizes) and the deploy model: task
 * codes and batch norm folded, training-only modules dropped, outputs of every
 * task unchanged.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { type AlignOp, type ModelConfig, parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector, type TaskOutputs } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import type { ImplicitKind } from '../../src/nn/implicit.js';
import type { EmbedHead } from '../../src/tasks/embed/head.js';
import { Rng } from '../../src/util/rng.js';
import { perturb } from '../helpers/perturb.js';

before(async () => {
  await initBackend('wasm');
});

const IMGSZ = 64;
const NC = 3;
const NUM_LABELS = 5;
const NUM_IDS = 7;
const EMBED = 8;
const CONCAT = 4;

/** The zoo's yolor-n, serialized, shrunk and given every task (plus any overrides). */
function tinyRaw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  const implicit = { ...(raw.implicit as Record<string, unknown>), concat_channels: CONCAT };
  return {
    ...raw,
    name: 'tiny-mt',
    nc: NC,
    width_multiple: 0.125,
    depth_multiple: 0.33,
    imgsz: IMGSZ,
    tasks: ['detect', 'classify', 'segment', 'embed'],
    num_labels: NUM_LABELS,
    num_identities: NUM_IDS,
    embed_dim: EMBED,
    task_implicit: 'add',
    implicit,
    ...overrides,
  };
}

function tiny(overrides: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig(tinyRaw(overrides), 'test');
}

function input(b = 2, size = IMGSZ, seed = 5): tf.Tensor4D {
  return tf.tensor4d(new Rng(seed).normalArray(b * size * size * 3), [b, size, size, 3]);
}

/** Every output tensor of a TaskOutputs, in a fixed order, with a label. */
function flatten(out: TaskOutputs): Array<[string, tf.Tensor]> {
  const list: Array<[string, tf.Tensor]> = [];
  out.detect?.forEach((t, i) => {
    list.push([`detect[${i}]`, t]);
  });
  if (out.classify) list.push(['classify', out.classify]);
  if (out.segment) list.push(['segment', out.segment]);
  out.embed?.forEach((t, i) => {
    list.push([`embed[${i}]`, t]);
  });
  return list;
}

function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(tf.max(tf.abs(b)).dataSync()[0]!, 1e-6));
}

function param(model: Detector, name: string): tf.Variable | undefined {
  return model.parameters().find((p) => p.name === name)?.variable;
}

// ---------------------------------------------------------------------------------------------
// Shapes

test('forwardTasks: every head of a 4-task model from one pass, with the documented shapes', () => {
  const cfg = tiny();
  assert.deepEqual(cfg.tasks, ['detect', 'classify', 'segment', 'embed']);
  const m = new Detector(cfg, 1);
  const plain = new Detector(tiny({ tasks: ['detect'], task_implicit: 'none' }), 1);
  m.eval();
  plain.eval();
  const x = input();
  tf.tidy(() => {
    const out = m.forwardTasks(x);
    assert.deepEqual(Object.keys(out).sort(), ['classify', 'detect', 'embed', 'segment']);
    const na = cfg.anchors[0]!.length;
    // Detection: the same maps as forward(), and as a detect-only model with the same seed (the detection
    // head is built before the other heads, so it draws the same initial weights).
    const det = m.forward(x);
    const alone = plain.forward(x);
    assert.equal(out.detect!.length, m.strides.length);
    out.detect!.forEach((t, i) => {
      const s = m.strides[i]!;
      assert.deepEqual(t.shape, [2, IMGSZ / s, IMGSZ / s, na * (5 + NC)]);
      assert.equal(relDiff(t, det[i]!), 0, `detect[${i}] of forwardTasks differs from forward()`);
      assert.equal(relDiff(t, alone[i]!), 0, `detect[${i}] differs from the detect-only model's`);
    });
    assert.deepEqual(out.classify!.shape, [2, NUM_LABELS]);
    assert.deepEqual(out.segment!.shape, [2, IMGSZ, IMGSZ, NC + 1]);
    assert.equal(out.embed!.length, m.strides.length);
    out.embed!.forEach((t, i) => {
      assert.deepEqual(t.shape, [2, out.detect![i]!.shape[1], out.detect![i]!.shape[2], EMBED]);
    });
    for (const [name, t] of flatten(out)) assert.ok(tf.all(tf.isFinite(t)).dataSync()[0] === 1, `${name} not finite`);
  });
  // A non-square input that is a multiple of the largest stride: segment follows the input size.
  const r = tf.tensor4d(new Rng(7).normalArray(1 * 64 * 96 * 3), [1, 64, 96, 3]);
  tf.tidy(() => {
    const out = m.forwardTasks(r);
    assert.deepEqual(out.segment!.shape, [1, 64, 96, NC + 1]);
    assert.deepEqual(out.classify!.shape, [1, NUM_LABELS]);
    out.embed!.forEach((t, i) => {
      assert.deepEqual(t.shape, [1, 64 / m.strides[i]!, 96 / m.strides[i]!, EMBED]);
    });
  });
  assert.throws(
    () =>
      tf.tidy(() => {
        m.forwardTasks(tf.zeros([1, 48, 48, 3]) as tf.Tensor4D);
      }),
    /not a multiple of the largest stride/,
  );
  tf.dispose([x, r]);
  m.dispose();
  plain.dispose();
});

test('a model without the detect task: no detection head, forward() refuses clearly, forwardTasks works', () => {
  const cfg = tiny({ tasks: ['classify'] });
  const m = new Detector(cfg, 2);
  assert.equal(m.head, null);
  assert.equal(m.heads.segment, undefined);
  assert.equal(m.heads.embed, undefined);
  assert.ok(m.heads.classify);
  assert.ok(!m.parameters().some((p) => p.name.startsWith('head.')));
  m.eval();
  const x = input(2);
  assert.throws(() => m.forward(x), /tiny-mt: this model has no detection head \(tasks: classify\)/);
  tf.tidy(() => {
    const out = m.forwardTasks(x);
    assert.deepEqual(Object.keys(out), ['classify']);
    assert.deepEqual(out.classify!.shape, [2, NUM_LABELS]);
  });
  // It folds too.
  const { model: deploy } = m.fuse();
  tf.tidy(() => assert.ok(relDiff(deploy.forwardTasks(x).classify!, m.forwardTasks(x).classify!) <= 1e-4));
  x.dispose();
  m.dispose();
  deploy.dispose();
});

// ---------------------------------------------------------------------------------------------
// Config

test('config: task fields, defaults and round trip', () => {
  const d = parseModelConfig({ name: 'd', nc: 4 }, 'test');
  assert.deepEqual(d.tasks, ['detect']);
  assert.equal(d.taskImplicit, 'none');
  assert.equal(d.numLabels, 4);
  assert.equal(d.numIdentities, 0);
  assert.equal(d.taskWeighting, 'fixed');
  // Canonical order, comma-separated string accepted.
  const c = parseModelConfig({ name: 'c', tasks: 'segment, detect,classify' }, 'test');
  assert.deepEqual(c.tasks, ['detect', 'classify', 'segment']);
  const cfg = tiny({ task_implicit: 'concat', task_weighting: 'uncertainty' });
  assert.deepEqual(parseModelConfig(serializeModelConfig(cfg), 'again'), cfg);
});

test('config errors: embed without detect or identities, unknown and duplicate tasks', () => {
  assert.throws(() => tiny({ tasks: ['classify', 'embed'] }), /test: 'tasks' lists embed without detect/);
  assert.throws(() => tiny({ num_identities: 1 }), /test: 'num_identities' must be at least 2 for the embed task/);
  assert.throws(() => tiny({ num_identities: undefined }), /'num_identities' must be at least 2.*got 0/);
  assert.throws(() => tiny({ tasks: ['detect', 'track'] }), /test: 'tasks' has unknown task "track"/);
  assert.throws(() => tiny({ tasks: ['detect', 'classify', 'detect'] }), /'tasks' lists detect twice/);
  assert.throws(() => tiny({ tasks: [] }), /'tasks' must be a non-empty list/);
  assert.throws(() => tiny({ task_implicit: 'sub' }), /'task_implicit' must be one of none, add, mul, concat/);
  assert.throws(() => tiny({ task_weighting: 'learned' }), /'task_weighting' must be one of fixed, uncertainty/);
  assert.throws(() => tiny({ embed_dim: 1 }), /'embed_dim' must be ≥ 2/);
  // num_identities < 2 is fine without an embed task.
  assert.equal(tiny({ tasks: ['detect', 'classify'], num_identities: 0 }).numIdentities, 0);
});

test('config: implicit.refine accepts true/false/none/add/mul/both and rejects anything else', () => {
  const refine = (v: unknown) => parseModelConfig({ name: 'r', implicit: { align: 'add', refine: v } }, 'test').implicit.refine;
  assert.equal(refine(true), 'both');
  assert.equal(refine(false), 'none');
  assert.equal(refine(undefined), 'none');
  for (const m of ['none', 'add', 'mul', 'both'] as const) assert.equal(refine(m), m);
  for (const bad of ['yes', 'ADD', 1, 0, 'concat', '']) {
    assert.throws(() => refine(bad), /'implicit\.refine' must be true, false, none, add, mul or both/, `refine ${String(bad)}`);
  }
  // The refine modes build different detection heads.
  const names = (m: string) => {
    const d = new Detector(parseModelConfig({ name: 'r', nc: 2, width_multiple: 0.125, depth_multiple: 0.33, implicit: { refine: m } }, 'test'));
    const n = d.parameters().map((p) => p.name);
    d.dispose();
    return n;
  };
  const has = (list: string[], s: string) => list.some((n) => n.includes(s));
  const add = names('add');
  const mul = names('mul');
  const both = names('both');
  assert.ok(has(add, 'refine_add') && !has(add, 'refine_mul'));
  assert.ok(has(mul, 'refine_mul') && !has(mul, 'refine_add'));
  assert.ok(has(both, 'refine_add') && has(both, 'refine_mul'));
  assert.ok(!has(names('none'), 'refine'));
});

// ---------------------------------------------------------------------------------------------
// Task codes

function codeParams(m: Detector): string[] {
  return m
    .parameters()
    .map((p) => p.name)
    .filter((n) => /\.code\./.test(n));
}

test('task codes: one per non-detection head (per level for embed), sized to its input; none for task_implicit none', () => {
  for (const op of ['add', 'mul', 'concat'] as const) {
    const m = new Detector(tiny({ task_implicit: op }), 3);
    const ch = m.neck.outChannels;
    const last = ch[ch.length - 1]!;
    const codeChannels = (c: number) => (op === 'concat' ? CONCAT : c);
    const convIn = (c: number) => (op === 'concat' ? c + CONCAT : c);
    const z = (prefix: string) => param(m, `${prefix}.code.implicit.z`);
    assert.deepEqual(z('classify_head')?.shape, [codeChannels(last)], `${op}: classify code`);
    assert.equal(param(m, 'classify_head.conv.conv.weight')!.shape[2], convIn(last));
    assert.deepEqual(z('segment_head')?.shape, [codeChannels(ch[0]!)], `${op}: segment code`);
    assert.equal(param(m, 'segment_head.reduce.conv.weight')!.shape[2], convIn(ch[0]!));
    ch.forEach((c, i) => {
      assert.deepEqual(z(`embed_head.l${i}`)?.shape, [codeChannels(c)], `${op}: embed level ${i} code`);
      assert.equal(param(m, `embed_head.l${i}.conv.conv.weight`)!.shape[2], convIn(c));
    });
    // Codes start near the identity of their operation.
    const mean = (v: tf.Variable) => tf.tidy(() => tf.mean(v).dataSync()[0]!);
    assert.ok(Math.abs(mean(z('classify_head')!) - (op === 'mul' ? 1 : 0)) < 0.05);
    // Nothing else is called *.code.*: no detection-head code and exactly 2 + levels code tensors.
    assert.equal(codeParams(m).length, 2 + ch.length);
    m.dispose();
  }
  // The nn and mf kinds model each task code with their own tensors.
  const nn = new Detector(tiny({ implicit: { align: 'add', refine: true, kind: 'nn' } }), 3);
  assert.ok(param(nn, 'classify_head.code.implicit.z0') && param(nn, 'classify_head.code.implicit.fc.weight'));
  nn.dispose();
  const mf = new Detector(tiny({ implicit: { align: 'add', refine: true, kind: 'mf' } }), 3);
  assert.ok(param(mf, 'segment_head.code.implicit.basis') && param(mf, 'segment_head.code.implicit.coef'));
  mf.dispose();
  const none = new Detector(tiny({ task_implicit: 'none' }), 3);
  assert.deepEqual(codeParams(none), []);
  assert.equal(param(none, 'classify_head.conv.conv.weight')!.shape[2], none.neck.outChannels.at(-1));
  none.dispose();
});

test('task codes differ per task and per level (independent draws)', () => {
  const m = new Detector(tiny({ task_implicit: 'add' }), 3);
  const ch = m.neck.outChannels;
  const a = param(m, 'embed_head.l0.code.implicit.z')!;
  const b = param(m, 'segment_head.code.implicit.z')!;
  assert.equal(ch[0], a.shape[0]);
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!) > 0);
  m.dispose();
});

// ---------------------------------------------------------------------------------------------
// Deploy model

/** Moves every task code's parameters well away from its initial (near-identity) values. */
function perturbTaskCodes(model: Detector, seed: number): void {
  const rng = new Rng(seed);
  for (const p of model.parameters()) {
    if (!/\.code\./.test(p.name)) continue;
    const noise = tf.tensor(rng.normalArray(p.variable.size, 0.7), p.variable.shape);
    const next = tf.add(p.variable, noise);
    p.variable.assign(next);
    tf.dispose([noise, next]);
  }
}

/** Values of every task-code parameter (to see how far perturbation moved them). */
function codeSnapshot(model: Detector): Map<string, Float32Array> {
  return new Map(
    model
      .parameters()
      .filter((p) => /\.code\./.test(p.name))
      .map((p) => [p.name, Float32Array.from(p.variable.dataSync() as Float32Array)]),
  );
}

/** The smallest, over code tensors, of the largest change of one entry. */
function minMaxChange(before: Map<string, Float32Array>, after: Map<string, Float32Array>): number {
  let least = Infinity;
  for (const [name, v] of before) {
    const w = after.get(name)!;
    least = Math.min(least, Math.max(...v.map((x, i) => Math.abs(x - w[i]!))));
  }
  return least;
}

function checkFold(kind: ImplicitKind, op: Exclude<AlignOp, 'none'>, weighting: 'fixed' | 'uncertainty'): void {
  const cfg = tiny({ task_implicit: op, task_weighting: weighting, implicit: { align: 'add', refine: true, kind, concat_channels: CONCAT } });
  const model = new Detector(cfg, 4);
  assert.equal(model.taskBalance !== null, weighting === 'uncertainty');
  const initial = codeSnapshot(model);
  assert.equal(initial.size > 0, true);
  perturb(model, 11);
  perturbTaskCodes(model, 12);
  assert.ok(minMaxChange(initial, codeSnapshot(model)) > 0.3, 'every task code moved away from its near-identity start');
  model.eval();
  const x = input(2, IMGSZ, 5);
  const { model: deploy, report } = model.fuse();
  const tag = `${kind}/${op}/${weighting}`;
  tf.tidy(() => {
    const a = flatten(model.forwardTasks(x));
    const b = flatten(deploy.forwardTasks(x));
    assert.deepEqual(
      a.map(([n]) => n),
      b.map(([n]) => n),
    );
    assert.equal(a.length, 3 + 1 + 1 + 3);
    a.forEach(([name, t], i) => {
      assert.deepEqual(t.shape, b[i]![1].shape, `${tag}: ${name} shape`);
      const d = relDiff(b[i]![1], t);
      assert.ok(d <= 1e-4, `${tag}: ${name} fused vs unfused relative difference ${d}`);
    });
  });
  // The report lists every task code as folded into its head's first conv, and the dropped training-only modules.
  const levels = model.strides.length;
  const expectFolded = [
    'classify_head.code → classify_head.conv',
    'segment_head.code → segment_head.reduce',
    ...Array.from({ length: levels }, (_, i) => `embed_head.l${i}.code → embed_head.l${i}.conv`),
  ];
  for (const f of expectFolded) assert.ok(report.folded.includes(f), `${tag}: report lacks '${f}' in\n${report.folded.join('\n')}`);
  assert.ok(
    report.folded.some((f) => /^embed_head\.classifier → dropped/.test(f)),
    `${tag}: classifier drop not reported`,
  );
  assert.equal(
    report.folded.some((f) => /^task_balance → dropped/.test(f)),
    weighting === 'uncertainty',
  );
  assert.ok(!report.kept.some((k) => /_head/.test(k)), `${tag}: a task head kept something: ${report.kept.join('; ')}`);
  // Nothing of it remains.
  const names = deploy.parameters().map((p) => p.name);
  assert.deepEqual(
    names.filter((n) => /\.code\./.test(n)),
    [],
    `${tag}: task-code parameters left`,
  );
  assert.deepEqual(
    names.filter((n) => n.startsWith('embed_head.classifier')),
    [],
  );
  assert.deepEqual(
    names.filter((n) => n.startsWith('task_balance')),
    [],
  );
  assert.ok(!names.some((n) => /_head\..*\.bn\./.test(n)), `${tag}: batch norm left in a task head`);
  assert.equal((deploy.heads.embed as EmbedHead).classifier, null);
  assert.equal(deploy.taskBalance, null);
  // Concat codes folded: the head convs see the shared channels only.
  const ch = deploy.neck.outChannels;
  assert.equal(param(deploy, 'classify_head.conv.conv.weight')!.shape[2], ch[ch.length - 1]);
  assert.equal(param(deploy, 'segment_head.reduce.conv.weight')!.shape[2], ch[0]);
  ch.forEach((c, i) => {
    assert.equal(param(deploy, `embed_head.l${i}.conv.conv.weight`)!.shape[2], c);
  });
  assert.ok(deploy.numParams() < model.numParams(), `${tag}: fused ${deploy.numParams()} ≥ unfused ${model.numParams()}`);
  // The training model is untouched: its codes, classifier and balance still exist.
  assert.ok((model.heads.embed as EmbedHead).classifier);
  assert.ok(model.parameters().some((p) => /classify_head\.code\./.test(p.name)));
  assert.throws(() => deploy.train(), /cannot be trained/);
  x.dispose();
  model.dispose();
  deploy.dispose();
}

for (const kind of ['vector', 'nn', 'mf'] as const) {
  for (const op of ['add', 'mul', 'concat'] as const) {
    test(`fold equivalence with task codes: ${kind} ${op}`, () => checkFold(kind, op, kind === 'vector' && op === 'add' ? 'uncertainty' : 'fixed'));
  }
}

test('the task-free fold: task_implicit none still folds batch norm and drops the classifier', () => {
  const model = new Detector(tiny({ task_implicit: 'none' }), 4);
  perturb(model, 13);
  model.eval();
  const { model: deploy, report } = model.fuse();
  assert.ok(!report.folded.some((f) => /\.code →/.test(f)));
  assert.ok(report.folded.some((f) => /^embed_head\.classifier → dropped/.test(f)));
  const x = input(1, IMGSZ, 9);
  tf.tidy(() => {
    const a = flatten(model.forwardTasks(x));
    const b = flatten(deploy.forwardTasks(x));
    a.forEach(([name, t], i) => {
      assert.ok(relDiff(b[i]![1], t) <= 1e-4, name);
    });
  });
  x.dispose();
  model.dispose();
  deploy.dispose();
});
