/**
 * One rule per tfjs kernel: how a traced kernel becomes TensorFlow GraphDef
 * nodes that the TF.js converter runtime executes with the same tfjs op and
 * the same arguments, so the loaded graph model computes what the traced
 * model computed.
 *
 * Op and attribute names follow @tensorflow/tfjs-converter's op mappers
 * (Conv2D: strides/padding/explicit_paddings/dilations as NHWC 4-lists;
 * ConcatV2: the axis as the last input; SplitV/Reshape/Transpose/Pad/resize:
 * sizes, shapes, permutations and paddings as int32 Const inputs; ...).
 * Any attribute a rule does not know, and any value it cannot express
 * exactly, is refused (UnsupportedExportError naming the layer).
 *
 * Dynamic batch: every traced tensor downstream of the input carries the
 * batch on axis 0. Rules keep it there and write -1 where a static shape
 * mentions it (Reshape, Slice); an op that mixes, moves, splits, reduces or
 * concatenates the batch axis, or a constant that would have to grow with
 * the batch, is refused.
 */

import { UnsupportedExportError } from '../errors.js';
import type { TraceDType, TraceNode, TraceValue } from '../trace.js';
import { type AttrValue, attr, type GraphBuilder } from './graphdef.js';

export interface RuleContext {
  readonly node: TraceNode;
  readonly g: GraphBuilder;
  /** Node-name prefix: `<layer>/<op>`. */
  readonly base: string;
  /** Relax the batch dimension (axis 0 of every traced tensor). */
  readonly dynamic: boolean;
  /** Batch size of the trace. */
  readonly batch: number;
  /** The TF tensor reference feeding kernel input `key`. */
  ref(key: string): string;
  value(key: string): TraceValue;
  /** Whether kernel input `key` is a constant (and its values). */
  constant(key: string): { values: Float32Array | Int32Array | Uint8Array } | null;
  /** Kernel input keys, list inputs (`0`, `1`… or `tensors.0`…) in order. */
  listKeys(): string[];
  refuse(why: string): never;
}

/** Returns the TF references of the node's outputs, in order. */
export type Rule = (c: RuleContext) => string[];

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const out0 = (c: RuleContext): TraceValue => c.node.outputs[0]!;
const T = (d: TraceDType): Record<string, AttrValue> => ({ T: attr.type(d) });

function checkAttrs(c: RuleContext, known: readonly string[]): void {
  for (const [k, v] of Object.entries(c.node.attrs)) {
    if (v === undefined || v === null) continue;
    if (!known.includes(k)) c.refuse(`has attribute ${k}=${JSON.stringify(v)}, which the TF.js exporter cannot express`);
  }
}

function pair(c: RuleContext, name: string, v: unknown): [number, number] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((e) => Number.isInteger(e))) return [v[0] as number, v[1] as number];
  return c.refuse(`has ${name}=${JSON.stringify(v)} (expected an integer or a pair)`);
}

function normAxis(c: RuleContext, axis: unknown, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    return c.refuse(`has axis ${JSON.stringify(axis)} outside rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

function axesOf(c: RuleContext, v: unknown, rank: number): number[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((a) => normAxis(c, a, rank));
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Dynamic batch: a constant operand must broadcast over the batch, a tensor operand must have its batch on axis 0 of the result. */
function checkBroadcastOperand(c: RuleContext, key: string): void {
  if (!c.dynamic) return;
  const v = c.value(key);
  const rank = out0(c).shape.length;
  if (c.constant(key)) {
    if (v.shape.length === rank && v.shape[0] !== 1)
      c.refuse(`broadcasts a constant of shape [${v.shape}] over the batch (not relaxable to a dynamic batch)`);
  } else if (v.shape.length !== rank) {
    c.refuse(`broadcasts a batched input of shape [${v.shape}] to rank ${rank} (not relaxable to a dynamic batch)`);
  }
}

function checkNoBatchAxis(c: RuleContext, axes: readonly number[], what: string): void {
  if (c.dynamic && axes.includes(0)) c.refuse(`${what} the batch axis (not relaxable to a dynamic batch)`);
}

// ---------------------------------------------------------------------------
// rule families
// ---------------------------------------------------------------------------

const unary =
  (op: string): Rule =>
  (c: RuleContext) => {
    checkAttrs(c, []);
    return [c.g.op(c.base, op, [c.ref('x')], T(out0(c).dtype))];
  };

const binary =
  (op: string): Rule =>
  (c: RuleContext) => {
    checkAttrs(c, []);
    checkBroadcastOperand(c, 'a');
    checkBroadcastOperand(c, 'b');
    return [c.g.op(c.base, op, [c.ref('a'), c.ref('b')], T(out0(c).dtype))];
  };

function paddingAttrs(
  c: RuleContext,
  pad: unknown,
  x: TraceValue,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): Record<string, AttrValue> {
  if (pad === 'same' || pad === 'valid') return { padding: attr.str(pad.toUpperCase()), explicit_paddings: attr.ints([]) };
  let p: number[];
  if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) {
    p = [0, 0, pad, pad, pad, pad, 0, 0];
  } else if (
    Array.isArray(pad) &&
    pad.length === 4 &&
    pad.every((q) => Array.isArray(q) && q.length === 2 && q.every((e) => Number.isInteger(e) && e >= 0))
  ) {
    p = (pad as number[][]).flat();
    if (p[0] !== 0 || p[1] !== 0 || p[6] !== 0 || p[7] !== 0) c.refuse(`pads the batch or channel axis (${JSON.stringify(pad)})`);
  } else {
    return c.refuse(`has pad=${JSON.stringify(pad)}`);
  }
  // TF's explicit padding floors the output size; tfjs may round a numeric pad otherwise.
  const out = out0(c).shape;
  for (let i = 0; i < 2; i++) {
    const eff = (kernel[i]! - 1) * dilations[i]! + 1;
    const size = Math.floor((x.shape[1 + i]! + p[2 + 2 * i]! + p[3 + 2 * i]! - eff) / strides[i]!) + 1;
    if (size !== out[1 + i])
      c.refuse(
        `has an output size (${out[1 + i]}) that explicit padding ${JSON.stringify(pad)} does not give (${size}); dimRoundingMode=${String(c.node.attrs.dimRoundingMode)}`,
      );
  }
  return { padding: attr.str('EXPLICIT'), explicit_paddings: attr.ints(p) };
}

const conv =
  (op: 'Conv2D' | 'DepthwiseConv2dNative'): Rule =>
  (c: RuleContext) => {
    checkAttrs(c, ['strides', 'pad', 'dataFormat', 'dilations', 'dimRoundingMode']);
    const a = c.node.attrs;
    if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') c.refuse(`has dataFormat ${String(a.dataFormat)} (only NHWC is exported)`);
    const x = c.value('x');
    const filter = c.value('filter');
    if (x.shape.length !== 4 || filter.shape.length !== 4) c.refuse('is not a 2-D convolution of a rank-4 input');
    const s = pair(c, 'strides', a.strides ?? 1);
    const d = pair(c, 'dilations', a.dilations ?? 1);
    const attrs: Record<string, AttrValue> = {
      ...T(out0(c).dtype),
      strides: attr.ints([1, s[0], s[1], 1]),
      dilations: attr.ints([1, d[0], d[1], 1]),
      data_format: attr.str('NHWC'),
      ...paddingAttrs(c, a.pad, x, [filter.shape[0]!, filter.shape[1]!], s, d),
    };
    if (op === 'Conv2D') attrs.use_cudnn_on_gpu = attr.bool(true);
    return [c.g.op(c.base, op, [c.ref('x'), c.ref('filter')], attrs)];
  };

const pool =
  (op: 'MaxPool' | 'AvgPool'): Rule =>
  (c: RuleContext) => {
    checkAttrs(c, ['filterSize', 'strides', 'pad', 'dimRoundingMode']);
    const a = c.node.attrs;
    if (a.pad !== 'same' && a.pad !== 'valid') c.refuse(`has pad=${JSON.stringify(a.pad)} (TF.js runs ${op} only with SAME or VALID padding)`);
    if (c.value('x').shape.length !== 4) c.refuse('pools a tensor that is not rank 4');
    const k = pair(c, 'filterSize', a.filterSize);
    const s = pair(c, 'strides', a.strides);
    return [
      c.g.op(c.base, op, [c.ref('x')], {
        ...T(out0(c).dtype),
        ksize: attr.ints([1, k[0], k[1], 1]),
        strides: attr.ints([1, s[0], s[1], 1]),
        padding: attr.str((a.pad as string).toUpperCase()),
        data_format: attr.str('NHWC'),
      }),
    ];
  };

const resize =
  (op: 'ResizeNearestNeighbor' | 'ResizeBilinear'): Rule =>
  (c: RuleContext) => {
    checkAttrs(c, ['alignCorners', 'halfPixelCenters', 'size']);
    const a = c.node.attrs;
    const out = out0(c).shape;
    if (out.length !== 4) c.refuse('resizes a tensor that is not rank 4');
    const size = [out[1]!, out[2]!];
    if (Array.isArray(a.size) && (a.size[0] !== size[0] || a.size[1] !== size[1]))
      c.refuse(`has size ${JSON.stringify(a.size)} but produced [${size}]`);
    return [
      c.g.op(c.base, op, [c.ref('images'), c.g.int32(`${c.base}/size`, size)], {
        ...T(c.value('images').dtype),
        align_corners: attr.bool(Boolean(a.alignCorners)),
        half_pixel_centers: attr.bool(Boolean(a.halfPixelCenters)),
      }),
    ];
  };

const reduce =
  (op: 'Mean' | 'Sum' | 'Max' | 'Min', axisAttr: string): Rule =>
  (c: RuleContext) => {
    checkAttrs(c, [axisAttr, 'keepDims']);
    const rank = c.value('x').shape.length;
    const axes = axesOf(c, c.node.attrs[axisAttr], rank);
    checkNoBatchAxis(c, axes, 'reduces over');
    return [
      c.g.op(c.base, op, [c.ref('x'), c.g.int32(`${c.base}/axis`, axes)], {
        ...T(out0(c).dtype),
        Tidx: attr.type('int32'),
        keep_dims: attr.bool(Boolean(c.node.attrs.keepDims)),
      }),
    ];
  };

// ---------------------------------------------------------------------------
// single rules
// ---------------------------------------------------------------------------

/** Matrix product over the last two axes (the segment head's bilinear upsampling); tfjs-converter runs it as tf.matMul. */
const batchMatMul: Rule = (c: RuleContext) => {
  checkAttrs(c, ['transposeA', 'transposeB']);
  if (c.dynamic && out0(c).shape.length < 3) c.refuse('multiplies matrices without a batch axis (not relaxable to a dynamic batch)');
  checkBroadcastOperand(c, 'a');
  checkBroadcastOperand(c, 'b');
  return [
    c.g.op(c.base, 'BatchMatMulV2', [c.ref('a'), c.ref('b')], {
      ...T(out0(c).dtype),
      adj_x: attr.bool(Boolean(c.node.attrs.transposeA)),
      adj_y: attr.bool(Boolean(c.node.attrs.transposeB)),
    }),
  ];
};

const concat: Rule = (c: RuleContext) => {
  checkAttrs(c, ['axis']);
  const keys = c.listKeys();
  const rank = out0(c).shape.length;
  const axis = normAxis(c, c.node.attrs.axis, rank);
  if (c.dynamic) {
    checkNoBatchAxis(c, [axis], 'concatenates along');
    for (const k of keys) if (c.constant(k)) c.refuse('concatenates a constant with batched tensors (not relaxable to a dynamic batch)');
  }
  const ins = keys.map((k) => c.ref(k));
  if (ins.length === 1) return [c.g.op(c.base, 'Identity', ins, T(out0(c).dtype))];
  return [
    c.g.op(c.base, 'ConcatV2', [...ins, c.g.int32(`${c.base}/axis`, [axis], [])], {
      ...T(out0(c).dtype),
      N: attr.int(ins.length),
      Tidx: attr.type('int32'),
    }),
  ];
};

const addN: Rule = (c: RuleContext) => {
  checkAttrs(c, []);
  const keys = c.listKeys();
  if (c.dynamic) for (const k of keys) if (c.constant(k)) c.refuse('adds a constant of the batched shape (not relaxable to a dynamic batch)');
  const ins = keys.map((k) => c.ref(k));
  return [
    c.g.op(c.base, ins.length === 1 ? 'Identity' : 'AddN', ins, { ...T(out0(c).dtype), ...(ins.length === 1 ? {} : { N: attr.int(ins.length) }) }),
  ];
};

const splitV: Rule = (c: RuleContext) => {
  checkAttrs(c, ['numOrSizeSplits', 'axis']);
  const rank = c.value('x').shape.length;
  const axis = normAxis(c, c.node.attrs.axis, rank);
  checkNoBatchAxis(c, [axis], 'splits');
  const sizes = c.node.outputs.map((o) => o.shape[axis]!);
  const name = c.g.op(c.base, 'SplitV', [c.ref('x'), c.g.int32(`${c.base}/size_splits`, sizes), c.g.int32(`${c.base}/axis`, [axis], [])], {
    ...T(out0(c).dtype),
    Tlen: attr.type('int32'),
    num_split: attr.int(sizes.length),
  });
  return sizes.map((_, i) => (i === 0 ? name : `${name}:${i}`));
};

const reshape: Rule = (c: RuleContext) => {
  checkAttrs(c, ['shape']);
  const x = c.value('x').shape;
  const shape = out0(c).shape.slice();
  if (c.dynamic) {
    if (x.length === 0 || shape.length === 0 || shape[0] !== x[0] || prod(shape.slice(1)) !== prod(x.slice(1))) {
      c.refuse(`reshapes [${x}] to [${shape}] across the batch axis (not relaxable to a dynamic batch)`);
    }
    shape[0] = -1;
  }
  return [c.g.op(c.base, 'Reshape', [c.ref('x'), c.g.int32(`${c.base}/shape`, shape)], { ...T(out0(c).dtype), Tshape: attr.type('int32') })];
};

const cast: Rule = (c: RuleContext) => {
  checkAttrs(c, ['dtype']);
  const to = c.node.attrs.dtype;
  if (to !== 'float32' && to !== 'int32' && to !== 'bool') c.refuse(`casts to ${String(to)}`);
  return [c.g.op(c.base, 'Cast', [c.ref('x')], { SrcT: attr.type(c.value('x').dtype), DstT: attr.type(to), Truncate: attr.bool(false) })];
};

/** A batch-norm parameter as the 1-D [C] tensor TF's FusedBatchNorm wants (constants reshaped or broadcast; values unchanged). */
function bnParam(c: RuleContext, key: string, channels: number, fill: number): string {
  if (!(key in c.node.inputs)) return c.g.float32(`${c.base}/${key}`, new Array<number>(channels).fill(fill), [channels]);
  const v = c.value(key);
  const k = c.constant(key);
  if (k && v.dtype === 'float32') {
    if (k.values.length === channels) return c.g.constant(`${c.base}/${key}`, 'float32', [channels], k.values);
    if (k.values.length === 1) return c.g.float32(`${c.base}/${key}`, new Array<number>(channels).fill(k.values[0]!), [channels]);
  } else if (v.shape.length === 1 && v.shape[0] === channels) {
    return c.ref(key);
  }
  return c.refuse(`has a ${key} of shape [${v.shape}] that is not per channel (${channels})`);
}

const fusedBatchNorm: Rule = (c: RuleContext) => {
  checkAttrs(c, ['varianceEpsilon']);
  const x = c.value('x');
  if (x.shape.length !== 4) c.refuse('normalizes a tensor that is not rank 4');
  const ch = x.shape[3]!;
  const eps = c.node.attrs.varianceEpsilon;
  if (typeof eps !== 'number') c.refuse(`has varianceEpsilon=${JSON.stringify(eps)}`);
  return [
    c.g.op(
      c.base,
      'FusedBatchNormV3',
      [c.ref('x'), bnParam(c, 'scale', ch, 1), bnParam(c, 'offset', ch, 0), bnParam(c, 'mean', ch, 0), bnParam(c, 'variance', ch, 1)],
      {
        ...T(x.dtype),
        U: attr.type('float32'),
        epsilon: attr.float(eps),
        data_format: attr.str('NHWC'),
        is_training: attr.bool(false),
        exponential_avg_factor: attr.float(1),
      },
    ),
  ];
};

const leakyRelu: Rule = (c: RuleContext) => {
  checkAttrs(c, ['alpha']);
  const alpha = c.node.attrs.alpha;
  if (typeof alpha !== 'number') c.refuse(`has alpha=${JSON.stringify(alpha)}`);
  return [c.g.op(c.base, 'LeakyRelu', [c.ref('x')], { ...T(out0(c).dtype), alpha: attr.float(alpha) })];
};

const prelu: Rule = (c: RuleContext) => {
  checkAttrs(c, []);
  checkBroadcastOperand(c, 'alpha');
  return [c.g.op(c.base, 'Prelu', [c.ref('x'), c.ref('alpha')], T(out0(c).dtype))];
};

const clip: Rule = (c: RuleContext) => {
  checkAttrs(c, ['clipValueMin', 'clipValueMax']);
  const { clipValueMin: lo, clipValueMax: hi } = c.node.attrs;
  if (typeof lo !== 'number' || typeof hi !== 'number') c.refuse('has non-numeric clip bounds');
  const d = out0(c).dtype;
  if (d !== 'float32') c.refuse(`clips a ${d} tensor`);
  return [c.g.op(c.base, 'ClipByValue', [c.ref('x'), c.g.float32(`${c.base}/min`, [lo], []), c.g.float32(`${c.base}/max`, [hi], [])], T(d))];
};

const transpose: Rule = (c: RuleContext) => {
  checkAttrs(c, ['perm']);
  const rank = c.value('x').shape.length;
  const perm = c.node.attrs.perm;
  if (!Array.isArray(perm) || perm.length !== rank) c.refuse(`has perm=${JSON.stringify(perm)}`);
  const p = axesOf(c, perm, rank);
  if (c.dynamic && p[0] !== 0) c.refuse('moves the batch axis (not relaxable to a dynamic batch)');
  return [c.g.op(c.base, 'Transpose', [c.ref('x'), c.g.int32(`${c.base}/perm`, p)], { ...T(out0(c).dtype), Tperm: attr.type('int32') })];
};

function paddings(c: RuleContext, rank: number): number[] {
  const p = c.node.attrs.paddings;
  if (
    !Array.isArray(p) ||
    p.length !== rank ||
    !p.every((q) => Array.isArray(q) && q.length === 2 && q.every((e) => Number.isInteger(e) && e >= 0))
  ) {
    return c.refuse(`has paddings=${JSON.stringify(p)}`);
  }
  const flat = (p as number[][]).flat();
  if (c.dynamic && (flat[0] !== 0 || flat[1] !== 0)) c.refuse('pads the batch axis (not relaxable to a dynamic batch)');
  return flat;
}

const padV2: Rule = (c: RuleContext) => {
  checkAttrs(c, ['paddings', 'constantValue']);
  const x = c.value('x');
  const p = paddings(c, x.shape.length);
  const v = c.node.attrs.constantValue ?? 0;
  if (typeof v !== 'number') c.refuse(`has constantValue=${JSON.stringify(v)}`);
  if (x.dtype !== 'float32') c.refuse(`pads a ${x.dtype} tensor`);
  return [
    c.g.op(c.base, 'PadV2', [c.ref('x'), c.g.int32(`${c.base}/paddings`, p, [x.shape.length, 2]), c.g.float32(`${c.base}/value`, [v], [])], {
      ...T(x.dtype),
      Tpaddings: attr.type('int32'),
    }),
  ];
};

const mirrorPad: Rule = (c: RuleContext) => {
  checkAttrs(c, ['paddings', 'mode']);
  const x = c.value('x');
  const p = paddings(c, x.shape.length);
  const mode = c.node.attrs.mode;
  if (mode !== 'reflect' && mode !== 'symmetric') c.refuse(`has mode=${JSON.stringify(mode)}`);
  return [
    c.g.op(c.base, 'MirrorPad', [c.ref('x'), c.g.int32(`${c.base}/paddings`, p, [x.shape.length, 2])], {
      ...T(x.dtype),
      Tpaddings: attr.type('int32'),
      mode: attr.str(mode.toUpperCase()),
    }),
  ];
};

const softmax: Rule = (c: RuleContext) => {
  checkAttrs(c, ['dim']);
  const rank = c.value('logits').shape.length;
  if (normAxis(c, c.node.attrs.dim ?? -1, rank) !== rank - 1)
    c.refuse('normalizes over an axis other than the last (TF.js Softmax is last-axis only)');
  return [c.g.op(c.base, 'Softmax', [c.ref('logits')], T(out0(c).dtype))];
};

const pack: Rule = (c: RuleContext) => {
  checkAttrs(c, ['axis']);
  const keys = c.listKeys();
  const axis = normAxis(c, c.node.attrs.axis ?? 0, out0(c).shape.length);
  if (c.dynamic) {
    checkNoBatchAxis(c, [axis], 'stacks along');
    for (const k of keys) if (c.constant(k)) c.refuse('stacks a constant with batched tensors (not relaxable to a dynamic batch)');
  }
  return [
    c.g.op(
      c.base,
      'Pack',
      keys.map((k) => c.ref(k)),
      { ...T(out0(c).dtype), N: attr.int(keys.length), axis: attr.int(axis) },
    ),
  ];
};

const slice: Rule = (c: RuleContext) => {
  checkAttrs(c, ['begin', 'size']);
  const x = c.value('x').shape;
  const b = c.node.attrs.begin;
  const begin = Array.isArray(b) ? (b as number[]).slice() : [b as number];
  if (!begin.every((e) => Number.isInteger(e) && e >= 0)) c.refuse(`has begin=${JSON.stringify(b)}`);
  while (begin.length < x.length) begin.push(0);
  const size = out0(c).shape.slice();
  if (c.dynamic) {
    if (begin[0] !== 0 || size[0] !== x[0]) c.refuse('slices the batch axis (not relaxable to a dynamic batch)');
    size[0] = -1;
  }
  return [
    c.g.op(c.base, 'Slice', [c.ref('x'), c.g.int32(`${c.base}/begin`, begin), c.g.int32(`${c.base}/size`, size)], {
      ...T(out0(c).dtype),
      Index: attr.type('int32'),
    }),
  ];
};

/** tfjs kernel name → rule. */
export const RULES: Readonly<Record<string, Rule>> = {
  Conv2D: conv('Conv2D'),
  DepthwiseConv2dNative: conv('DepthwiseConv2dNative'),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AvgPool'),
  FusedBatchNorm: fusedBatchNorm,
  ResizeNearestNeighbor: resize('ResizeNearestNeighbor'),
  ResizeBilinear: resize('ResizeBilinear'),
  Concat: concat,
  Pack: pack,
  SplitV: splitV,
  Slice: slice,
  Reshape: reshape,
  Transpose: transpose,
  PadV2: padV2,
  MirrorPad: mirrorPad,
  Cast: cast,
  Identity: unary('Identity'),
  Add: binary('AddV2'),
  AddN: addN,
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('RealDiv'),
  FloorDiv: binary('FloorDiv'),
  Maximum: binary('Maximum'),
  Minimum: binary('Minimum'),
  Pow: binary('Pow'),
  SquaredDifference: binary('SquaredDifference'),
  Sigmoid: unary('Sigmoid'),
  Square: unary('Square'),
  Sqrt: unary('Sqrt'),
  Rsqrt: unary('Rsqrt'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Relu: unary('Relu'),
  Relu6: unary('Relu6'),
  Elu: unary('Elu'),
  Selu: unary('Selu'),
  Erf: unary('Erf'),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  LeakyRelu: leakyRelu,
  Prelu: prelu,
  ClipByValue: clip,
  Softmax: softmax,
  BatchMatMul: batchMatMul,
  Mean: reduce('Mean', 'axis'),
  Sum: reduce('Sum', 'axis'),
  Max: reduce('Max', 'reductionIndices'),
  Min: reduce('Min', 'axis'),
};

export function ruleFor(node: TraceNode): Rule {
  const rule = RULES[node.kernel];
  if (!rule) throw new UnsupportedExportError('TF.js', node, `has no TF.js graph-model rule (supported: ${Object.keys(RULES).join(', ')})`);
  return rule;
}
