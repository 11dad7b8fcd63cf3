/**
 * A TensorFlow GraphDef in its JSON form, as TF.js graph models store it in
 * model.json (`modelTopology`), and a builder for one.
 *
 * The JSON is protobuf's canonical JSON mapping of tensorflow.GraphDef: nodes
 * `{ name, op, input, attr }`; 64-bit integers as decimal strings; string
 * attributes base64-encoded (`s`); lists as `{ list: { i | f | s | b } }`;
 * dtypes as enum names (`DT_FLOAT`); shapes as `{ dim: [{ size }] }`.
 *
 * Constants are `Const` nodes whose values do not live in the graph: the TF.js
 * loader takes every Const's value from the weights manifest entry of the
 * same name, so the builder collects them as weights (identical constants are
 * stored once) and the node only carries dtype and shape.
 */
import { createHash } from 'node:crypto';
import type { TraceDType } from '../trace.js';

export interface AttrValue {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim: { size: string }[] };
  list?: { s?: string[]; i?: string[]; f?: number[]; b?: boolean[]; type?: string[] };
  tensor?: { dtype: string; tensorShape: { dim: { size: string }[] } };
}

export interface NodeDef {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, AttrValue>;
}

export interface GraphDef {
  node: NodeDef[];
  library: Record<string, never>;
  versions: Record<string, never>;
}

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: TraceDType;
}

const TF_DTYPE: Record<TraceDType, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

export const attr = {
  str: (v: string): AttrValue => ({ s: Buffer.from(v, 'utf8').toString('base64') }),
  int: (v: number): AttrValue => ({ i: String(v) }),
  float: (v: number): AttrValue => ({ f: v }),
  bool: (v: boolean): AttrValue => ({ b: v }),
  ints: (v: readonly number[]): AttrValue => ({ list: v.length > 0 ? { i: v.map(String) } : {} }),
  type: (d: TraceDType): AttrValue => ({ type: TF_DTYPE[d] }),
  shape: (dims: readonly number[]): AttrValue => ({ shape: { dim: dims.map((d) => ({ size: String(d) })) } }),
};

export function tfDtype(d: TraceDType): string {
  return TF_DTYPE[d];
}

/** TF node names: `[A-Za-z0-9.][A-Za-z0-9_.\-/]*`. */
function sanitize(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.\-/]/g, '_');
  return /^[A-Za-z0-9.]/.test(s) ? s : `n${s}`;
}

function bytesOf(values: Float32Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly weights: WeightEntry[] = [];
  private readonly weightBytes: Uint8Array[] = [];
  private readonly used = new Set<string>();
  private readonly byContent = new Map<string, string>();

  /** A unique node name derived from `base`. */
  uniqueName(base: string): string {
    const b = sanitize(base);
    let name = b;
    for (let k = 1; this.used.has(name); k++) name = `${b}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (inputs, outputs); throws if it is taken. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`graph node name '${name}' is already used`);
    this.used.add(name);
    return name;
  }

  add(node: NodeDef): string {
    this.nodes.push(node);
    return node.name;
  }

  /** A node `op` named after `base`; returns its name (= its first output). */
  op(base: string, op: string, input: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.add({ name: this.uniqueName(base), op, input, attr: attrs });
  }

  /**
   * A Const node holding `values` (stored as a weight); identical constants
   * (dtype, shape and bytes) share one node. Returns the node name.
   */
  constant(base: string, dtype: TraceDType, shape: readonly number[], values: Float32Array | Int32Array | Uint8Array): string {
    const bytes = bytesOf(values);
    const key = createHash('sha1')
      .update(`${dtype}|${shape.join(',')}|`)
      .update(bytes)
      .digest('hex');
    const known = this.byContent.get(key);
    if (known) return known;
    const name = this.uniqueName(base);
    const dim = shape.map((d) => ({ size: String(d) }));
    this.add({
      name,
      op: 'Const',
      input: [],
      attr: {
        dtype: attr.type(dtype),
        value: { tensor: { dtype: TF_DTYPE[dtype], tensorShape: { dim } } },
      },
    });
    this.weights.push({ name, shape: shape.slice(), dtype });
    this.weightBytes.push(bytes.slice());
    this.byContent.set(key, name);
    return name;
  }

  int32(base: string, values: readonly number[], shape: readonly number[] = [values.length]): string {
    return this.constant(base, 'int32', shape, Int32Array.from(values));
  }

  float32(base: string, values: readonly number[], shape: readonly number[] = [values.length]): string {
    return this.constant(base, 'float32', shape, Float32Array.from(values));
  }

  graphDef(): GraphDef {
    return { node: this.nodes, library: {}, versions: {} };
  }

  /** All weights concatenated in manifest order. */
  weightData(): ArrayBuffer {
    const total = this.weightBytes.reduce((n, b) => n + b.byteLength, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const b of this.weightBytes) {
      out.set(b, offset);
      offset += b.byteLength;
    }
    return out.buffer;
  }
}
