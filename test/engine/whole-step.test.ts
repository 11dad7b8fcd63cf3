/**
 * A whole training step of the unified network (detection, classification,
 * segmentation and embedding heads; every kernel a step uses: convolutions and
 * their gradients, batch norm, SiLU, pooling, upsampling, concatenation, the
 * losses) gives the same loss and gradients on the wasm backend as on the
 * pure-JS cpu reference. This is how tfjs-backend-cpu's wrong
 * ResizeNearestNeighborGrad for batches was found (engine/kernels/resize-nearest-grad.ts).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { loadNativeAddon } from '../../src/engine/native/index.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { multiTaskLoss, type TaskBatch } from '../../src/tasks/multitask.js';
import { Rng } from '../../src/util/rng.js';

after(async () => {
  await initBackend('wasm');
});

test('a whole multi-task training step has the same loss and gradients on wasm (and with the native kernels, where built) as on the cpu reference', async () => {
  const cfg = parseModelConfig(
    {
      ...serializeModelConfig(resolveModelConfig('yolor-n')),
      nc: 3,
      tasks: ['detect', 'classify', 'segment', 'embed'],
      num_labels: 5,
      num_identities: 6,
    },
    'whole-step',
  );
  const rng = new Rng(21);
  // 64 px and 2 images: batch norm at the coarsest level still normalises 8 values per channel.
  const [b, s] = [2, 64];
  const targets = Float32Array.from([0, 0, 20, 22, 16, 20, 0, 2, 44, 40, 24, 18, 1, 1, 30, 30, 28, 28, 1, 2, 12, 50, 10, 12]);
  const semantic = new Uint8Array(b * s * s);
  for (let i = 0; i < semantic.length; i++) semantic[i] = (i >> 7) % 4;
  const batch: TaskBatch = {
    shape: [b, s, s, 3],
    targets,
    semantic,
    labels: Float32Array.from([1, 0, 1, 0, 1, 0, 1, 1, 1, 0]),
    identity: Int32Array.from([0, 3, 5, 2]),
  };
  const images = Float32Array.from(rng.normalArray(b * s * s * 3), (v) => 0.5 + 0.2 * v);
  const step = async (backend: 'wasm' | 'native' | 'cpu'): Promise<{ loss: number; grads: Map<string, Float32Array> }> => {
    await initBackend(backend);
    const model = new Detector(cfg, 4);
    model.train();
    try {
      const { value, grads } = tf.variableGrads(() => multiTaskLoss(model, model.forwardTasks(tf.tensor4d(images, batch.shape)), batch, {}).total);
      const out = new Map<string, Float32Array>();
      for (const p of model.parameters()) {
        const g = grads[p.variable.name];
        if (g) out.set(p.name, g.dataSync() as Float32Array);
      }
      const loss = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return { loss, grads: out };
    } finally {
      model.dispose();
    }
  };
  const cpu = await step('cpu');
  const engines: Array<'wasm' | 'native'> = loadNativeAddon().addon ? ['wasm', 'native'] : ['wasm'];
  for (const engine of engines) {
    const wasm = await step(engine);
    assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `${engine}: loss ${wasm.loss} vs ${cpu.loss}`);
    assert.equal(wasm.grads.size, cpu.grads.size);
    let num = 0;
    let den = 0;
    for (const [name, g] of cpu.grads) {
      const w = wasm.grads.get(name)!;
      for (let i = 0; i < g.length; i++) {
        num += (w[i]! - g[i]!) ** 2;
        den += g[i]! ** 2;
      }
    }
    // Float noise, amplified by batch norm's backward pass, stays around 3e-4; a wrong kernel gives O(1).
    const d = Math.sqrt(num / den);
    console.log(`${engine} vs cpu: relative gradient difference ${d.toExponential(2)}`);
    assert.ok(d < 3e-3, `${engine}: relative gradient difference ${d}`);
  }
});
