/**
 * `yolor export` as a library call: checkpoint → (folded) deploy model →
 * ONNX file or TF.js graph-model directory, then an optional check that runs
 * the export once (onnxruntime-node, or tfjs-converter's GraphModel) on a
 * deterministic test image and compares its decoded output with the tfjs
 * model's. The check's figure is max |export − tfjs| / max |tfjs| over the
 * whole output (boxes in pixels and scores together).
 */
import { loadModel } from '../models/checkpoint.js';
import type { Detector } from '../models/detector.js';
import type { FuseReport } from '../nn/fuse.js';
import { tfjsRunner } from '../infer/runner.js';
import { Rng } from '../util/rng.js';

export interface ExportOptions {
  format: 'onnx' | 'tfjs';
  imgsz?: number;
  batch?: number;
  dynamicBatch?: boolean;
  fuse?: boolean;
  nms?: { conf: number; iou: number; maxDet: number } | null;
  layout?: 'NCHW' | 'NHWC';
  opset?: number;
  /** Run the export once and compare with the tfjs model (default true). */
  check?: boolean;
  /** A multi-task model's classify and segment heads as extra outputs `labels` and `segment` (default true). */
  tasks?: boolean;
}

export interface ExportResult {
  path: string;
  bytes: number;
  nodes: number;
  inputShape: string;
  fused: boolean;
  fuseReport: FuseReport | null;
  check: { engine: string; maxRelDiff: number } | null;
}

/** A smooth, deterministic RGB test image in [0, 1] (NHWC, one image): blobs over a gradient. */
export function testImage(size: number, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const blobs = Array.from({ length: 6 }, () => ({ x: rng.next() * size, y: rng.next() * size, r: (0.05 + rng.next() * 0.2) * size, c: [rng.next(), rng.next(), rng.next()] }));
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      let c = [x / size * 0.5, y / size * 0.5, 0.3];
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r * b.r) c = b.c;
      out[o] = c[0]!;
      out[o + 1] = c[1]!;
      out[o + 2] = c[2]!;
    }
  }
  return out;
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`export check: output sizes differ (${a.length} vs ${b.length})`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Exports a loaded model. `names` and `imgsz` default to the config's; `labelNames` (classes then attributes) name the classify head's outputs. */
export async function exportDetector(model: Detector, output: string, opts: ExportOptions & { names?: string[]; labelNames?: string[] }): Promise<ExportResult> {
  const imgsz = opts.imgsz ?? model.config.dims.imgsz;
  const batch = opts.dynamicBatch ? 1 : (opts.batch ?? 1);
  const common = {
    imgsz, batch, fuse: opts.fuse ?? true, dynamicBatch: opts.dynamicBatch ?? false, tasks: opts.tasks ?? true,
    ...(opts.names ? { names: opts.names } : {}), ...(opts.labelNames ? { labelNames: opts.labelNames } : {}),
  };
  const inputShape = opts.format === 'onnx' && (opts.layout ?? 'NCHW') === 'NCHW'
    ? `[${opts.dynamicBatch ? 'batch' : batch}, 3, ${imgsz}, ${imgsz}]`
    : `[${opts.dynamicBatch ? 'batch' : batch}, ${imgsz}, ${imgsz}, 3]`;
  let result: ExportResult;
  if (opts.format === 'onnx') {
    const { exportOnnx } = await import('./onnx/index.js');
    const r = await exportOnnx(model, output, { ...common, layout: opts.layout ?? 'NCHW', opset: opts.opset ?? 17, nms: opts.nms ?? null });
    result = { path: r.path, bytes: r.bytes, nodes: r.nodes, inputShape, fused: r.meta.fused, fuseReport: r.fuseReport, check: null };
  } else {
    const { exportTfjs } = await import('./tfjs/index.js');
    const r = await exportTfjs(model, output, common);
    const { statSync } = await import('node:fs');
    const bytes = r.files.reduce((s, f) => s + statSync(f).size, 0);
    result = { path: r.dir, bytes, nodes: r.nodes, inputShape, fused: r.meta.fused, fuseReport: r.fuseReport, check: null };
  }
  if (opts.check ?? true) {
    const x = testImage(imgsz);
    const ref = await tfjsRunner(model).decode(x, [1, imgsz, imgsz, 3]);
    const { loadRunner } = await import('../infer/load-runner.js');
    const runner = await loadRunner(result.path);
    try {
      const got = await runner.decode(x, [1, imgsz, imgsz, 3]);
      result.check = { engine: runner.engine, maxRelDiff: maxRelDiff(got, ref) };
    } finally {
      await runner.dispose();
    }
  }
  return result;
}

/** Loads a checkpoint and exports it; the image size defaults to the one it was trained at. */
export async function exportCheckpoint(weights: string, output: string, opts: ExportOptions): Promise<ExportResult> {
  const { model, metadata } = await loadModel(weights);
  try {
    const names = metadata['names'] as string[] | undefined;
    const labelNames = checkpointLabelNames(model, metadata);
    const imgsz = opts.imgsz ?? (typeof metadata['imgsz'] === 'number' ? metadata['imgsz'] : undefined);
    return await exportDetector(model, output, { ...opts, ...(imgsz !== undefined ? { imgsz } : {}), ...(names ? { names } : {}), labelNames });
  } finally {
    model.dispose();
  }
}

/** The names of a checkpoint's classify-head outputs: its class names, then its attributes (what `yolor predict` prints). */
export function checkpointLabelNames(model: Detector, metadata: Record<string, unknown>): string[] {
  const names = ((metadata['names'] as string[] | undefined) ?? model.config.names ?? []).slice(0, model.config.nc).map(String);
  for (let i = names.length; i < model.config.nc; i++) names.push(`class${i}`);
  const attributes = Array.isArray(metadata['attributes']) ? (metadata['attributes'] as unknown[]).map(String) : [];
  return [...names, ...attributes];
}
