/**
 * A peephole pass over the lowered ONNX graph: a constant per-channel `Add`
 * (the bias of a tfjs conv, which tfjs applies as a separate op) right after
 * a `Conv` becomes the Conv's third input, and — when the graph is the folded
 * deploy model — a constant per-channel `Mul` right after a `Conv` is folded
 * into its weights and bias (W' = z·W, b' = z·b). Both are exact in real
 * arithmetic; as every exporter does, the bias then runs inside the
 * convolution instead of as one more pass over the feature map.
 *
 * A pair is folded only when the Conv's output feeds that one node and is not
 * a graph output, and the constant broadcasts per output channel in NCHW
 * (shape [1, C, 1, 1], [C, 1, 1] or a scalar). Initializers still used
 * elsewhere are left in place; folded values get new initializers.
 */
import { DataType, type NodeProto, type TensorProto } from './schema.js';

export interface FoldConvAffineOptions {
  /** Also fold constant `Mul`s into the weights (the deploy graph; default false). */
  foldMul?: boolean;
}

export interface FoldConvAffineResult {
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** Number of Adds folded into a Conv bias and of Muls folded into Conv weights. */
  folded: { add: number; mul: number };
}

function floatValues(t: TensorProto): Float32Array | null {
  if (t.data_type !== DataType.FLOAT) return null;
  if (t.raw_data && t.raw_data.length > 0) {
    const b = t.raw_data;
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  if (t.float_data && t.float_data.length > 0) return Float32Array.from(t.float_data);
  return null;
}

function rawBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** The constant as one value per channel of `c` channels in NCHW, or null when it does not broadcast that way. */
function perChannel(t: TensorProto, c: number): Float32Array | null {
  const v = floatValues(t);
  if (!v) return null;
  const dims = (t.dims ?? []).map(Number);
  if (v.length === 1 && dims.every((d) => d === 1)) return new Float32Array(c).fill(v[0]!);
  if (dims.length < 3 || dims.length > 4 || v.length !== c) return null;
  const channelAxis = dims.length - 3;
  if (dims[channelAxis] !== c || dims.some((d, i) => i !== channelAxis && d !== 1)) return null;
  return v;
}

export function foldConvAffine(
  nodes: readonly NodeProto[],
  initializers: readonly TensorProto[],
  graphOutputs: ReadonlySet<string>,
  opts: FoldConvAffineOptions = {},
): FoldConvAffineResult {
  type Node = NodeProto & { input: string[]; output: string[] };
  const out: Node[] = nodes.map((n) => ({ ...n, input: [...(n.input ?? [])], output: [...(n.output ?? [])] }));
  const inits = new Map(initializers.map((t) => [t.name!, t]));
  const removed = new Set<Node>();
  const folded = { add: 0, mul: 0 };
  const used = new Set<string>([...inits.keys(), ...out.flatMap((n) => [...n.input, ...n.output])]);
  let counter = 0;
  const fresh = (base: string): string => {
    let name: string;
    do name = `${base}_${counter++}`;
    while (used.has(name));
    used.add(name);
    return name;
  };
  const addInit = (base: string, dims: number[], values: Float32Array): string => {
    const name = fresh(base);
    inits.set(name, { name, dims, data_type: DataType.FLOAT, raw_data: rawBytes(values) });
    return name;
  };
  const consumers = (): Map<string, Node[]> => {
    const m = new Map<string, Node[]>();
    for (const n of out) if (!removed.has(n)) for (const i of n.input) m.set(i, [...(m.get(i) ?? []), n]);
    return m;
  };

  let changed = true;
  while (changed) {
    changed = false;
    const readers = consumers();
    for (const conv of out) {
      if (removed.has(conv) || conv.op_type !== 'Conv' || conv.output.length !== 1) continue;
      const y = conv.output[0]!;
      const next = readers.get(y);
      if (graphOutputs.has(y) || !next || next.length !== 1) continue;
      const op = next[0]!;
      if ((op.op_type !== 'Add' && !(op.op_type === 'Mul' && opts.foldMul)) || op.input.length !== 2 || op.output.length !== 1) continue;
      const constName = op.input[0] === y ? op.input[1]! : op.input[0]!;
      if (op.input[0] !== y && op.input[1] !== y) continue;
      const constant = inits.get(constName);
      const weight = inits.get(conv.input[1] ?? '');
      if (!constant || !weight || constName === y) continue;
      const wDims = (weight.dims ?? []).map(Number);
      const co = wDims[0];
      const w = floatValues(weight);
      if (co === undefined || !w) continue;
      const z = perChannel(constant, co);
      if (!z) continue;
      const oldBias = conv.input[2] ? inits.get(conv.input[2]) : undefined;
      if (conv.input[2] && !oldBias) continue;
      const b = oldBias ? floatValues(oldBias) : new Float32Array(co);
      if (!b || b.length !== co) continue;
      const bias = new Float32Array(co);
      if (op.op_type === 'Add') {
        for (let c = 0; c < co; c++) bias[c] = b[c]! + z[c]!;
        folded.add++;
      } else {
        const per = w.length / co;
        const scaled = new Float32Array(w.length);
        for (let c = 0; c < co; c++) {
          for (let k = 0; k < per; k++) scaled[c * per + k] = w[c * per + k]! * z[c]!;
          bias[c] = b[c]! * z[c]!;
        }
        conv.input[1] = addInit(`${weight.name}_scaled`, wDims, scaled);
        folded.mul++;
      }
      conv.input[2] = addInit(`${conv.name ?? 'conv'}_bias`, [co], bias);
      conv.output[0] = op.output[0]!;
      removed.add(op);
      changed = true;
      break;
    }
  }
  const kept = out.filter((n) => !removed.has(n));
  const referenced = new Set(kept.flatMap((n) => n.input));
  return { nodes: kept, initializers: [...inits.values()].filter((t) => referenced.has(t.name!) || graphOutputs.has(t.name!)), folded };
}
