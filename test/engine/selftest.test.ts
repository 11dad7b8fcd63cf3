import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend, runSelftest, TRAINING_KERNELS } from '../../src/index.js';

test('selftest passes on wasm and covers every custom kernel and the training ops', async () => {
  await initBackend('wasm');
  const report = await runSelftest({ seed: 7 });
  const failed = report.results.filter((r) => !r.passed);
  assert.deepEqual(failed, [], `failures: ${JSON.stringify(failed, null, 1)}`);
  assert.equal(report.backend, 'wasm');
  const kernels = new Set(report.results.filter((r) => r.group === 'kernel').map((r) => r.name));
  for (const k of TRAINING_KERNELS) assert.ok(kernels.has(k.kernelName), `${k.kernelName} is checked`);
  const grads = new Set(report.results.filter((r) => r.group === 'gradient').map((r) => r.name));
  for (const op of ['conv2d', 'depthwiseConv2d', 'maxPool', 'resizeNearestNeighbor', 'batchNorm (train)', 'silu', 'mish', 'leakyRelu', 'gather']) {
    assert.ok(grads.has(op), `${op} gradient is checked`);
  }
});
