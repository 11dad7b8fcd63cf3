import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectedWeightBytes, fileSystemHandler, loadTensors, registerFileRouter, saveTensors } from '../../src/io/file-handler.js';

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'yolor-fh-'));
});
after(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function sampleArtifacts(): Promise<tf.io.ModelArtifacts> {
  const tensors = {
    'conv/kernel': tf.tensor4d([1.5, -2, 3, 4.25, 5, 6, 7, 8], [2, 2, 1, 2]),
    'conv/bias': tf.tensor1d([0.1, -0.2]),
    step: tf.tensor1d([7, -3, 2147483647], 'int32'),
    mask: tf.tensor1d([1, 0, 1], 'bool'),
  };
  const { data, specs } = await tf.io.encodeWeights(tensors);
  Object.values(tensors).forEach((t) => {
    t.dispose();
  });
  return {
    modelTopology: { class_name: 'Test', layers: [1, 2] },
    format: 'layers-model',
    generatedBy: 'test',
    convertedBy: null,
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: { epoch: 3 },
    trainingConfig: { loss: 'mse', optimizer_config: { class_name: 'SGD' } },
  };
}

describe('fileSystemHandler', () => {
  it('round-trips model artifacts through a directory', async () => {
    const dir = path.join(root, 'model');
    const artifacts = await sampleArtifacts();
    const result = await fileSystemHandler(dir).save!(artifacts);
    assert.equal(result.modelArtifactsInfo.weightDataBytes, (artifacts.weightData as ArrayBuffer).byteLength);
    assert.deepEqual((await fs.readdir(dir)).sort(), ['model.json', 'weights.bin']);

    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    assert.deepEqual(json.weightsManifest, [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }]);
    assert.deepEqual(json.userDefinedMetadata, { epoch: 3 });

    for (const target of [dir, path.join(dir, 'model.json')]) {
      const loaded = await fileSystemHandler(target).load!();
      assert.deepEqual(loaded.modelTopology, artifacts.modelTopology);
      assert.deepEqual(loaded.weightSpecs, artifacts.weightSpecs);
      assert.deepEqual(loaded.trainingConfig, artifacts.trainingConfig);
      assert.deepEqual(new Uint8Array(loaded.weightData as ArrayBuffer), new Uint8Array(artifacts.weightData as ArrayBuffer));
    }
  });

  it('accepts weightData as an array of buffers and a .json target', async () => {
    const artifacts = await sampleArtifacts();
    const whole = new Uint8Array(artifacts.weightData as ArrayBuffer);
    artifacts.weightData = [whole.slice(0, 5).buffer, whole.slice(5).buffer];
    const jsonPath = path.join(root, 'flat', 'net.json');
    await fileSystemHandler(jsonPath).save!(artifacts);
    assert.deepEqual((await fs.readdir(path.dirname(jsonPath))).sort(), ['net.json', 'net.weights.bin']);
    const loaded = await fileSystemHandler(jsonPath).load!();
    assert.deepEqual(new Uint8Array(loaded.weightData as ArrayBuffer), whole);
  });

  it('concatenates multiple shards in manifest order', async () => {
    const dir = path.join(root, 'sharded');
    await fs.mkdir(dir);
    const weights = [{ name: 'w', shape: [4], dtype: 'float32' as const }];
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    await fs.writeFile(path.join(dir, 'g1-shard1of2.bin'), data.subarray(0, 6));
    await fs.writeFile(path.join(dir, 'g1-shard2of2.bin'), data.subarray(6));
    await fs.writeFile(
      path.join(dir, 'model.json'),
      JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['g1-shard1of2.bin', 'g1-shard2of2.bin'], weights }] }),
    );
    const loaded = await fileSystemHandler(dir).load!();
    assert.deepEqual([...new Float32Array(loaded.weightData as ArrayBuffer)], [1, 2, 3, 4]);
  });

  it('names the file in errors', async () => {
    const missing = path.join(root, 'nope');
    await assert.rejects(fileSystemHandler(missing).load!(), (e: Error) => e.message.includes(missing));

    const emptyDir = path.join(root, 'empty');
    await fs.mkdir(emptyDir);
    await assert.rejects(
      fileSystemHandler(emptyDir).load!(),
      (e: Error) => e.message.includes(path.join(emptyDir, 'model.json')) && /not found/.test(e.message),
    );

    const corrupt = path.join(root, 'corrupt');
    await fileSystemHandler(corrupt).save!(await sampleArtifacts());
    await fs.writeFile(path.join(corrupt, 'model.json'), '{"modelTopology": {,');
    await assert.rejects(
      fileSystemHandler(corrupt).load!(),
      (e: Error) => e.message.includes(path.join(corrupt, 'model.json')) && /malformed JSON/.test(e.message),
    );

    const truncated = path.join(root, 'truncated');
    await fileSystemHandler(truncated).save!(await sampleArtifacts());
    const bin = path.join(truncated, 'weights.bin');
    await fs.truncate(bin, 10);
    await assert.rejects(
      fileSystemHandler(truncated).load!(),
      (e: Error) => e.message.includes(bin) && /size mismatch/.test(e.message) && /10 bytes/.test(e.message),
    );

    await fs.rm(bin);
    await assert.rejects(fileSystemHandler(truncated).load!(), (e: Error) => e.message.includes(bin) && /not found/.test(e.message));
  });
});

describe('saveTensors / loadTensors', () => {
  it('round-trips exact values, dtypes and metadata', async () => {
    const dir = path.join(root, 'tensors');
    const tensors = {
      a: tf.tensor2d([
        [1.25, -0.5],
        [3.25, 1e-20],
      ]),
      b: tf.tensor1d([-5, 0, 123456789], 'int32'),
      s: tf.scalar(42.5),
    };
    await saveTensors(dir, tensors, { epoch: 12, classes: ['car', 'person'] });
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'yolor-ts-weights');

    const { tensors: loaded, metadata } = await loadTensors(dir);
    assert.deepEqual(metadata, { epoch: 12, classes: ['car', 'person'] });
    assert.deepEqual(Object.keys(loaded).sort(), ['a', 'b', 's']);
    for (const [name, t] of Object.entries(tensors)) {
      const l = loaded[name]!;
      assert.equal(l.dtype, t.dtype);
      assert.deepEqual(l.shape, t.shape);
      assert.deepEqual(await l.data(), await t.data());
    }
    tf.dispose([...Object.values(tensors), ...Object.values(loaded)]);
  });
});

describe('expectedWeightBytes', () => {
  it('handles quantized and string weights', async () => {
    const q = [{ name: 'q', shape: [2, 3], dtype: 'float32' as const, quantization: { dtype: 'uint16' as const, scale: 1, min: 0 } }];
    assert.equal(expectedWeightBytes(q, new Uint8Array(0)), 12);
    const strings = tf.tensor1d(['ab', 'cde']);
    const { data, specs } = await tf.io.encodeWeights({ strings });
    strings.dispose();
    assert.equal(expectedWeightBytes(specs, new Uint8Array(data)), data.byteLength);
    assert.equal(expectedWeightBytes(specs, new Uint8Array(data).subarray(0, 7)), Number.POSITIVE_INFINITY);
  });
});

describe('registerFileRouter', () => {
  it('registers file:// once and routes to the file handler', async () => {
    const url = `file://${path.join(root, 'routed')}`;
    registerFileRouter();
    registerFileRouter();
    assert.equal(tf.io.getSaveHandlers('file:///tmp/x').length, 1);
    assert.equal(tf.io.getLoadHandlers('file:///tmp/x').length, 1);
    assert.equal(tf.io.getSaveHandlers('gs://bucket/x').length, 0);

    const [saver] = tf.io.getSaveHandlers(url);
    await saver!.save!(await sampleArtifacts());
    const [loader] = tf.io.getLoadHandlers(url);
    const loaded = await loader!.load!();
    assert.deepEqual(loaded.userDefinedMetadata, { epoch: 3 });
  });
});
