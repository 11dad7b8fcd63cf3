import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, TRAINING_KERNELS } from '../../src/index.js';

test('wasm backend initialises with SIMD and the training kernels registered', async () => {
  const info = await initBackend('wasm');
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(typeof info.simd, 'boolean');
  assert.match(info.reason, /explicit/);
  for (const k of TRAINING_KERNELS) {
    assert.ok(tf.getKernel(k.kernelName, 'wasm'), `${k.kernelName} registered on wasm`);
  }
});

test('cpu backend can be selected explicitly', async () => {
  const info = await initBackend('cpu');
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('auto picks tfjs-node when loadable, else wasm, and says why', async () => {
  const info = await initBackend('auto');
  assert.ok(['tensorflow', 'wasm'].includes(info.name));
  if (info.name === 'wasm') assert.match(info.reason, /tfjs-node/);
});

test('node backend gives a one-line, actionable error when tfjs-node is missing', async (t) => {
  let loaded = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    loaded = false;
  }
  if (loaded) return t.skip('@tensorflow/tfjs-node is installed here');
  await assert.rejects(initBackend('node'), (err: Error) => {
    assert.match(err.message, /tfjs-node/);
    assert.equal(err.message.includes('\n'), false);
    return true;
  });
});

test('an unknown backend name is rejected', async () => {
  await assert.rejects(initBackend('gpu' as never), /unknown backend 'gpu'/);
});
