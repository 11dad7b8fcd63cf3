/**
 * ONNX export entry points: `exportOnnx` traces a detector (trace-detector.ts),
 * lowers it (convert.ts) and writes the .onnx file atomically;
 * `readOnnxMetadata` reads back what an exported file says about itself.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../io/atomic-write.js';
import type { Detector } from '../../models/detector.js';
import type { FuseReport } from '../../nn/fuse.js';
import { type TraceDetectorOptions, traceDetector } from '../trace-detector.js';
import { buildOnnxModel, type OnnxExportOptions } from './convert.js';
import { type OnnxExportMeta, parseOnnxMeta } from './metadata.js';
import { decodeModel, encodeModel } from './schema.js';

export { buildOnnxModel, DEFAULT_OPSET, graphToOnnx, irVersionFor, MAX_OPSET, MIN_OPSET, ONNX_RULES, type OnnxExportOptions } from './convert.js';
export { META_KEY, type OnnxExportMeta, parseOnnxMeta } from './metadata.js';
export type { NmsOptions } from './nms.js';
export { decodeModel, encodeModel } from './schema.js';

export interface OnnxExportResult {
  path: string;
  bytes: number;
  /** ONNX nodes in the graph. */
  nodes: number;
  meta: OnnxExportMeta;
  fuseReport: FuseReport | null;
}

/** Traces `model` and writes it to `outPath` as ONNX (atomically: readers never see a partial file). */
export async function exportOnnx(model: Detector, outPath: string, opts: TraceDetectorOptions & OnnxExportOptions = {}): Promise<OnnxExportResult> {
  const traced = traceDetector(model, opts);
  const { model: proto, meta } = buildOnnxModel(traced, opts);
  const bytes = encodeModel(proto);
  await writeFileAtomic(outPath, bytes);
  return { path: outPath, bytes: bytes.length, nodes: proto.graph?.node?.length ?? 0, meta, fuseReport: traced.fuseReport };
}

/** The yolor-ts metadata of an exported .onnx file (errors name the file). */
export async function readOnnxMetadata(path: string): Promise<OnnxExportMeta> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read ONNX model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let proto: ReturnType<typeof decodeModel>;
  try {
    proto = decodeModel(bytes);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return parseOnnxMeta(proto, path);
}
