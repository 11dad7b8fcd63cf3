/**
 * A `file://` model handler for plain tfjs-core on Node (only tfjs-node ships
 * one). The on-disk layout is the standard tfjs one — `model.json` plus
 * `weights.bin` — so files are interchangeable with tfjs-node / the converter.
 */

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { recoverAtomicDir, writeFileAtomic, writeFilesAtomic } from './atomic-write.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const TENSORS_FORMAT = 'yolor-ts-weights';
const FILE_SCHEME = 'file://';

type ModelJSON = tf.io.ModelJSON;
type WeightsManifestEntry = tf.io.WeightsManifestEntry;

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * Byte size a manifest group's specs need. String tensors have per-element
 * lengths stored inline (uint32 length + bytes, as tf.io.encodeWeights writes
 * them), so the data is walked for those.
 */
export function expectedWeightBytes(specs: WeightsManifestEntry[], data: Uint8Array): number {
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.quantization) {
      const bytes = QUANT_BYTES[spec.quantization.dtype];
      if (bytes === undefined) {
        throw new Error(`weight '${spec.name}': unknown quantization dtype '${spec.quantization.dtype}'`);
      }
      offset += bytes * count;
    } else if (spec.dtype === 'string') {
      for (let i = 0; i < count; i++) {
        if (offset + 4 > data.byteLength) return Number.POSITIVE_INFINITY;
        // Native endianness, mirroring tf.io.encodeWeights.
        offset += 4 + new Uint32Array(toArrayBuffer(data.subarray(offset, offset + 4)))[0]!;
      }
    } else {
      const bytes = DTYPE_BYTES[spec.dtype];
      if (bytes === undefined) throw new Error(`weight '${spec.name}': unknown dtype '${spec.dtype}'`);
      offset += bytes * count;
    }
  }
  return offset;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

function buildModelJSON(artifacts: tf.io.ModelArtifacts, weightsPath: string): ModelJSON {
  const json: ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [weightsPath], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature;
  return json;
}

async function readModelJSON(jsonPath: string): Promise<ModelJSON> {
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new Error(`${path.basename(jsonPath)} not found: ${jsonPath}`);
    throw new Error(`cannot read ${jsonPath}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`malformed JSON in ${jsonPath}: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`malformed ${path.basename(jsonPath)} ${jsonPath}: expected a JSON object`);
  }
  const manifest = (json as ModelJSON).weightsManifest;
  if (manifest != null && !Array.isArray(manifest)) {
    throw new Error(`malformed ${path.basename(jsonPath)} ${jsonPath}: weightsManifest must be an array`);
  }
  return json as ModelJSON;
}

async function readWeights(jsonPath: string, manifest: tf.io.WeightsManifestConfig): Promise<{ specs: WeightsManifestEntry[]; data: ArrayBuffer }> {
  const dir = path.dirname(jsonPath);
  const specs: WeightsManifestEntry[] = [];
  const groups: Uint8Array[] = [];
  for (const group of manifest) {
    const shardPaths = group.paths.map((p) => path.resolve(dir, p));
    const shards: Uint8Array[] = [];
    for (const shard of shardPaths) {
      try {
        shards.push(await fs.readFile(shard));
      } catch (err) {
        if (errorCode(err) === 'ENOENT') {
          throw new Error(`weight shard not found: ${shard} (listed in ${jsonPath})`);
        }
        throw new Error(`cannot read weight shard ${shard}: ${(err as Error).message}`);
      }
    }
    // tfjs splits a group's bytes across shards at arbitrary offsets, so only the group total can be checked.
    const data = concatBytes(shards);
    let expected: number;
    try {
      expected = expectedWeightBytes(group.weights, data);
    } catch (err) {
      throw new Error(`${jsonPath}: ${(err as Error).message}`);
    }
    if (expected !== data.byteLength) {
      const want = Number.isFinite(expected) ? `${expected} bytes` : 'more bytes';
      throw new Error(
        `weight data size mismatch in ${shardPaths.join(', ')}: manifest in ${jsonPath} ` +
          `needs ${want}, files hold ${data.byteLength} bytes (truncated or corrupt?)`,
      );
    }
    specs.push(...group.weights);
    groups.push(data);
  }
  return { specs, data: toArrayBuffer(concatBytes(groups)) };
}

/** Resolves `target` (a directory or a .json file) to the model.json path. */
async function resolveJsonPath(target: string): Promise<string> {
  const resolved = path.resolve(target);
  if (resolved.endsWith('.json')) {
    await recoverAtomicDir(path.dirname(resolved));
    return resolved;
  }
  await recoverAtomicDir(resolved);
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(resolved);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new Error(`model directory not found: ${resolved}`);
    throw err;
  }
  return stat.isDirectory() ? path.join(resolved, MODEL_JSON) : resolved;
}

/**
 * IOHandler reading/writing a tfjs model at `target`: a directory (holding
 * model.json + weights.bin) or a path to a `.json` file.
 *
 * Saving to a directory replaces it atomically and wholesale (see
 * writeFilesAtomic). Saving to `<x>.json` writes `<x>.weights.bin` beside it
 * first and the JSON last, each atomically, so the JSON is the commit point.
 */
export function fileSystemHandler(target: string): tf.io.IOHandler {
  const save = async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('fileSystemHandler: binary model topology is not supported, only JSON');
    }
    if (artifacts.weightSpecs != null && artifacts.weightData == null) {
      throw new Error('fileSystemHandler: artifacts have weightSpecs but no weightData');
    }
    const weights = new Uint8Array(artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    const resolved = path.resolve(target);
    if (resolved.endsWith('.json')) {
      const weightsName = `${path.basename(resolved, '.json')}.${WEIGHTS_BIN}`;
      await writeFileAtomic(path.join(path.dirname(resolved), weightsName), weights);
      await writeFileAtomic(resolved, JSON.stringify(buildModelJSON(artifacts, weightsName)));
    } else {
      await writeFilesAtomic(resolved, {
        [MODEL_JSON]: JSON.stringify(buildModelJSON(artifacts, WEIGHTS_BIN)),
        [WEIGHTS_BIN]: weights,
      });
    }
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  };

  const load = async (): Promise<tf.io.ModelArtifacts> => {
    const jsonPath = await resolveJsonPath(target);
    const json = await readModelJSON(jsonPath);
    if (json.weightsManifest == null) return tf.io.getModelArtifactsForJSONSync(json);
    const { specs, data } = await readWeights(jsonPath, json.weightsManifest);
    return tf.io.getModelArtifactsForJSONSync(json, specs, data);
  };

  return { save, load };
}

function fileRouter(url: string | string[]): tf.io.IOHandler | null {
  const single = Array.isArray(url) ? (url.length === 1 ? url[0] : undefined) : url;
  if (typeof single !== 'string' || !single.startsWith(FILE_SCHEME)) return null;
  return fileSystemHandler(single.slice(FILE_SCHEME.length));
}

/**
 * Makes `tf.io` resolve `file://` URLs with fileSystemHandler, unless some
 * other handler (e.g. tfjs-node's) already claims them: two matching routers
 * make tfjs refuse to save. Safe to call repeatedly.
 */
export function registerFileRouter(): void {
  const probe = 'file:///yolor-ts-probe';
  // tfjs treats a null return as "not mine", although IORouter's type omits null.
  const router = fileRouter as (url: string | string[]) => tf.io.IOHandler;
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(router);
  if (tf.io.getLoadHandlers(probe).length === 0) tf.io.registerLoadRouter(router);
}

/** Saves named tensors (+ JSON metadata) as model.json/weights.bin at `target`. */
export async function saveTensors(target: string, tensors: Record<string, tf.Tensor>, metadata: object = {}): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await fileSystemHandler(target).save!({
    modelTopology: {},
    format: TENSORS_FORMAT,
    generatedBy: 'yolor-ts',
    convertedBy: null,
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: metadata as Record<string, object>,
  });
}

/** Loads tensors saved by saveTensors (or the weights of any tfjs model.json). Caller disposes them. */
export async function loadTensors(target: string): Promise<{ tensors: Record<string, tf.Tensor>; metadata: Record<string, unknown> }> {
  const artifacts = await fileSystemHandler(target).load!();
  const tensors = artifacts.weightSpecs && artifacts.weightData ? tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs) : {};
  return { tensors, metadata: (artifacts.userDefinedMetadata ?? {}) as Record<string, unknown> };
}
