/**
 * Kernel-level tracing: runs a function once on concrete inputs and records
 * every kernel the tfjs engine executes (its name, inputs, attributes and
 * outputs) into a graph. This is the one intermediate representation that the
 * exporters (ONNX, TF.js graph model) serialise, so every model the zoo can
 * build — any backbone, neck, head or implicit layer — exports without
 * per-layer export code; an exporter only needs a rule per kernel.
 *
 * Tensors that enter a kernel without having been produced by a traced kernel
 * (weights, folded implicit tensors, anchors and grids of the decoder, scalar
 * literals) are captured as constants with their values at that moment. Each
 * node is attributed to the model layer that computed it (the next leaf layer
 * to report itself in `withTrace`; kernels after the last layer belong to
 * `tail`, e.g. the decoder), so an exporter can name the layer it cannot export.
 *
 * Shapes are static: the trace is valid for the traced input shape (exporters
 * may relax the batch dimension, see `batchDim`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { withTrace } from '../nn/module.js';

export type TraceDType = 'float32' | 'int32' | 'bool';

export interface TraceValue {
  /** Unique name in the graph: `input`, `c<k>` (constants) or `t<k>` (node outputs). */
  name: string;
  shape: number[];
  dtype: TraceDType;
}

export interface TraceConstant extends TraceValue {
  values: Float32Array | Int32Array | Uint8Array;
}

export interface TraceNode {
  /** The tfjs kernel name (e.g. Conv2D, Add, Sigmoid, Reshape, ConcatV2 is 'Concat'). */
  kernel: string;
  /** Input names by the kernel's input keys (e.g. { x, filter }); list inputs (Concat's tensors) as `key.0`, `key.1`, … */
  inputs: Record<string, string>;
  attrs: Record<string, unknown>;
  outputs: TraceValue[];
  /** Path of the model layer that computed this node, or `tail` for kernels after the last layer. */
  layer: string;
  layerType: string;
}

export interface TraceGraph {
  inputs: TraceValue[];
  outputs: TraceValue[];
  nodes: TraceNode[];
  constants: Map<string, TraceConstant>;
}

type KernelInputs = Record<string, tf.Tensor | tf.Tensor[]>;
type RunKernel = (kernelName: string, inputs: KernelInputs, attrs?: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

function dtypeOf(t: tf.Tensor): TraceDType {
  if (t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool') return t.dtype;
  throw new Error(`trace: unsupported dtype ${t.dtype}`);
}

/** Copies attribute values (arrays, numbers, strings) so later mutation cannot change the record. */
function copyAttrs(attrs: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v instanceof tf.Tensor) throw new Error(`trace: tensor-valued attribute '${k}' is not supported`);
    out[k] = v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
  }
  return out;
}

/**
 * Traces `fn(...inputs)`: every kernel the engine runs at the top level (kernels
 * launched from inside other kernels are part of their parent) becomes a node.
 * The inputs and returned tensors are the graph's inputs and outputs; the
 * returned tensors are disposed.
 */
export function traceGraph(fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], inputs: tf.Tensor[], inputNames?: string[]): TraceGraph {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const original = engine.runKernel;
  const names = new Map<number, string>();
  const graph: TraceGraph = { inputs: [], outputs: [], nodes: [], constants: new Map() };
  inputs.forEach((x, i) => {
    const name = inputNames?.[i] ?? (inputs.length === 1 ? 'input' : `input${i}`);
    names.set(x.id, name);
    graph.inputs.push({ name, shape: x.shape.slice(), dtype: dtypeOf(x) });
  });
  let depth = 0;
  let counter = 0;
  let pending: TraceNode[] = [];
  const nameOf = (t: tf.Tensor): string => {
    const known = names.get(t.id);
    if (known) return known;
    const name = `c${graph.constants.size}`;
    const values = t.dataSync() as Float32Array | Int32Array | Uint8Array;
    graph.constants.set(name, { name, shape: t.shape.slice(), dtype: dtypeOf(t), values: values.slice() });
    names.set(t.id, name);
    return name;
  };
  // Kernels run before a leaf layer reports itself belong to that layer.
  const attribute = (layer: { name: string; type: string }): void => {
    for (const n of pending) {
      n.layer = layer.name;
      n.layerType = layer.type;
    }
    pending = [];
  };
  engine.runKernel = function (this: unknown, kernelName: string, kernelInputs: KernelInputs, attrs?: Record<string, unknown>) {
    if (depth > 0) return original.call(this, kernelName, kernelInputs, attrs);
    const ins: Record<string, string> = {};
    for (const [key, v] of Object.entries(kernelInputs)) {
      if (Array.isArray(v))
        v.forEach((t, i) => {
          ins[`${key}.${i}`] = nameOf(t);
        });
      else if (v) ins[key] = nameOf(v);
    }
    // A kernel that depends on no graph input (the decoder's grids, say) is folded:
    // its outputs become constants with their computed values.
    const dynamic = Object.values(ins).some((n) => !graph.constants.has(n));
    depth++;
    let out: tf.Tensor | tf.Tensor[];
    try {
      out = original.call(this, kernelName, kernelInputs, attrs);
    } finally {
      depth--;
    }
    const outs = Array.isArray(out) ? out : [out];
    if (!dynamic) {
      for (const t of outs) nameOf(t);
      return out;
    }
    const node: TraceNode = {
      kernel: kernelName,
      inputs: ins,
      attrs: copyAttrs(attrs),
      layer: 'tail',
      layerType: 'tail',
      outputs: outs.map((t) => {
        const name = `t${counter++}`;
        names.set(t.id, name);
        return { name, shape: t.shape.slice(), dtype: dtypeOf(t) };
      }),
    };
    graph.nodes.push(node);
    pending.push(node);
    return out;
  } as RunKernel;
  let result: tf.Tensor | tf.Tensor[];
  try {
    result = withTrace(() => fn(...inputs), { onRecord: attribute }).result;
  } finally {
    engine.runKernel = original;
  }
  const outs = Array.isArray(result) ? result : [result];
  for (const t of outs) {
    const name = names.get(t.id);
    if (!name) throw new Error('trace: an output was not computed by a traced kernel (is it an input or a constant?)');
    graph.outputs.push({ name, shape: t.shape.slice(), dtype: dtypeOf(t) });
  }
  tf.dispose(outs);
  return graph;
}

/** Number of nodes per kernel name, for summaries and tests. */
export function kernelHistogram(g: TraceGraph): Record<string, number> {
  const h: Record<string, number> = {};
  for (const n of g.nodes) h[n.kernel] = (h[n.kernel] ?? 0) + 1;
  return h;
}
