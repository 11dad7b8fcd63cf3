/**
 * Traced detector → ONNX ModelProto.
 *
 * The traced graph (export/trace.ts) is lowered kernel by kernel with one rule
 * per tfjs kernel (rules-nn.ts, rules-tensor.ts); a kernel without a rule, or
 * an attribute a rule cannot reproduce exactly, raises
 * UnsupportedExportError naming the model layer. The layout pass lives in
 * context.ts: feature maps stay NCHW between convolutions and are transposed
 * back to NHWC only where a layout-sensitive op (the decoder's reshapes)
 * reads them. Constants become initializers (converted to the layout they
 * are used in). The input is `images` ([B, 3, H, W] for NCHW, the default, or
 * [B, H, W, 3]); the output is `detections` [B, N, 5+nc] (raw exports:
 * `map0`, `map1`, … NHWC), then a multi-task model's `labels` [B, L] and
 * `segment` [B, H, W, nc+1] (NHWC), plus `nms` [K, 7] when in-graph NMS is asked for
 * (see nms.ts). With `dynamicBatch` the batch axis of input and outputs is
 * the symbolic `batch`.
 */
import { readFileSync } from 'node:fs';
import { UnsupportedExportError } from '../errors.js';
import { exportOutputNames, type TracedDetector } from '../trace-detector.js';
import type { OnnxBuilder } from './builder.js';
import type { Rule } from './context.js';
import { LoweringContext, onnxDType } from './context.js';
import { foldConvAffine } from './fold-conv-affine.js';
import { metadataProps, type OnnxExportMeta } from './metadata.js';
import { appendNms, checkNmsOptions, type NmsOptions } from './nms.js';
import { NN_RULES } from './rules-nn.js';
import { TENSOR_RULES } from './rules-tensor.js';
import { DataType, encodeModel, type ModelProto, type ValueInfoProto } from './schema.js';

export interface OnnxExportOptions {
  /** ONNX opset (default 17; 13 to 21). */
  opset?: number;
  /** Layout of the `images` input (default NCHW, as ONNX users expect). */
  layout?: 'NCHW' | 'NHWC';
  /** Symbolic batch axis (default false: the traced batch is fixed). */
  dynamicBatch?: boolean;
  /** In-graph NMS (second output `nms`); default none. */
  nms?: NmsOptions | null;
  /**
   * Put each constant per-channel Add after a Conv into the Conv's bias (and, in the deploy
   * graph, constant Muls into its weights); default true. False keeps tfjs's separate ops
   * (for measuring what the fold buys).
   */
  foldConvBias?: boolean;
  /** ModelProto.producer_version (default the package version). */
  producerVersion?: string;
}

export const DEFAULT_OPSET = 17;
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** The package version (dist/src/export/onnx/ → package root), for producer_version. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export const ONNX_RULES: Record<string, Rule> = { ...NN_RULES, ...TENSOR_RULES };

/** The lowest IR version that can carry `opset` (ONNX's release table), for the widest runtime support. */
export function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function valueInfo(name: string, dtype: DataType, dims: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: { tensor_type: { elem_type: dtype, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/**
 * Gives the value `from` (a node output) the graph-output name `to` by
 * renaming it everywhere, or copies it there with Identity when `from` is a
 * graph input, an initializer, or already became another output.
 */
function nameOutput(b: OnnxBuilder, from: string, to: string, protectedNames: Set<string>, renamed: Map<string, string>): void {
  b.reserve(to);
  const src = renamed.get(from) ?? from;
  if (protectedNames.has(src) || !b.nodes.some((n) => n.output?.includes(src))) {
    b.node('Identity', [src], [to]);
    return;
  }
  for (const n of b.nodes) {
    n.input = n.input?.map((v) => (v === src ? to : v));
    n.output = n.output?.map((v) => (v === src ? to : v));
  }
  renamed.set(from, to);
  protectedNames.add(to);
}

export interface BuiltOnnxModel {
  model: ModelProto;
  meta: OnnxExportMeta;
}

/** Lowers a traced detector to a ModelProto (see `graphToOnnx`). */
export function buildOnnxModel(traced: TracedDetector, opts: OnnxExportOptions = {}): BuiltOnnxModel {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`onnx export: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}; got ${opset}`);
  }
  const layout = opts.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new Error(`onnx export: layout must be NCHW or NHWC; got ${String(layout)}`);
  const dynamic = opts.dynamicBatch ?? false;
  const nms = opts.nms ?? null;
  const { graph, meta } = traced;
  if (nms) {
    checkNmsOptions(nms);
    if (meta.output !== 'xywh-obj-cls') throw new Error('onnx export: in-graph NMS needs decoded rows (not a raw export)');
  }
  if (graph.inputs.length !== 1) throw new Error(`onnx export: expected one traced input; got ${graph.inputs.length}`);
  const input = graph.inputs[0]!;
  if (input.shape.length !== 4 || input.dtype !== 'float32')
    throw new Error(`onnx export: the input must be float32 [B, H, W, C]; got ${input.dtype} [${input.shape}]`);

  const ctx = new LoweringContext(graph, { dynamicBatch: dynamic, opset });
  const b = ctx.b;
  ctx.defineInput(input, layout === 'NCHW' ? 'nchw' : 'plain');
  for (const node of graph.nodes) {
    const rule = ONNX_RULES[node.kernel];
    if (!rule) throw new UnsupportedExportError('ONNX', node, 'has no ONNX conversion rule');
    ctx.begin(node);
    rule(ctx, node);
    ctx.end();
  }

  const [B, H, W, C] = input.shape as [number, number, number, number];
  const batchDim: number | string = dynamic ? 'batch' : B;
  const outNames = exportOutputNames(meta);
  if (outNames.length !== graph.outputs.length)
    throw new Error(`onnx export: ${graph.outputs.length} traced outputs for outputs ${outNames.join(', ')}`);
  b.namePrefix = 'output';
  const protectedNames = new Set<string>([input.name, ...b.initializers.map((t) => t.name!)]);
  const renamed = new Map<string, string>();
  const outputs: ValueInfoProto[] = [];
  graph.outputs.forEach((o, i) => {
    if (dynamic && !ctx.isBatch(o.name)) {
      throw new UnsupportedExportError(
        'ONNX',
        { kernel: 'output', layer: 'tail', layerType: 'output' },
        `[${o.shape}] does not carry the batch in its first dimension`,
      );
    }
    nameOutput(b, ctx.get(o.name, 'plain'), outNames[i]!, protectedNames, renamed);
    outputs.push(valueInfo(outNames[i]!, onnxDType(o.dtype), [batchDim, ...o.shape.slice(1)]));
  });
  if (nms) {
    appendNms(b, 'detections', meta.nc, nms, 'nms');
    outputs.push(valueInfo('nms', DataType.FLOAT, ['num_detections', 7]));
    outNames.push('nms');
  }

  const exportMeta: OnnxExportMeta = {
    ...meta,
    layout,
    batch: dynamic ? 'dynamic' : B,
    nms: nms ? { conf: nms.conf, iou: nms.iou, maxDet: nms.maxDet } : null,
    opset,
    input: input.name,
    outputs: outNames,
  };
  // Biases into their Conv (tfjs applies them as separate Adds); in the deploy graph also constant Muls into the weights.
  const { nodes, initializers } =
    (opts.foldConvBias ?? true)
      ? foldConvAffine(b.nodes, b.initializers, new Set(outNames), { foldMul: meta.fused })
      : { nodes: b.nodes, initializers: b.initializers };
  const inputDims = layout === 'NCHW' ? [batchDim, C, H, W] : [batchDim, H, W, C];
  const model: ModelProto = {
    ir_version: irVersionFor(opset),
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'yolor-ts',
    producer_version: opts.producerVersion ?? packageVersion(),
    doc_string: `${meta.model}: YOLOR-style detector exported by yolor-ts (input ${layout} RGB in [0, 1], letterboxed)`,
    graph: {
      name: meta.model,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(input.name, DataType.FLOAT, inputDims)],
      output: outputs,
    },
    metadata_props: metadataProps(exportMeta),
  };
  return { model, meta: exportMeta };
}

/** Serialises a traced detector as an ONNX model (bytes of a .onnx file). */
export function graphToOnnx(traced: TracedDetector, opts: OnnxExportOptions = {}): Uint8Array {
  return encodeModel(buildOnnxModel(traced, opts).model);
}
