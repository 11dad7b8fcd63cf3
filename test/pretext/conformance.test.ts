/**
 * One conformance suite over every registered pretext task (pretext/registry.ts):
 * a task that does not keep the contract of the pretext table cannot be
 * registered unnoticed, because these tests iterate the registry. For each task,
 * on a tiny pretext network with that task:
 *   - the spec is complete (name, module, description, reference, weight);
 *   - its state, if any, survives a JSON round trip and checkState;
 *   - the loss is finite and ≥ 0 on a random batch, reports `loss` (and `acc` in
 *     [0, 1] when it says so), and is the same for the same seed;
 *   - its gradient with respect to the head's parameters matches central finite
 *     differences along a random direction (the head and the loss are the task's code);
 *   - a few optimiser steps on one batch lower the loss.
 * And a combined network with every task builds one head per task.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { type ModelConfig, parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { PretextNetwork } from '../../src/models/pretext-network.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { pretextOptions } from '../../src/pretext/options.js';
import { PRETEXT_NAMES, PRETEXT_TASKS } from '../../src/pretext/registry.js';
import type { PretextBatch, PretextSpec } from '../../src/pretext/types.js';
import { Rng } from '../../src/util/rng.js';

const S = 64;
const B = 4;

before(async () => {
  await initBackend('wasm');
});

function tinyConfig(): ModelConfig {
  const raw = serializeModelConfig(resolveModelConfig('yolor-n'));
  delete raw.names;
  return parseModelConfig({ ...raw, name: 'tiny-pretext', nc: 3, width_multiple: 0.125, depth_multiple: 0.33, imgsz: S }, 'pretext conformance');
}

/** Smooth random images (so that tiles, rotations and colours carry signal), values in [0, 1]. */
function randomBatch(seed: number, b = B, s = S): PretextBatch {
  const rng = new Rng(seed);
  const images = new Float32Array(b * s * s * 3);
  for (let i = 0; i < b; i++) {
    const f = [rng.next() * 0.2, rng.next() * 0.2, rng.next() * 0.2];
    const ph = [rng.next() * 6, rng.next() * 6, rng.next() * 6];
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++)
        for (let c = 0; c < 3; c++)
          images[((i * s + y) * s + x) * 3 + c] = 0.5 + 0.4 * Math.sin(f[c]! * x + ph[c]!) * Math.cos(f[(c + 1) % 3]! * y * (1 + c) + ph[c]!);
  }
  return { images, shape: [b, s, s, 3] };
}

function network(spec: PretextSpec, seed = 0): PretextNetwork {
  const options = pretextOptions();
  const states = spec.init ? { [spec.name]: spec.init(options, new Rng(seed)) } : {};
  return new PretextNetwork(tinyConfig(), { tasks: [spec.name], states, imgsz: S, options, seed });
}

function lossOf(net: PretextNetwork, spec: PretextSpec, batch: PretextBatch, seed: number) {
  return spec.loss({
    encoder: net,
    head: net.heads[spec.name]!,
    batch,
    rng: new Rng(seed),
    state: net.opts.states[spec.name],
    options: net.opts.options,
  });
}

test('the pretext table lists each task once, with unique modules', () => {
  assert.equal(new Set(PRETEXT_NAMES).size, PRETEXT_NAMES.length);
  assert.equal(new Set(PRETEXT_TASKS.map((t) => t.module)).size, PRETEXT_TASKS.length);
  assert.ok(PRETEXT_NAMES.length >= 1);
});

for (const spec of PRETEXT_TASKS) {
  describe(`pretext task '${spec.name}'`, () => {
    test('spec is complete', () => {
      assert.match(spec.name, /^[a-z][a-z0-9-]*$/);
      assert.equal(spec.module, `pretext_${spec.name.replace(/-/g, '_')}`);
      assert.ok(spec.description.length > 10 && spec.reference.length > 5);
      assert.ok(spec.defaultWeight > 0);
    });

    test('state survives a JSON round trip', () => {
      if (!spec.init) return;
      const state = spec.init(pretextOptions(), new Rng(3));
      const back = JSON.parse(JSON.stringify(state));
      assert.ok(spec.checkState, 'a task with state checks what it reads back');
      assert.deepEqual(spec.checkState!(back, 'test'), state);
      assert.throws(() => spec.checkState!({ nonsense: true }, 'ckpt/model.json'), /ckpt\/model\.json/);
    });

    test('loss is finite, reports its items and is reproducible', () => {
      const net = network(spec);
      net.train();
      const batch = randomBatch(1);
      const a = tf.tidy(() => {
        const r = lossOf(net, spec, batch, 5);
        return { v: r.loss.dataSync()[0]!, items: r.items };
      });
      const b = tf.tidy(() => lossOf(net, spec, batch, 5).loss.dataSync()[0]!);
      assert.ok(Number.isFinite(a.v) && a.v >= 0, `loss ${a.v}`);
      assert.ok(Math.abs(a.items.loss - a.v) <= 1e-6 * Math.max(1, Math.abs(a.v)));
      assert.equal(a.v, b);
      if (spec.reportsAccuracy) assert.ok(a.items.acc !== undefined && a.items.acc >= 0 && a.items.acc <= 1);
      else assert.equal(a.items.acc, undefined);
      net.dispose();
    });

    test("the head's gradient matches central finite differences", () => {
      const net = network(spec);
      net.train();
      const batch = randomBatch(2);
      // The head and the loss are the task's own code (the encoder's layers have their own checks in selftest); a random
      // direction over all of the encoder's weights at once is too curved for float32 differences to resolve.
      const vars = net.parameters().filter((p) => p.group !== 'buffer' && p.name.startsWith(`${spec.module}.`));
      // Buffers (BN running statistics) move in training mode: restore them around each evaluation.
      const buffers = net.parameters().filter((p) => p.group === 'buffer');
      const saved = buffers.map((p) => tf.clone(p.variable));
      const restore = (): void => {
        buffers.forEach((p, i) => {
          p.variable.assign(saved[i]!);
        });
      };
      const f = (): number => {
        restore();
        return tf.tidy(() => lossOf(net, spec, batch, 7).loss.dataSync()[0]!);
      };
      restore();
      const { grads, value } = tf.variableGrads(
        () => lossOf(net, spec, batch, 7).loss,
        vars.map((p) => p.variable),
      );
      value.dispose();
      const rng = new Rng(9);
      const dirs = vars.map((p) => tf.tensor(rng.normalArray(p.variable.size), p.variable.shape));
      let analytic = 0;
      vars.forEach((p, i) => {
        const g = grads[p.variable.name];
        if (g) analytic += tf.tidy(() => tf.sum(tf.mul(g, dirs[i]!)).dataSync()[0]!);
      });
      const h = 1e-3;
      const originals = vars.map((p) => tf.clone(p.variable));
      const shift = (k: number): void => {
        vars.forEach((p, i) => {
          p.variable.assign(tf.tidy(() => tf.add(originals[i]!, tf.mul(dirs[i]!, k))));
        });
      };
      shift(h);
      const up = f();
      shift(-h);
      const down = f();
      shift(0);
      restore();
      const numeric = (up - down) / (2 * h);
      const rel = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
      assert.ok(rel < 3e-2, `directional derivative: analytic ${analytic}, numeric ${numeric} (relative error ${rel})`);
      tf.dispose([...Object.values(grads), ...dirs, ...originals, ...saved]);
      net.dispose();
    });

    test('a few optimiser steps on one batch lower the loss', () => {
      const net = network(spec);
      net.train();
      const batch = randomBatch(4);
      const opt = tf.train.adam(3e-3);
      const vars = net
        .parameters()
        .filter((p) => p.group !== 'buffer')
        .map((p) => p.variable);
      const losses: number[] = [];
      for (let k = 0; k < 12; k++) {
        const v = opt.minimize(() => lossOf(net, spec, batch, 11).loss, true, vars)!;
        losses.push(v.dataSync()[0]!);
        v.dispose();
      }
      assert.ok(losses[losses.length - 1]! < losses[0]!, `losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
      opt.dispose();
      net.dispose();
    });
  });
}

test('a network with every pretext task has one head per task', () => {
  const options = pretextOptions();
  const states = Object.fromEntries(PRETEXT_TASKS.filter((t) => t.init).map((t) => [t.name, t.init!(options, new Rng(0))]));
  const net = new PretextNetwork(tinyConfig(), { tasks: PRETEXT_NAMES, states, imgsz: S, options });
  for (const spec of PRETEXT_TASKS)
    assert.ok(
      net.parameters().some((p) => p.name.startsWith(`${spec.module}.`)),
      spec.name,
    );
  net.dispose();
});
