/**
 * bench:train's PyTorch reference: the traced spec carries the network (kernels and
 * weight shapes, small constants with values), and where a Python with torch is present
 * (CI installs python3-torch) the rebuilt network has the model's parameter count, the
 * traced output shapes, and trains. Skipped, with the reason, without torch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findTorchPython, torchReference, traceForTorch } from '../../bench/torch-reference.js';
import { initBackend } from '../../src/engine/backend.js';

test('the traced spec holds every kernel and weight shape, values only for small constants', async () => {
  await initBackend('wasm');
  const { spec, params } = traceForTorch('yolor-n', 64) as {
    spec: { nodes: Array<{ kernel: string }>; constants: Record<string, { shape: number[]; values?: number[] }> };
    params: number;
  };
  assert.equal(params, 1932258);
  const convs = spec.nodes.filter((n) => n.kernel === 'Conv2D').length;
  assert.ok(convs >= 60, `${convs} convolutions traced`);
  for (const c of Object.values(spec.constants)) {
    const size = c.shape.reduce((a, b) => a * b, 1);
    assert.equal(c.values !== undefined, size <= 16, `constant [${c.shape}] sent ${c.values ? 'with' : 'without'} values`);
  }
});

const found = findTorchPython();
const skip = 'skipped' in found ? found.skipped : false;

test('PyTorch rebuilds yolor-n with the same parameters and trains it', { skip, timeout: 300_000 }, async () => {
  await initBackend('wasm');
  const r = await torchReference({ model: 'yolor-n', imgsz: 64, batch: 2, threads: 1, steps: 1 });
  assert.ok(!('skipped' in r), 'torch found');
  if ('skipped' in r) return;
  assert.equal(r.params, 1932258);
  assert.ok(r.imagesPerSecond > 0 && Number.isFinite(r.imagesPerSecond));
});
