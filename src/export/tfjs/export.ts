/**
 * Writing and reading TF.js graph-model directories.
 *
 * `exportTfjs` traces the detector (folded by default), converts it and
 * writes `model.json` + `group1-shard1of1.bin` as one directory, atomically
 * (writeFilesAtomic: a reader sees the previous complete export or the new
 * one, never a mix). The directory is self-contained with relative paths, so
 * it can be served as is and loaded in a browser with
 * `tf.loadGraphModel('<url>/model.json')`. An existing directory is replaced
 * only if it is empty or a previous TF.js export.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { recoverAtomicDir, writeFilesAtomic } from '../../io/atomic-write.js';
import type { Detector } from '../../models/detector.js';
import type { FuseReport } from '../../nn/fuse.js';
import { type DetectorExportMeta, type TraceDetectorOptions, traceDetector } from '../trace-detector.js';
import { graphToTfjs, TFJS_MODEL_JSON, TFJS_SHARD, type TfjsGraphOptions } from './convert.js';

export type ExportTfjsOptions = TraceDetectorOptions & TfjsGraphOptions;

export interface ExportTfjsResult {
  /** Absolute path of the written directory. */
  dir: string;
  /** Absolute paths of the files written (model.json, then the weight shard). */
  files: string[];
  /** Nodes in the GraphDef (placeholder, ops, constants, outputs). */
  nodes: number;
  meta: DetectorExportMeta;
  fuseReport: FuseReport | null;
}

/**
 * The export replaces `dir` wholesale, so an existing directory must be empty
 * or hold only a previous TF.js export (model.json + .bin shards): anything
 * else (say, a project folder passed by mistake) is refused, not deleted.
 */
async function checkReplaceable(dir: string): Promise<void> {
  await recoverAtomicDir(dir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new Error(`TF.js export: ${dir} exists and is not a directory`);
    throw err;
  }
  const foreign = names.filter((n) => n !== TFJS_MODEL_JSON && !n.endsWith('.bin'));
  if (foreign.length > 0) {
    throw new Error(
      `TF.js export: refusing to replace ${dir}: it holds files that are not part of a TF.js export (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`,
    );
  }
}

export async function exportTfjs(model: Detector, outDir: string, opts: ExportTfjsOptions = {}): Promise<ExportTfjsResult> {
  const dir = path.resolve(outDir);
  await checkReplaceable(dir);
  const traced = traceDetector(model, opts);
  const { modelJson, weightData } = graphToTfjs(traced, { dynamicBatch: opts.dynamicBatch });
  await writeFilesAtomic(dir, {
    [TFJS_MODEL_JSON]: JSON.stringify(modelJson),
    [TFJS_SHARD]: new Uint8Array(weightData),
  });
  return {
    dir,
    files: [path.join(dir, TFJS_MODEL_JSON), path.join(dir, TFJS_SHARD)],
    nodes: modelJson.modelTopology.node.length,
    meta: traced.meta,
    fuseReport: traced.fuseReport,
  };
}

/** Resolves a directory (or a model.json path) to the model.json path, repairing an interrupted export first. */
export async function tfjsModelJsonPath(dirOrJson: string): Promise<string> {
  const p = path.resolve(dirOrJson);
  const dir = p.endsWith('.json') ? path.dirname(p) : p;
  await recoverAtomicDir(dir);
  return p.endsWith('.json') ? p : path.join(dir, TFJS_MODEL_JSON);
}

/** The DetectorExportMeta stored in an exported directory's model.json. */
export async function readTfjsMetadata(dir: string): Promise<DetectorExportMeta> {
  const file = await tfjsModelJsonPath(dir);
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read TF.js model ${file}: ${(err as Error).message}`);
  }
  const meta = (json as { userDefinedMetadata?: { yolor?: DetectorExportMeta } } | null)?.userDefinedMetadata?.yolor;
  if (meta?.format !== 'yolor-ts') throw new Error(`${file} is not a yolor-ts TF.js export (no userDefinedMetadata.yolor)`);
  return meta;
}
