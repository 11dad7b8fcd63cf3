/**
 * A small ONNX graph builder: nodes in emission order (the converter emits in
 * the traced order, so the result is topologically sorted), initializers,
 * unique names, and helpers for typed constants and attributes. It knows
 * nothing about tfjs; the converter (convert.ts) and the NMS tail (nms.ts)
 * drive it.
 */
import { type AttributeProto, AttributeType, DataType, type NodeProto, type TensorProto } from './schema.js';

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

/** Int attributes are plain integers; floats must be marked ({ float: x }) so that 1.0 is not written as an int. */
function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`onnx: attribute ${name}=${v} is not an integer (mark floats with { float })`);
    return { name, type: AttributeType.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v.slice() };
  if ('float' in v) return { name, type: AttributeType.FLOAT, f: v.float };
  return { name, type: AttributeType.FLOATS, floats: v.floats.slice() };
}

function rawBytes(values: Float32Array | Int32Array | Uint8Array | BigInt64Array | Float64Array): Uint8Array {
  // ONNX raw_data is little-endian; so are the typed arrays on every platform Node supports.
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export class OnnxBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;
  private nodeCounter = 0;
  /** Prefix of the node names emitted next (the model layer being lowered). */
  namePrefix = '';

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** Reserves a name (throws on a clash: every ONNX value name must be unique). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`onnx: duplicate value name ${name}`);
    this.used.add(name);
    return name;
  }

  /** A fresh name starting with `base`. */
  fresh(base: string): string {
    let name: string;
    do name = `${base}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Adds a node whose outputs are the given (reserved or fresh) names; returns them. */
  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue | undefined> = {}): string[] {
    const attribute_: AttributeProto[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute_.push(attribute(k, v));
    const n: NodeProto = { op_type: opType, input: inputs, output: outputs };
    n.name = `${this.namePrefix ? `${this.namePrefix}/` : ''}${opType}_${this.nodeCounter++}`;
    if (attribute_.length > 0) n.attribute = attribute_;
    this.nodes.push(n);
    return outputs;
  }

  /** Adds a node with one fresh output; returns its name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, base = opType.toLowerCase()): string {
    return this.node(opType, inputs, [this.fresh(base)], attrs)[0]!;
  }

  /** `name` if still free, else a fresh name starting with it (reserved either way). */
  claim(name: string): string {
    return this.used.has(name) ? this.fresh(name) : this.reserve(name);
  }

  /** Adds an initializer under `name`, which must have been reserved (`reserve`, `fresh` or `claim`). */
  initializer(
    name: string,
    dims: number[],
    dataType: DataType,
    values: Float32Array | Int32Array | Uint8Array | BigInt64Array | Float64Array,
  ): string {
    if (!this.used.has(name)) throw new Error(`onnx: initializer name ${name} was not reserved`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`onnx: initializer ${name} has ${values.length} values for shape [${dims}]`);
    this.initializers.push({ name, dims: dims.slice(), data_type: dataType, raw_data: rawBytes(values) });
    return name;
  }

  float(values: ArrayLike<number>, dims: number[] = [values.length], base = 'const_f'): string {
    return this.initializer(this.fresh(base), dims, DataType.FLOAT, Float32Array.from(values));
  }

  int64(values: ArrayLike<number>, dims: number[] = [values.length], base = 'const_i'): string {
    return this.initializer(this.fresh(base), dims, DataType.INT64, BigInt64Array.from(Array.from(values, (v) => BigInt(v))));
  }

  /** A float32 scalar (rank 0). */
  scalarF(v: number, base = 'const_f'): string {
    return this.float([v], [], base);
  }

  /** An int64 scalar (rank 0). */
  scalarI(v: number, base = 'const_i'): string {
    return this.int64([v], [], base);
  }
}
