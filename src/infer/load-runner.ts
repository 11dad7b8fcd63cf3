/**
 * Opens whatever `--weights` names as a DetectionRunner, through a registry of
 * runner loaders: each engine says which paths are its own (`matches`) and
 * opens them (`load`). The loaders are asked newest first, so that a loader
 * registered later can claim paths that an earlier, more general one would take:
 *   - a yolor-ts checkpoint directory (or its model.json): the tfjs model
 *     itself; registered here, it is asked last (any path with a model.json);
 *   - the exported formats, registered by export/runner-loaders.ts when it is
 *     imported (index.ts and the CLI's val and predict import it): a TF.js
 *     graph-model directory (or its model.json), run with tfjs-converter on the
 *     current backend, then an `.onnx` file (or any file that is not JSON),
 *     run with onnxruntime-node.
 * This layer never imports export/: the engines come to the registry.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel } from '../models/checkpoint.js';
import { type DetectionRunner, tfjsRunner } from './runner.js';

/** One engine's way of opening model files as a DetectionRunner. */
export interface RunnerLoader {
  /** What it opens, as the error for a path that no loader takes lists it (e.g. `checkpoint`, `.onnx file`). */
  readonly name: string;
  /**
   * Whether `path` (absolute, and existing) is this loader's to open. It may
   * throw when the path is of its kind but cannot be read (malformed JSON).
   */
  matches(path: string): boolean;
  load(path: string): Promise<DetectionRunner>;
}

const loaders: RunnerLoader[] = [];

/**
 * Adds a loader, asked before every loader registered earlier; a loader of the
 * same name takes the place of the one registered before (registering twice
 * changes nothing).
 */
export function registerRunnerLoader(loader: RunnerLoader): void {
  const i = loaders.findIndex((l) => l.name === loader.name);
  if (i >= 0) loaders[i] = loader;
  else loaders.push(loader);
}

/** The registered loaders in the order they were registered (loadRunner asks them in reverse). */
export function runnerLoaders(): readonly RunnerLoader[] {
  return [...loaders];
}

/** A directory's model.json, or the path itself (a model.json named directly). */
export function modelJsonPath(path: string): string {
  return statSync(path).isDirectory() ? join(path, 'model.json') : path;
}

/** A yolor-ts checkpoint (model.json + weights.bin with the model config in its metadata): the tfjs model itself. */
export const checkpointRunnerLoader: RunnerLoader = {
  name: 'checkpoint',
  matches: (path) => existsSync(modelJsonPath(path)),
  async load(path) {
    const { model, metadata } = await loadModel(statSync(path).isDirectory() ? path : resolve(path, '..'));
    const runner = tfjsRunner(model, metadata.names as string[] | undefined, true);
    const imgsz = typeof metadata.imgsz === 'number' ? metadata.imgsz : runner.imgsz;
    return { ...runner, imgsz };
  },
};

registerRunnerLoader(checkpointRunnerLoader);

/** `a`, `a or b`, `a, b or c` */
function either(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** The runner of the first loader, newest first, that takes `weights`; errors name the path. */
export async function loadRunner(weights: string): Promise<DetectionRunner> {
  const path = resolve(weights);
  if (!existsSync(path)) throw new Error(`${weights}: no such file or directory`);
  for (let i = loaders.length - 1; i >= 0; i--) {
    const loader = loaders[i]!;
    if (loader.matches(path)) return loader.load(path);
  }
  // The checkpoint loader takes any path with a model.json.
  throw new Error(`${weights}: not a ${either(loaders.map((l) => l.name))} (no model.json)`);
}
