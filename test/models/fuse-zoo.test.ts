/**
 * The deploy model of every zoo model gives the same outputs as the training
 * model (relative difference ≤ 1e-4) after implicit tensors and batch-norm
 * statistics were moved far from their initial values, and has no more
 * parameters or FLOPs than the same architecture without implicit knowledge.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { type ModelConfig, NO_IMPLICIT, parseModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { summarizeModel } from '../../src/models/summary.js';
import { listZoo } from '../../src/models/zoo.js';
import { Rng } from '../../src/util/rng.js';
import { perturb } from '../helpers/perturb.js';

before(async () => {
  await initBackend('wasm');
});

function maxRelativeDifference(a: tf.Tensor[], b: tf.Tensor[]): number {
  return tf.tidy(() =>
    Math.max(...a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]! / Math.max(tf.max(tf.abs(t)).dataSync()[0]!, 1e-6))),
  );
}

function checkFused(cfg: ModelConfig, size: number): void {
  const model = new Detector(cfg, 4);
  perturb(model, 11);
  model.eval();
  const x = tf.tensor4d(new Rng(5).normalArray(2 * size * size * 3), [2, size, size, 3]);
  const { model: deploy, report } = model.fuse();
  const diff = tf.tidy(() => maxRelativeDifference(model.forward(x), deploy.forward(x)));
  assert.ok(diff <= 1e-4, `${cfg.name}: fused vs unfused relative difference ${diff}`);
  // Nothing implicit or BN remains except what the report lists as kept.
  const left = deploy.parameters().filter((p) => p.group === 'implicit' || p.group === 'bn' || p.group === 'buffer');
  const keptPaths = report.kept.map((k) => k.split(':')[0]!);
  for (const p of left)
    assert.ok(
      keptPaths.some((k) => p.name.startsWith(k)),
      `${cfg.name}: ${p.name} left unfolded without a report`,
    );
  const plain = new Detector({ ...cfg, implicit: { ...NO_IMPLICIT } });
  // Concatenated channels in front of a separable head widen the head itself: that architecture
  // is not the plain one, and the concat is reported as kept (checked below).
  const widened = report.kept.some((k) => k.includes('constant concat'));
  if (!widened) {
    const d = summarizeModel(deploy, size);
    const q = summarizeModel(plain, size);
    assert.ok(d.params <= q.params, `${cfg.name}: deploy params ${d.params} > plain ${q.params}`);
    assert.ok(d.gflops <= q.gflops + 1e-12, `${cfg.name}: deploy GFLOPs ${d.gflops} > plain ${q.gflops}`);
  } else {
    assert.equal(cfg.implicit.align, 'concat');
    assert.ok(cfg.neck === 'bifpn');
  }
  assert.throws(() => deploy.train(), /cannot be trained/);
  tf.dispose(x);
  [model, deploy, plain].forEach((m) => {
    m.dispose();
  });
}

for (const cfg of listZoo()) {
  test(`${cfg.name}: deploy model matches and costs no more than the plain architecture`, () => checkFused(cfg, 64));
}

for (const kind of ['vector', 'nn', 'mf'] as const) {
  for (const align of ['add', 'mul', 'concat'] as const) {
    for (const neck of ['pan', 'bifpn'] as const) {
      test(`fold equivalence: ${kind} ${align} alignment + refinement, ${neck}`, () => {
        checkFused(
          parseModelConfig(
            {
              name: `t-${kind}-${align}-${neck}`,
              nc: 3,
              neck,
              width_multiple: 0.125,
              bifpn_width: 16,
              bifpn_repeats: 1,
              head_depth: 1,
              implicit: { align, refine: true, kind },
            },
            'test',
          ),
          64,
        );
      });
    }
  }
}

test('the BiFPN head keeps the alignment add as a constant op and says why', () => {
  const cfg = parseModelConfig(
    {
      name: 'b',
      nc: 2,
      neck: 'bifpn',
      width_multiple: 0.125,
      bifpn_width: 16,
      bifpn_repeats: 1,
      head_depth: 1,
      implicit: { align: 'add', refine: true },
    },
    'test',
  );
  const m = new Detector(cfg);
  const { model: deploy, report } = m.fuse();
  assert.equal(report.kept.length, 3);
  assert.match(report.kept[0]!, /head\.l0\.align: kept as a constant add before head\.l0\.conv0\.dw \(the 3x3 conv zero-pads its input/);
  assert.ok(report.folded.some((f) => /head\.l0\.refine_mul → head\.l0\.pred/.test(f)));
  m.dispose();
  deploy.dispose();
});
