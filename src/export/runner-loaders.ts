/**
 * The exported formats as runner loaders of infer/load-runner.ts's registry;
 * importing this module registers them (ONNX is asked first):
 *   - `.onnx` files, or any file whose first non-blank byte does not open a
 *     JSON object (ONNX is protobuf): run with onnxruntime-node;
 *   - a TF.js graph-model directory, or its model.json (`"format":
 *     "graph-model"`): run with tfjs-converter on the current tfjs backend.
 * `loadRunner` is re-exported: imported from here, it opens checkpoints and
 * both exported formats. The engines themselves load on first use.
 */

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadRunner, modelJsonPath, type RunnerLoader, registerRunnerLoader } from '../infer/load-runner.js';

/** Runs a fixed-batch model image by image when a larger batch comes in. */
async function inChunks(
  images: Float32Array,
  shape: [number, number, number, number],
  fixed: number | null,
  run: (x: Float32Array, b: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const [b, h, w, c] = shape;
  if (fixed === null || fixed === b) return run(images, b);
  if (fixed !== 1) throw new Error(`this export takes batches of exactly ${fixed} images; got ${b} (export with --dynamic or --batch 1)`);
  const per = h * w * c;
  const parts: Float32Array[] = [];
  for (let i = 0; i < b; i++) parts.push(await run(images.subarray(i * per, (i + 1) * per), 1));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An `.onnx` file, or a file whose first non-blank byte does not open a JSON object (ONNX is protobuf). */
function isOnnxFile(path: string): boolean {
  if (path.toLowerCase().endsWith('.onnx')) return true;
  if (!statSync(path).isFile()) return false;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const n = readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('latin1').trimStart()[0];
    return first !== undefined && first !== '{';
  } finally {
    closeSync(fd);
  }
}

/** An exported ONNX model, run with onnxruntime-node (CPU). */
export const onnxRunnerLoader: RunnerLoader = {
  name: '.onnx file',
  matches: isOnnxFile,
  async load(path) {
    const { OnnxDetector } = await import('./onnx-runtime.js');
    const det = await OnnxDetector.load(path);
    return {
      engine: 'onnxruntime-node',
      nc: det.meta.nc,
      names: det.meta.names,
      imgsz: det.meta.imgsz,
      anySize: false,
      async decode(images, shape) {
        return (await det.run(images, shape[0])).rows;
      },
      async dispose() {
        await det.dispose();
      },
    };
  },
};

/** An exported TF.js graph model, run with tfjs-converter on the current tfjs backend. */
export const tfjsGraphRunnerLoader: RunnerLoader = {
  name: 'TF.js export',
  matches(path) {
    const json = modelJsonPath(path);
    if (!existsSync(json)) return false;
    let format: unknown;
    try {
      format = (JSON.parse(readFileSync(json, 'utf8')) as { format?: unknown }).format;
    } catch (err) {
      throw new Error(`${json}: malformed JSON (${(err as Error).message})`);
    }
    return format === 'graph-model';
  },
  async load(path) {
    const { loadTfjsDetector } = await import('./tfjs/load.js');
    const det = await loadTfjsDetector(modelJsonPath(path));
    return {
      engine: `tfjs graph model (${tf.getBackend()})`,
      nc: det.meta.nc,
      names: det.meta.names,
      imgsz: det.meta.imgsz,
      anySize: false,
      decode: (images, shape) =>
        inChunks(images, shape, det.batch, async (x, b) => {
          const t = det.run(x, b);
          const out = t.dataSync() as Float32Array;
          t.dispose();
          return out;
        }),
      async dispose() {
        det.dispose();
      },
    };
  },
};

registerRunnerLoader(tfjsGraphRunnerLoader);
registerRunnerLoader(onnxRunnerLoader);

export { loadRunner };
