/**
 * `yolor export` as a library call: checkpoint → (folded) deploy model →
 * ONNX file or TF.js graph-model directory, then an optional check that runs
 * the export once (onnxruntime-node, or tfjs-converter's GraphModel) on a
 * deterministic test image and compares its decoded output with the tfjs
 * model's (boxes and scores each on its own scale; see check-export.ts). The
 * check is a gate: beyond the tolerance the export throws ExportCheckError
 * naming the output that differed (the file stays written, for inspection).
 */
import { loadModel } from '../models/checkpoint.js';
import type { Detector } from '../models/detector.js';
import { fitImageSize } from '../models/image-size.js';
import type { FuseReport } from '../nn/fuse.js';
import { describeCheck, EXPORT_CHECK_TOLERANCE, type ExportCheck, validateTolerance } from './check-export.js';

export { testImage } from './check-export.js';

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
  /** The check's tolerance on both measures (default EXPORT_CHECK_TOLERANCE, 1e-4). */
  tolerance?: number;
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
  check: ExportCheck | null;
  /** Things the user should know (e.g. the image size was rounded up to a multiple of the stride). */
  warnings: string[];
}

/** The export was written, but its output differs from the tfjs model's beyond the tolerance. */
export class ExportCheckError extends Error {
  constructor(readonly result: ExportResult & { check: ExportCheck }) {
    super(
      `${describeCheck(result.check)}. The export at ${result.path} does not compute what the model computes; ` +
        'do not deploy it (--tol raises the tolerance, --no-check skips the check).',
    );
    this.name = 'ExportCheckError';
  }
}

/** Exports a loaded model. `names` and `imgsz` default to the config's; `labelNames` (classes then attributes) name the classify head's outputs. */
export async function exportDetector(
  model: Detector,
  output: string,
  opts: ExportOptions & { names?: string[]; labelNames?: string[] },
): Promise<ExportResult> {
  const fitted = fitImageSize(opts.imgsz ?? model.config.dims.imgsz, model.maxStride, model.config.name);
  const imgsz = fitted.imgsz;
  if (opts.check ?? true) validateTolerance(opts.tolerance ?? EXPORT_CHECK_TOLERANCE);
  const batch = opts.dynamicBatch ? 1 : (opts.batch ?? 1);
  const common = {
    imgsz,
    batch,
    fuse: opts.fuse ?? true,
    dynamicBatch: opts.dynamicBatch ?? false,
    tasks: opts.tasks ?? true,
    ...(opts.names ? { names: opts.names } : {}),
    ...(opts.labelNames ? { labelNames: opts.labelNames } : {}),
  };
  const inputShape =
    opts.format === 'onnx' && (opts.layout ?? 'NCHW') === 'NCHW'
      ? `[${opts.dynamicBatch ? 'batch' : batch}, 3, ${imgsz}, ${imgsz}]`
      : `[${opts.dynamicBatch ? 'batch' : batch}, ${imgsz}, ${imgsz}, 3]`;
  const warnings = fitted.warning ? [fitted.warning] : [];
  let result: ExportResult;
  if (opts.format === 'onnx') {
    const { exportOnnx } = await import('./onnx/index.js');
    const r = await exportOnnx(model, output, { ...common, layout: opts.layout ?? 'NCHW', opset: opts.opset ?? 17, nms: opts.nms ?? null });
    result = { path: r.path, bytes: r.bytes, nodes: r.nodes, inputShape, fused: r.meta.fused, fuseReport: r.fuseReport, check: null, warnings };
  } else {
    const { exportTfjs } = await import('./tfjs/index.js');
    const r = await exportTfjs(model, output, common);
    const { statSync } = await import('node:fs');
    const bytes = r.files.reduce((s, f) => s + statSync(f).size, 0);
    result = { path: r.dir, bytes, nodes: r.nodes, inputShape, fused: r.meta.fused, fuseReport: r.fuseReport, check: null, warnings };
  }
  if (opts.check ?? true) {
    const { checkExport } = await import('./run-check.js');
    result.check = await checkExport(model, result.path, opts.format, { imgsz, batch, tolerance: opts.tolerance ?? EXPORT_CHECK_TOLERANCE });
    if (!result.check.passed) throw new ExportCheckError(result as ExportResult & { check: ExportCheck });
  }
  return result;
}

/** Loads a checkpoint and exports it; the image size defaults to the one it was trained at. */
export async function exportCheckpoint(weights: string, output: string, opts: ExportOptions): Promise<ExportResult> {
  const { model, metadata } = await loadModel(weights);
  try {
    const names = metadata.names as string[] | undefined;
    const labelNames = checkpointLabelNames(model, metadata);
    const imgsz = opts.imgsz ?? (typeof metadata.imgsz === 'number' ? metadata.imgsz : undefined);
    return await exportDetector(model, output, { ...opts, ...(imgsz !== undefined ? { imgsz } : {}), ...(names ? { names } : {}), labelNames });
  } finally {
    model.dispose();
  }
}

/** The names of a checkpoint's classify-head outputs: its class names, then its attributes (what `yolor predict` prints). */
export function checkpointLabelNames(model: Detector, metadata: Record<string, unknown>): string[] {
  const names = ((metadata.names as string[] | undefined) ?? model.config.names ?? []).slice(0, model.config.nc).map(String);
  for (let i = names.length; i < model.config.nc; i++) names.push(`class${i}`);
  const attributes = Array.isArray(metadata.attributes) ? (metadata.attributes as unknown[]).map(String) : [];
  return [...names, ...attributes];
}
