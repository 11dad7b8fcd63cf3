/**
 * State of one traced-graph → ONNX lowering: which ONNX value currently holds
 * each traced value and in which layout, the constants materialised so far,
 * and which values carry the batch in their first dimension.
 *
 * Layouts. Every traced value is NHWC-world ("plain": the ONNX tensor equals
 * the traced tensor). A 4-D value may instead be held "nchw": the ONNX tensor
 * is the traced one transposed by [0, 3, 1, 2]. Convolutions, pools, resize
 * and batch norm want nchw inputs and give nchw outputs; elementwise ops and
 * concat/split follow their inputs (remapping axes, permuting constants);
 * everything else (reshape, the decoder's 5-D ops) sees plain values, and
 * `get(name, 'plain')` inserts the Transpose back only there (once per value).
 *
 * Batch. With `dynamicBatch`, a value is batch-carrying when its first
 * dimension is the (symbolic) batch. Rules keep that property explicit
 * (Reshape writes 0 in the batch position, constants that carry the traced
 * batch are reduced to one batch slice and broadcast or expanded) and a node
 * that would bury the batch elsewhere is refused, naming its layer.
 */
import { UnsupportedExportError } from '../errors.js';
import type { TraceConstant, TraceDType, TraceGraph, TraceNode, TraceValue } from '../trace.js';
import { OnnxBuilder } from './builder.js';
import { permuteValues, TO_NCHW, TO_NHWC } from './layout.js';
import { DataType } from './schema.js';

export type Layout = 'plain' | 'nchw';

/** Lowers one traced node: reads its inputs through the context, emits ONNX nodes, defines its outputs. */
export type Rule = (ctx: LoweringContext, node: TraceNode) => void;

interface Held {
  name: string;
  layout: Layout;
}

export function onnxDType(d: TraceDType): DataType {
  return d === 'float32' ? DataType.FLOAT : d === 'int32' ? DataType.INT32 : DataType.BOOL;
}

export interface LoweringOptions {
  dynamicBatch: boolean;
  opset: number;
}

export class LoweringContext {
  readonly b = new OnnxBuilder();
  /** The traced batch size. */
  readonly batch: number;
  private readonly values = new Map<string, TraceValue>();
  private readonly held = new Map<string, Held>();
  private readonly converted = new Map<string, string>();
  private readonly constCache = new Map<string, string>();
  private readonly batchCarrying = new Set<string>();
  private batchVec: string | null = null;
  private current: TraceNode | null = null;
  private inBatch = false;

  constructor(
    readonly graph: TraceGraph,
    readonly opts: LoweringOptions,
  ) {
    for (const v of graph.inputs) this.values.set(v.name, v);
    for (const c of graph.constants.values()) this.values.set(c.name, c);
    for (const n of graph.nodes) for (const o of n.outputs) this.values.set(o.name, o);
    this.batch = graph.inputs[0]?.shape[0] ?? 1;
  }

  get dynamic(): boolean {
    return this.opts.dynamicBatch;
  }

  /** The node being lowered (for error messages). */
  get node(): TraceNode {
    if (!this.current) throw new Error('onnx: no current node');
    return this.current;
  }

  fail(why: string): never {
    throw new UnsupportedExportError('ONNX', this.current ?? { kernel: 'graph', layer: 'graph', layerType: 'graph' }, why);
  }

  value(name: string): TraceValue {
    const v = this.values.get(name);
    if (!v) throw new Error(`onnx: unknown traced value ${name}`);
    return v;
  }

  shape(name: string): number[] {
    return this.value(name).shape;
  }

  rank(name: string): number {
    return this.value(name).shape.length;
  }

  isConst(name: string): boolean {
    return this.graph.constants.has(name);
  }

  constant(name: string): TraceConstant {
    const c = this.graph.constants.get(name);
    if (!c) this.fail(`needs input ${name} to be a constant (it is computed from the image)`);
    return c;
  }

  /** Layout a dynamic value is held in (constants: null). */
  layoutOf(name: string): Layout | null {
    if (this.isConst(name)) return null;
    const h = this.held.get(name);
    if (!h) throw new Error(`onnx: traced value ${name} used before it was lowered`);
    return h.layout;
  }

  isBatch(name: string): boolean {
    return this.batchCarrying.has(name);
  }

  /** Registers a graph input held under ONNX name `name`. */
  defineInput(v: TraceValue, layout: Layout): void {
    this.b.reserve(v.name);
    this.held.set(v.name, { name: v.name, layout });
    this.batchCarrying.add(v.name);
  }

  begin(node: TraceNode): void {
    this.current = node;
    this.inBatch = Object.values(node.inputs).some((n) => this.batchCarrying.has(n));
    this.b.namePrefix = node.layer;
  }

  end(): void {
    const node = this.node;
    for (const o of node.outputs) {
      if (!this.held.has(o.name)) throw new Error(`onnx: rule for ${node.kernel} did not define ${o.name}`);
      if (this.dynamic && this.inBatch && !this.batchCarrying.has(o.name)) {
        this.fail(`moves the batch out of the first dimension (output [${o.shape}]), so the batch cannot be dynamic`);
      }
    }
    this.current = null;
  }

  /** Whether the current node has a batch-carrying input. */
  get nodeInBatch(): boolean {
    return this.inBatch;
  }

  /**
   * Records that traced output `out` is held by ONNX value `onnxName` in
   * `layout`. By default it carries the batch when an input did and its first
   * dimension is the traced batch.
   */
  define(out: TraceValue, onnxName: string, layout: Layout, batch?: boolean): void {
    if (layout === 'nchw' && out.shape.length !== 4) throw new Error(`onnx: ${out.name} of rank ${out.shape.length} held as nchw`);
    this.held.set(out.name, { name: onnxName, layout });
    if (batch ?? (this.inBatch && out.shape[0] === this.batch)) this.batchCarrying.add(out.name);
  }

  /** A fresh ONNX name for traced output `out` (its traced name if still free). */
  outName(out: TraceValue): string {
    return this.b.claim(out.name);
  }

  /** The ONNX name of dynamic traced value `name` in layout `want` (inserting a Transpose once if needed). */
  get(name: string, want: Layout): string {
    if (this.isConst(name)) return this.constOperand(name, want, this.rank(name));
    const h = this.held.get(name);
    if (!h) throw new Error(`onnx: traced value ${name} used before it was lowered`);
    if (h.layout === want) return h.name;
    if (this.rank(name) !== 4) throw new Error(`onnx: ${name} of rank ${this.rank(name)} cannot be held as nchw`);
    const key = `${name}|${want}`;
    let t = this.converted.get(key);
    if (!t) {
      t = this.b.op('Transpose', [h.name], { perm: want === 'nchw' ? [...TO_NCHW] : [...TO_NHWC] }, `${name}_${want === 'nchw' ? 'nchw' : 'nhwc'}`);
      this.converted.set(key, t);
    }
    return t;
  }

  /** Values and shape of a constant as an operand in `layout` (nchw: right-aligned to rank 4, then permuted; scalars unchanged). */
  private constForm(c: TraceConstant, layout: Layout): { values: TraceConstant['values']; shape: number[] } {
    if (layout === 'plain' || c.shape.length === 0) return { values: c.values, shape: c.shape.slice() };
    if (c.shape.length > 4) this.fail(`combines a rank-${c.shape.length} constant with a 4-D feature map`);
    const padded = [...new Array<number>(4 - c.shape.length).fill(1), ...c.shape];
    return permuteValues(c.values, padded, TO_NCHW);
  }

  /**
   * A constant as an operand of an op whose (other) inputs are in `layout`
   * and whose output has rank `outRank`. With a dynamic batch and a
   * batch-carrying output, a constant that carries the traced batch is
   * reduced to its first batch slice (refused unless all slices are equal);
   * `expand` then broadcasts it to the runtime batch (for ops that do not
   * broadcast, e.g. Concat).
   */
  constOperand(name: string, layout: Layout, outRank: number, opts: { outBatch?: boolean; expand?: boolean } = {}): string {
    const c = this.constant(name);
    let { values, shape } = this.constForm(c, layout);
    const relax = this.dynamic && !!opts.outBatch && shape.length === outRank && outRank > 0;
    let suffix = layout === 'nchw' && c.shape.length > 0 ? '_nchw' : '';
    if (relax && shape[0]! > 1) {
      const per = values.length / shape[0]!;
      for (let i = per; i < values.length; i++) {
        if (values[i] !== values[i % per])
          this.fail(`uses a constant ${name} [${c.shape}] that differs between the traced batch items, so the batch cannot be dynamic`);
      }
      values = values.slice(0, per) as typeof values;
      shape = [1, ...shape.slice(1)];
      suffix += '_b1';
    }
    const key = `${name}${suffix}`;
    let onnx = this.constCache.get(key);
    if (!onnx) {
      onnx = this.b.initializer(this.b.claim(key), shape, onnxDType(c.dtype), values);
      this.constCache.set(key, onnx);
    }
    if (relax && opts.expand) {
      const target = this.b.op('Concat', [this.batchSize(), this.b.int64(shape.slice(1))], { axis: 0 }, 'shape');
      return this.b.op('Expand', [onnx, target], {}, `${name}_expand`);
    }
    return onnx;
  }

  /** An initializer derived from constants (e.g. a transposed conv weight), created once per key. */
  derived(key: string, shape: number[], dtype: DataType, values: TraceConstant['values']): string {
    let onnx = this.constCache.get(key);
    if (!onnx) {
      onnx = this.b.initializer(this.b.claim(key), shape, dtype, values);
      this.constCache.set(key, onnx);
    }
    return onnx;
  }

  /** A 1-D int64 [1] holding the runtime batch size (Shape of the image input, element 0). */
  batchSize(): string {
    if (!this.batchVec) {
      const input = this.graph.inputs[0]!.name;
      const shape = this.b.op('Shape', [this.held.get(input)!.name], {}, 'images_shape');
      this.batchVec = this.b.op('Gather', [shape, this.b.int64([0])], { axis: 0 }, 'batch_size');
    }
    return this.batchVec;
  }
}
