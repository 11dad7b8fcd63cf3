/**
 * Lowering rules for the layout-following and layout-sensitive kernels:
 * elementwise ops (keep their input's layout; binary ops bring constants into
 * that layout and, with a dynamic batch, reduce constants carrying the traced
 * batch to one slice), Concat / SplitV (axis remapped when they stay NCHW),
 * Reshape (sees NHWC data; 0 in the batch position for a dynamic batch),
 * Transpose (composes with the layout), PadV2 (pads permuted), Cast,
 * Mean (ReduceMean; axes remapped when it stays NCHW), BatchMatMul (MatMul on
 * plain values; transposed operands made explicit).
 */
import type { TraceNode, TraceValue } from '../trace.js';
import { type Layout, type LoweringContext, onnxDType, type Rule } from './context.js';
import { nchwAxis, normAxis, permuteValues, TO_NCHW, TO_NHWC } from './layout.js';

function single(ctx: LoweringContext, node: TraceNode): string {
  const names = Object.values(node.inputs);
  if (names.length !== 1) ctx.fail(`has ${names.length} inputs, expected 1`);
  return names[0]!;
}

/** Traced output `out` is the same tensor as `src` (no ONNX node). */
function alias(ctx: LoweringContext, out: TraceValue, src: string, layout?: Layout): void {
  const l = layout ?? ctx.layoutOf(src) ?? 'plain';
  ctx.define(out, ctx.get(src, l), l, ctx.isBatch(src) && out.shape[0] === ctx.shape(src)[0]);
}

function unary(op: string, attrs: (node: TraceNode, ctx: LoweringContext) => Record<string, { float: number }> = () => ({})): Rule {
  return (ctx: LoweringContext, node: TraceNode): void => {
    const x = single(ctx, node);
    if (ctx.value(x).dtype !== 'float32') ctx.fail(`has a ${ctx.value(x).dtype} input (only float32 is exported)`);
    const l = ctx.layoutOf(x) ?? 'plain';
    const out = node.outputs[0]!;
    ctx.define(out, ctx.b.node(op, [ctx.get(x, l)], [ctx.outName(out)], attrs(node, ctx))[0]!, l);
  };
}

/** Layout for an op over `inputs` with an output of rank `rank`: nchw when some dynamic 4-D input is held so and all are 4-D. */
function commonLayout(ctx: LoweringContext, inputs: string[], rank: number): Layout {
  const dyn = inputs.filter((n) => !ctx.isConst(n));
  if (rank !== 4 || !dyn.every((n) => ctx.rank(n) === 4)) return 'plain';
  return dyn.some((n) => ctx.layoutOf(n) === 'nchw') ? 'nchw' : 'plain';
}

function binary(op: string): Rule {
  return (ctx: LoweringContext, node: TraceNode): void => {
    const keys = Object.keys(node.inputs);
    if (keys.length !== 2 || !('a' in node.inputs) || !('b' in node.inputs)) ctx.fail(`has inputs ${keys.join(', ')}, expected a and b`);
    const ins = [node.inputs.a!, node.inputs.b!];
    const out = node.outputs[0]!;
    if (op === 'Div' && out.dtype !== 'float32') ctx.fail('divides integers (tfjs and ONNX round differently)');
    const rank = out.shape.length;
    const layout = commonLayout(ctx, ins, rank);
    const outBatch = ins.some((n) => !ctx.isConst(n) && ctx.isBatch(n) && ctx.rank(n) === rank);
    const onnxIns = ins.map((n) => (ctx.isConst(n) ? ctx.constOperand(n, layout, rank, { outBatch }) : ctx.get(n, layout)));
    ctx.define(out, ctx.b.node(op, onnxIns, [ctx.outName(out)])[0]!, layout, outBatch);
  };
}

const square: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const l = ctx.layoutOf(x) ?? 'plain';
  const xi = ctx.get(x, l);
  const out = node.outputs[0]!;
  // x·x, as tfjs computes it (bit-exact, unlike Pow).
  ctx.define(out, ctx.b.node('Mul', [xi, xi], [ctx.outName(out)])[0]!, l);
};

const relu6: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const l = ctx.layoutOf(x) ?? 'plain';
  const out = node.outputs[0]!;
  ctx.define(out, ctx.b.node('Clip', [ctx.get(x, l), ctx.b.scalarF(0), ctx.b.scalarF(6)], [ctx.outName(out)])[0]!, l);
};

const identity: Rule = (ctx: LoweringContext, node: TraceNode): void => alias(ctx, node.outputs[0]!, single(ctx, node));

const cast: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const out = node.outputs[0]!;
  if (ctx.value(x).dtype === out.dtype) {
    alias(ctx, out, x);
    return;
  }
  const l = ctx.layoutOf(x) ?? 'plain';
  // float → int truncates toward zero and anything non-zero → true, in both tfjs and ONNX.
  ctx.define(out, ctx.b.node('Cast', [ctx.get(x, l)], [ctx.outName(out)], { to: onnxDType(out.dtype) })[0]!, l);
};

/** Concat inputs in order ('0', '1', … or 'tensors.0', …). */
function listInputs(node: TraceNode): string[] {
  const idx = (k: string): number => Number(k.split('.').pop());
  return Object.keys(node.inputs)
    .sort((a, b) => idx(a) - idx(b))
    .map((k) => node.inputs[k]!);
}

const concat: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const ins = listInputs(node);
  const out = node.outputs[0]!;
  const rank = out.shape.length;
  const axis = normAxis(Number(node.attrs.axis), rank);
  if (axis === null) {
    ctx.fail(`has axis ${String(node.attrs.axis)} for rank ${rank}`);
    return;
  }
  const layout = commonLayout(ctx, ins, rank);
  const outBatch = ctx.nodeInBatch && axis !== 0;
  if (ctx.dynamic && ctx.nodeInBatch && axis === 0) ctx.fail('concatenates along the batch axis, so the batch cannot be dynamic');
  const onnxIns = ins.map((n) => (ctx.isConst(n) ? ctx.constOperand(n, layout, rank, { outBatch, expand: true }) : ctx.get(n, layout)));
  const onnxAxis = layout === 'nchw' ? nchwAxis(axis) : axis;
  const y =
    onnxIns.length === 1
      ? ctx.b.node('Identity', onnxIns, [ctx.outName(out)])[0]!
      : ctx.b.node('Concat', onnxIns, [ctx.outName(out)], { axis: onnxAxis })[0]!;
  ctx.define(out, y, layout, outBatch);
};

const splitV: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const rank = ctx.rank(x);
  const axis = normAxis(Number(node.attrs.axis), rank);
  if (axis === null) {
    ctx.fail(`has axis ${String(node.attrs.axis)} for rank ${rank}`);
    return;
  }
  if (ctx.dynamic && ctx.isBatch(x) && axis === 0) ctx.fail('splits along the batch axis, so the batch cannot be dynamic');
  const layout = ctx.layoutOf(x) ?? 'plain';
  const sizes = node.outputs.map((o) => o.shape[axis]!);
  const onnxAxis = layout === 'nchw' ? nchwAxis(axis) : axis;
  const outs = node.outputs.map((o) => ctx.outName(o));
  ctx.b.node('Split', [ctx.get(x, layout), ctx.b.int64(sizes, [sizes.length], 'split_sizes')], outs, { axis: onnxAxis });
  node.outputs.forEach((o, i) => {
    ctx.define(o, outs[i]!, layout);
  });
};

const reshape: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const out = node.outputs[0]!;
  const inShape = ctx.shape(x);
  // tfjs reshapes to the same shape after some ops (batch norm): nothing to do, whatever the layout.
  if (inShape.length === out.shape.length && inShape.every((v, i) => v === out.shape[i])) {
    alias(ctx, out, x);
    return;
  }
  const target = out.shape.slice();
  let batch = false;
  if (ctx.isBatch(x)) {
    if (inShape[0] === out.shape[0]) {
      batch = true;
      if (ctx.dynamic) target[0] = 0; // ONNX Reshape: 0 copies the input's (runtime) batch.
    } else if (ctx.dynamic) {
      ctx.fail(`reshapes [${inShape}] to [${out.shape}], merging the batch, so the batch cannot be dynamic`);
    }
  }
  const y = ctx.b.node('Reshape', [ctx.get(x, 'plain'), ctx.b.int64(target, [target.length], 'shape')], [ctx.outName(out)])[0]!;
  ctx.define(out, y, 'plain', batch);
};

const transpose: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const out = node.outputs[0]!;
  const perm = node.attrs.perm;
  const rank = ctx.rank(x);
  if (!Array.isArray(perm) || perm.length !== rank || [...perm].sort().some((p, i) => p !== i)) ctx.fail(`has perm ${JSON.stringify(perm)}`);
  const p = perm as number[];
  if (ctx.dynamic && ctx.isBatch(x) && p[0] !== 0) ctx.fail('moves the batch axis, so the batch cannot be dynamic');
  const layout = ctx.layoutOf(x) ?? 'plain';
  // A value held NCHW is read through the inverse permutation: out dim i = nchw dim TO_NHWC[perm[i]].
  const q = layout === 'nchw' ? p.map((i) => TO_NHWC[i]!) : p;
  const batch = ctx.isBatch(x) && p[0] === 0;
  if (q.every((v, i) => v === i)) {
    ctx.define(out, ctx.get(x, layout), 'plain', batch);
    return;
  }
  if (rank === 4 && layout === 'plain' && q.every((v, i) => v === TO_NCHW[i])) {
    ctx.define(out, ctx.get(x, 'nchw'), 'plain', batch);
    return;
  }
  ctx.define(out, ctx.b.node('Transpose', [ctx.get(x, layout)], [ctx.outName(out)], { perm: q })[0]!, 'plain', batch);
};

const pad: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const out = node.outputs[0]!;
  const paddings = node.attrs.paddings;
  const rank = ctx.rank(x);
  if (
    !Array.isArray(paddings) ||
    paddings.length !== rank ||
    !paddings.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && v >= 0))
  ) {
    ctx.fail(`has paddings ${JSON.stringify(paddings)}`);
  }
  const pp = paddings as number[][];
  if (ctx.dynamic && ctx.isBatch(x) && (pp[0]![0] !== 0 || pp[0]![1] !== 0)) ctx.fail('pads the batch axis, so the batch cannot be dynamic');
  const cv = Number(node.attrs.constantValue ?? 0);
  const layout = ctx.layoutOf(x) ?? 'plain';
  const order = layout === 'nchw' ? [...TO_NCHW] : pp.map((_, i) => i);
  const pads = [...order.map((i) => pp[i]![0]!), ...order.map((i) => pp[i]![1]!)];
  const dtype = ctx.value(x).dtype;
  if (dtype !== 'float32') ctx.fail(`pads a ${dtype} tensor`);
  const y = ctx.b.node('Pad', [ctx.get(x, layout), ctx.b.int64(pads, [pads.length], 'pads'), ctx.b.scalarF(cv)], [ctx.outName(out)], {
    mode: 'constant',
  })[0]!;
  ctx.define(out, y, layout);
};

const mean: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const x = single(ctx, node);
  const rank = ctx.rank(x);
  const raw = node.attrs.axis;
  const list = (Array.isArray(raw) ? raw : [raw]).map((a) => normAxis(Number(a), rank));
  if (list.some((a) => a === null)) ctx.fail(`has axis ${JSON.stringify(raw)} for rank ${rank}`);
  const axes = [...new Set(list as number[])].sort((a, b) => a - b);
  if (ctx.dynamic && ctx.isBatch(x) && axes.includes(0)) ctx.fail('averages over the batch axis, so the batch cannot be dynamic');
  if (ctx.value(x).dtype !== 'float32') ctx.fail(`averages a ${ctx.value(x).dtype} tensor`);
  const keep = Boolean(node.attrs.keepDims);
  // Kept dims leave the layout as it is; dropped dims need the plain order of what remains.
  const layout: Layout = keep ? (ctx.layoutOf(x) ?? 'plain') : 'plain';
  const onnxAxes = layout === 'nchw' ? axes.map((a) => nchwAxis(a)).sort((a, b) => a - b) : axes;
  const out = node.outputs[0]!;
  const xi = ctx.get(x, layout);
  const y =
    ctx.opts.opset >= 18
      ? ctx.b.node('ReduceMean', [xi, ctx.b.int64(onnxAxes, [onnxAxes.length], 'axes')], [ctx.outName(out)], { keepdims: keep ? 1 : 0 })[0]!
      : ctx.b.node('ReduceMean', [xi], [ctx.outName(out)], { axes: onnxAxes, keepdims: keep ? 1 : 0 })[0]!;
  ctx.define(out, y, layout, ctx.isBatch(x) && !axes.includes(0));
};

/** The last two axes of a constant swapped (a transposed matMul operand). */
function swapLast(ctx: LoweringContext, name: string): string {
  const c = ctx.constant(name);
  const r = c.shape.length;
  const perm = [...c.shape.map((_, i) => i).slice(0, r - 2), r - 1, r - 2];
  const t = permuteValues(c.values, c.shape, perm);
  return ctx.derived(`${name}_T`, t.shape, onnxDType(c.dtype), t.values);
}

const batchMatMul: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  const a = node.inputs.a;
  const b = node.inputs.b;
  if (!a || !b || Object.keys(node.inputs).length !== 2) {
    ctx.fail(`has inputs ${Object.keys(node.inputs).join(', ')}, expected a and b`);
    return;
  }
  const out = node.outputs[0]!;
  if (out.dtype !== 'float32') ctx.fail(`multiplies ${out.dtype} matrices`);
  const operand = (name: string, transposed: boolean): string => {
    if (!transposed) return ctx.get(name, 'plain');
    if (ctx.isConst(name)) return swapLast(ctx, name);
    const r = ctx.rank(name);
    return ctx.b.op('Transpose', [ctx.get(name, 'plain')], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
  };
  const ins = [operand(a, Boolean(node.attrs.transposeA)), operand(b, Boolean(node.attrs.transposeB))];
  const batch = [a, b].some((n) => !ctx.isConst(n) && ctx.isBatch(n) && ctx.rank(n) === out.shape.length && ctx.rank(n) > 2);
  if (ctx.dynamic && ctx.nodeInBatch && !batch) ctx.fail('multiplies matrices across the batch axis, so the batch cannot be dynamic');
  ctx.define(out, ctx.b.node('MatMul', ins, [ctx.outName(out)])[0]!, 'plain', batch);
};

export const TENSOR_RULES: Record<string, Rule> = {
  Sigmoid: unary('Sigmoid'),
  Relu: unary('Relu'),
  Relu6: relu6,
  Elu: unary('Elu', () => ({ alpha: { float: 1 } })),
  LeakyRelu: unary('LeakyRelu', (node: TraceNode, ctx: LoweringContext) => {
    const alpha = node.attrs.alpha;
    if (typeof alpha !== 'number') return ctx.fail('has no alpha');
    return { alpha: { float: alpha } };
  }),
  Exp: unary('Exp'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Sqrt: unary('Sqrt'),
  Log: unary('Log'),
  Square: square,
  Identity: identity,
  Cast: cast,
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Concat: concat,
  SplitV: splitV,
  Reshape: reshape,
  Transpose: transpose,
  PadV2: pad,
  Pad: pad,
  Mean: mean,
  BatchMatMul: batchMatMul,
};
