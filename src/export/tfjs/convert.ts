/**
 * Traced detector → TF.js graph model (the model.json + weights that
 * `tf.loadGraphModel` reads), entirely in memory.
 *
 * Layout of the result:
 *   - `modelTopology`: a TF GraphDef (JSON) — a `Placeholder` named `images`
 *     ([B, H, W, 3] float32, B = -1 with `dynamicBatch`), one or more nodes per
 *     traced kernel (see ops.ts), `Const` nodes for weights and attribute
 *     tensors, and an `Identity` per output (`detections`, then a multi-task
 *     model's `labels` and `segment`; `map0`… for raw head maps) so the
 *     outputs have stable names;
 *   - `signature`: inputs/outputs by those names, so `model.execute(x)` and
 *     `model.predict(x)` return the detections without naming them;
 *   - `weightsManifest`: one group, one shard `group1-shard1of1.bin`, every
 *     Const's values in node order (paths relative to model.json, so the
 *     directory also loads over http);
 *   - `userDefinedMetadata.yolor`: the DetectorExportMeta.
 */

import { UnsupportedExportError } from '../errors.js';
import type { TraceNode, TraceValue } from '../trace.js';
import { exportOutputNames, type TracedDetector } from '../trace-detector.js';
import { attr, GraphBuilder, type GraphDef, tfDtype, type WeightEntry } from './graphdef.js';
import { type RuleContext, ruleFor } from './ops.js';

export const TFJS_INPUT = 'images';
export const TFJS_OUTPUT = 'detections';
export const TFJS_MODEL_JSON = 'model.json';
export const TFJS_SHARD = 'group1-shard1of1.bin';

export interface TfjsGraphOptions {
  /** Accept any batch size (the Placeholder's batch dimension is -1). Default false: the traced batch. */
  dynamicBatch?: boolean;
}

interface TensorInfo {
  name: string;
  dtype: string;
  tensorShape: { dim: { size: string }[] };
}

export interface TfjsModelJson {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: GraphDef;
  signature: { inputs: Record<string, TensorInfo>; outputs: Record<string, TensorInfo> };
  userDefinedMetadata: { yolor: TracedDetector['meta'] };
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
}

function tensorInfo(name: string, v: TraceValue, dynamic: boolean): TensorInfo {
  const shape = v.shape.map((d, i) => (dynamic && i === 0 ? -1 : d));
  return { name: `${name}:0`, dtype: tfDtype(v.dtype), tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } };
}

/** Converts a traced detector; throws UnsupportedExportError for anything it cannot express exactly. */
export function graphToTfjs(traced: TracedDetector, opts: TfjsGraphOptions = {}): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const { graph, meta } = traced;
  const dynamic = opts.dynamicBatch ?? false;
  if (graph.inputs.length !== 1) throw new Error(`TF.js export: expected one graph input, got ${graph.inputs.length}`);
  const input = graph.inputs[0]!;
  const batch = input.shape[0]!;
  const g = new GraphBuilder();
  const refs = new Map<string, string>();

  g.add({
    name: g.reserve(TFJS_INPUT),
    op: 'Placeholder',
    input: [],
    attr: {
      dtype: attr.type(input.dtype),
      shape: attr.shape(input.shape.map((d, i) => (dynamic && i === 0 ? -1 : d))),
    },
  });
  refs.set(input.name, TFJS_INPUT);
  const outNames = exportOutputNames(meta);
  if (outNames.length !== graph.outputs.length)
    throw new Error(`TF.js export: ${graph.outputs.length} traced outputs for outputs ${outNames.join(', ')}`);
  outNames.forEach((n) => {
    g.reserve(n);
  });

  const constRefs = new Map<string, string>();
  const values = new Map<string, TraceValue>([[input.name, input]]);
  const tracedValue = (node: TraceNode, key: string): TraceValue => {
    const name = node.inputs[key];
    if (name === undefined) throw new UnsupportedExportError('TF.js', node, `has no input '${key}'`);
    const v = graph.constants.get(name) ?? values.get(name);
    if (!v) throw new Error(`TF.js export: unknown traced value ${name}`);
    return v;
  };

  for (const node of graph.nodes) {
    const rule = ruleFor(node);
    const base = `${node.layer}/${node.kernel}`;
    const ctx: RuleContext = {
      node,
      g,
      base,
      dynamic,
      batch,
      refuse: (why) => {
        throw new UnsupportedExportError('TF.js', node, why);
      },
      value: (key) => tracedValue(node, key),
      constant: (key) => graph.constants.get(node.inputs[key] ?? '') ?? null,
      listKeys: () =>
        Object.keys(node.inputs)
          .filter((k) => /^(\w+\.)?\d+$/.test(k))
          .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())),
      ref: (key) => {
        const name = node.inputs[key];
        if (name === undefined) throw new UnsupportedExportError('TF.js', node, `has no input '${key}'`);
        const known = refs.get(name) ?? constRefs.get(name);
        if (known) return known;
        const k = graph.constants.get(name);
        if (!k) throw new Error(`TF.js export: ${node.kernel} in ${node.layer} reads ${name} before it is computed`);
        const r = g.constant(`${base}/${key.replace(/\W/g, '_')}`, k.dtype, k.shape, k.values);
        constRefs.set(name, r);
        return r;
      },
    };
    const outs = rule(ctx);
    if (outs.length !== node.outputs.length)
      throw new Error(`TF.js export: rule for ${node.kernel} gave ${outs.length} outputs, expected ${node.outputs.length}`);
    node.outputs.forEach((o, i) => {
      if (dynamic && o.shape[0] !== batch)
        ctx.refuse(`gives a result of shape [${o.shape}] without the batch on axis 0 (not relaxable to a dynamic batch)`);
      refs.set(o.name, outs[i]!);
      values.set(o.name, o);
    });
  }

  const signatureOutputs: Record<string, TensorInfo> = {};
  graph.outputs.forEach((o, i) => {
    const ref = refs.get(o.name);
    if (!ref) throw new Error(`TF.js export: output ${o.name} is not computed by the graph`);
    const name = outNames[i]!;
    g.add({ name, op: 'Identity', input: [ref], attr: { T: attr.type(o.dtype) } });
    signatureOutputs[name] = tensorInfo(name, o, dynamic);
  });

  const modelJson: TfjsModelJson = {
    format: 'graph-model',
    generatedBy: 'yolor-ts',
    convertedBy: 'yolor-ts TF.js graph-model exporter',
    modelTopology: g.graphDef(),
    signature: { inputs: { [TFJS_INPUT]: tensorInfo(TFJS_INPUT, input, dynamic) }, outputs: signatureOutputs },
    userDefinedMetadata: { yolor: meta },
    weightsManifest: [{ paths: [TFJS_SHARD], weights: g.weights }],
  };
  return { modelJson, weightData: g.weightData() };
}
