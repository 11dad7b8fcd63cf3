/**
 * The runner-loader registry (infer/load-runner.ts) and the loaders of the
 * export layer (export/runner-loaders.ts): which path each takes, in which
 * order, the errors, and that every engine opens a real model and decodes
 * like the tfjs model. infer/ alone knows checkpoints only; importing the
 * export loaders adds the exported formats.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { loadRunner, type RunnerLoader, registerRunnerLoader, runnerLoaders } from '../../src/infer/load-runner.js';
import { tfjsRunner } from '../../src/infer/runner.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { rowDiff, shapesImages, smallConfig, testModel } from '../export/onnx-helpers.js';
import { tmp } from '../helpers/tmp.js';

const IMGSZ = 64;

before(async () => {
  await initBackend('wasm');
});

test('infer/ alone: the checkpoint loader, and errors that name the path', async () => {
  assert.deepEqual(
    runnerLoaders().map((l) => l.name),
    ['checkpoint'],
  );
  const dir = tmp('runner-empty');
  await assert.rejects(loadRunner(join(dir, 'nope')), (e: Error) => e.message === `${join(dir, 'nope')}: no such file or directory`);
  await assert.rejects(loadRunner(dir), (e: Error) => e.message === `${dir}: not a checkpoint (no model.json)`);
});

test('the export loaders register once, ONNX asked first; a path no loader takes lists them all', async () => {
  const { onnxRunnerLoader, tfjsGraphRunnerLoader } = await import('../../src/export/runner-loaders.js');
  await import('../../src/export/runner-loaders.js');
  registerRunnerLoader(onnxRunnerLoader);
  assert.deepEqual(
    runnerLoaders().map((l) => l.name),
    ['checkpoint', 'TF.js export', '.onnx file'],
  );
  assert.equal(runnerLoaders()[1], tfjsGraphRunnerLoader);
  const dir = tmp('runner-empty');
  await assert.rejects(loadRunner(dir), (e: Error) => e.message === `${dir}: not a checkpoint, TF.js export or .onnx file (no model.json)`);
});

test('which paths each export loader takes: ONNX by extension or by content, TF.js by its model.json format', async () => {
  const { onnxRunnerLoader: onnx, tfjsGraphRunnerLoader: web } = await import('../../src/export/runner-loaders.js');
  const dir = tmp('runner-match');
  const file = (name: string, body: string | Buffer): string => {
    writeFileSync(join(dir, name), body);
    return join(dir, name);
  };
  assert.equal(onnx.matches(file('m.ONNX', '{}')), true, 'the extension decides');
  assert.equal(onnx.matches(file('protobuf', Buffer.from([0x08, 0x07, 0x12, 0x04]))), true, 'not JSON: ONNX');
  assert.equal(onnx.matches(file('model.json', '  \n{"format": "graph-model"}')), false, 'JSON');
  assert.equal(onnx.matches(dir), false, 'a directory');
  assert.equal(web.matches(dir), true, 'a directory with a graph-model model.json');
  assert.equal(web.matches(join(dir, 'model.json')), true, 'that model.json itself');
  mkdirSync(join(dir, 'layers'));
  file('layers/model.json', '{"format": "layers-model", "modelTopology": {}}');
  assert.equal(web.matches(join(dir, 'layers')), false);
  mkdirSync(join(dir, 'none'));
  assert.equal(web.matches(join(dir, 'none')), false, 'no model.json');
  mkdirSync(join(dir, 'broken'));
  file('broken/model.json', '{"format": ');
  assert.throws(
    () => web.matches(join(dir, 'broken')),
    (e: Error) => e.message.startsWith(`${join(dir, 'broken', 'model.json')}: malformed JSON (`),
  );
  await assert.rejects(loadRunner(join(dir, 'broken')), /broken\/model\.json: malformed JSON \(/);
});

test('a loader registered later is asked first; one of the same name replaces the earlier', async () => {
  await import('../../src/export/runner-loaders.js');
  const dir = tmp('runner-custom');
  const path = join(dir, 'weights.custom');
  writeFileSync(path, 'custom engine');
  const asked: string[] = [];
  const custom = (engine: string): RunnerLoader => ({
    name: 'custom file',
    matches: (p) => {
      asked.push(p);
      return p.endsWith('.custom');
    },
    load: async () => ({
      engine,
      nc: 1,
      names: ['thing'],
      imgsz: 32,
      anySize: false,
      decode: async (images) => new Float32Array(images.length),
      dispose: async () => {},
    }),
  });
  registerRunnerLoader(custom('first'));
  registerRunnerLoader(custom('second'));
  assert.deepEqual(
    runnerLoaders().map((l) => l.name),
    ['checkpoint', 'TF.js export', '.onnx file', 'custom file'],
  );
  // Without the custom loader, this file (not JSON) would be taken for ONNX.
  const runner = await loadRunner(path);
  assert.equal(runner.engine, 'second');
  assert.deepEqual(asked, [path]);
  await assert.rejects(
    loadRunner(dir),
    (e: Error) => e.message === `${dir}: not a checkpoint, TF.js export, .onnx file or custom file (no model.json)`,
  );
});

test('a checkpoint, an ONNX file (with and without its extension) and a TF.js export open and decode like the model', async () => {
  const { exportOnnx } = await import('../../src/export/onnx/index.js');
  const { exportTfjs } = await import('../../src/export/tfjs/index.js');
  await import('../../src/export/runner-loaders.js');
  const m = testModel(smallConfig('yolor-n'));
  const dir = tmp('runner-engines');
  const x = shapesImages(2, IMGSZ);
  try {
    const want = await tfjsRunner(m).decode(x, [2, IMGSZ, IMGSZ, 3]);
    await saveModel(join(dir, 'ckpt'), m, { names: ['a', 'b', 'c'], imgsz: IMGSZ });
    await exportOnnx(m, join(dir, 'm.onnx'), { imgsz: IMGSZ });
    copyFileSync(join(dir, 'm.onnx'), join(dir, 'm-no-extension'));
    await exportTfjs(m, join(dir, 'web'), { imgsz: IMGSZ, dynamicBatch: true });
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'ckpt'), /^tfjs \(wasm\)$/],
      [join(dir, 'ckpt', 'model.json'), /^tfjs \(wasm\)$/],
      [join(dir, 'm.onnx'), /^onnxruntime-node$/],
      [join(dir, 'm-no-extension'), /^onnxruntime-node$/],
      [join(dir, 'web'), /^tfjs graph model \(wasm\)$/],
      [join(dir, 'web', 'model.json'), /^tfjs graph model \(wasm\)$/],
    ];
    for (const [path, engine] of cases) {
      const runner = await loadRunner(path);
      try {
        assert.match(runner.engine, engine, path);
        assert.equal(runner.imgsz, IMGSZ, path);
        assert.equal(runner.nc, 3, path);
        const d = rowDiff(await runner.decode(x, [2, IMGSZ, IMGSZ, 3]), want, 5 + 3);
        assert.ok(d.box <= 1e-3 && d.score <= 1e-4, `${path}: ${JSON.stringify(d)}`);
      } finally {
        await runner.dispose();
      }
    }
  } finally {
    m.dispose();
  }
});
