/**
 * Lowering rules for the spatial kernels, which run in ONNX's native NCHW
 * layout: Conv2D and DepthwiseConv2dNative (weights transposed from tfjs
 * [kh, kw, ci, co] / [kh, kw, C, m] to [co, ci, kh, kw] / [C·m, 1, kh, kw],
 * depthwise as group = C), MaxPool / AvgPool, ResizeNearestNeighbor and
 * FusedBatchNorm. Padding is always written explicitly (TF's SAME rule) and
 * every rule checks that ONNX's output size equals the traced one, so an
 * attribute combination without an exact equivalent is refused instead of
 * exported approximately.
 */
import type { TraceNode } from '../trace.js';
import type { LoweringContext, Rule } from './context.js';
import { explicitPads, onnxOutSize, pair, permuteValues } from './layout.js';
import { DataType } from './schema.js';

function only(ctx: LoweringContext, node: TraceNode, keys: string[]): void {
  for (const k of Object.keys(node.inputs)) if (!keys.includes(k)) ctx.fail(`has an unexpected input '${k}'`);
}

function input(ctx: LoweringContext, node: TraceNode, key: string): string {
  const n = node.inputs[key];
  if (!n) ctx.fail(`misses its '${key}' input`);
  return n;
}

function needFloat(ctx: LoweringContext, name: string): void {
  if (ctx.value(name).dtype !== 'float32') ctx.fail(`has a ${ctx.value(name).dtype} input (only float32 is exported)`);
}

/** Checks that ONNX computes the traced output size with these window parameters. */
function checkOut(
  ctx: LoweringContext,
  node: TraceNode,
  hw: readonly [number, number],
  k: readonly [number, number],
  s: readonly [number, number],
  d: readonly [number, number],
  pads: readonly number[],
): void {
  const out = node.outputs[0]!.shape;
  for (let i = 0; i < 2; i++) {
    const o = onnxOutSize(hw[i]!, k[i]!, s[i]!, d[i]!, pads[i]!, pads[i + 2]!);
    if (o !== out[1 + i]) ctx.fail(`has output size ${out[1 + i]} where ONNX would give ${o} (attributes ${JSON.stringify(node.attrs)})`);
  }
}

function windowAttrs(ctx: LoweringContext, node: TraceNode): { s: [number, number]; d: [number, number] } {
  const a = node.attrs;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') ctx.fail(`has dataFormat ${String(a.dataFormat)}`);
  const s = pair(a.strides, 1);
  const d = pair(a.dilations, 1);
  if (!s || !d || ![...s, ...d].every((v) => Number.isInteger(v) && v >= 1))
    return ctx.fail(`has unsupported strides/dilations ${JSON.stringify(a)}`);
  return { s, d };
}

function conv(depthwise: boolean): Rule {
  return (ctx: LoweringContext, node: TraceNode): void => {
    only(ctx, node, ['x', 'filter']);
    const x = input(ctx, node, 'x');
    needFloat(ctx, x);
    const f = ctx.constant(input(ctx, node, 'filter'));
    const { s, d } = windowAttrs(ctx, node);
    const [, H, W, C] = ctx.shape(x) as [number, number, number, number];
    if (f.shape.length !== 4) ctx.fail(`has a rank-${f.shape.length} filter`);
    const [kh, kw, ci, co] = f.shape as [number, number, number, number];
    if (ci !== C) ctx.fail(`has a filter for ${ci} input channels on ${C} channels`);
    const pads = explicitPads(node.attrs.pad, [H, W], [kh, kw], s, d);
    if (typeof pads === 'string') {
      ctx.fail(pads);
      return;
    }
    checkOut(ctx, node, [H, W], [kh, kw], s, d, pads);
    const out = node.outputs[0]!;
    let w: string;
    if (depthwise) {
      // [kh, kw, C, m] → [C, m, kh, kw] = [C·m, 1, kh, kw]: output channel c·m + j, as tfjs orders them.
      const p = permuteValues(f.values, f.shape, [2, 3, 0, 1]);
      w = ctx.derived(`${f.name}_dw`, [ci * co, 1, kh, kw], DataType.FLOAT, p.values);
      if (out.shape[3] !== ci * co) ctx.fail(`has ${out.shape[3]} output channels, expected ${ci * co}`);
    } else {
      const p = permuteValues(f.values, f.shape, [3, 2, 0, 1]);
      w = ctx.derived(`${f.name}_oihw`, p.shape, DataType.FLOAT, p.values);
    }
    const y = ctx.b.node('Conv', [ctx.get(x, 'nchw'), w], [ctx.outName(out)], {
      kernel_shape: [kh, kw],
      strides: s,
      dilations: d,
      pads,
      group: depthwise ? C : 1,
    })[0]!;
    ctx.define(out, y, 'nchw');
  };
}

function pool(kind: 'MaxPool' | 'AveragePool'): Rule {
  return (ctx: LoweringContext, node: TraceNode): void => {
    only(ctx, node, ['x']);
    const x = input(ctx, node, 'x');
    needFloat(ctx, x);
    const a = node.attrs;
    const k = pair(a.filterSize, 1);
    const s = pair(a.strides, 1);
    if (!k || !s) {
      ctx.fail(`has unsupported filterSize/strides ${JSON.stringify(a)}`);
      return;
    }
    if (a.dilations !== undefined && JSON.stringify(pair(a.dilations, 1)) !== '[1,1]') ctx.fail('is a dilated pool');
    const [, H, W] = ctx.shape(x) as [number, number, number, number];
    const pads = explicitPads(a.pad, [H, W], k, s, [1, 1]);
    if (typeof pads === 'string') {
      ctx.fail(pads);
      return;
    }
    checkOut(ctx, node, [H, W], k, s, [1, 1], pads);
    const out = node.outputs[0]!;
    // tfjs averages over the in-image pixels of a window only, as count_include_pad = 0.
    const extra = kind === 'AveragePool' ? { count_include_pad: 0 } : {};
    const y = ctx.b.node(kind, [ctx.get(x, 'nchw')], [ctx.outName(out)], { kernel_shape: k, strides: s, pads, ...extra })[0]!;
    ctx.define(out, y, 'nchw');
  };
}

/**
 * tfjs (alignCorners = halfPixelCenters = false) reads source index
 * min(floor(o · in/out), in − 1); ONNX Resize nearest with asymmetric / floor
 * and float scale s = out/in reads floor(o / s). Both are evaluated here for
 * every output index (in float32 and float64 for tfjs, whose backends differ)
 * and the op is refused unless they agree everywhere (integer factors always do).
 */
function resizeExact(inSize: number, outSize: number): boolean {
  const scale = Math.fround(outSize / inSize);
  if (Math.floor(Math.fround(inSize * scale)) !== outSize) return false;
  const ratio = inSize / outSize;
  const ratio32 = Math.fround(ratio);
  for (let o = 0; o < outSize; o++) {
    const onnx = Math.min(Math.floor(Math.fround(o / scale)), inSize - 1);
    const tf64 = Math.min(Math.floor(ratio * o), inSize - 1);
    const tf32 = Math.min(Math.floor(Math.fround(ratio32 * o)), inSize - 1);
    if (onnx !== tf64 || onnx !== tf32) return false;
  }
  return true;
}

const resizeNearest: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  only(ctx, node, ['images']);
  const x = input(ctx, node, 'images');
  needFloat(ctx, x);
  if (node.attrs.alignCorners || node.attrs.halfPixelCenters)
    ctx.fail('uses alignCorners or halfPixelCenters (only the default coordinate rule is exported)');
  const [, H, W] = ctx.shape(x) as [number, number, number, number];
  const out = node.outputs[0]!;
  const [, oh, ow] = out.shape as [number, number, number, number];
  if (!resizeExact(H, oh) || !resizeExact(W, ow)) ctx.fail(`resizes ${H}x${W} to ${oh}x${ow}, a ratio ONNX Resize does not reproduce exactly`);
  const scales = ctx.derived(`resize_scales_${H}x${W}_${oh}x${ow}`, [4], DataType.FLOAT, Float32Array.from([1, 1, oh / H, ow / W]));
  const y = ctx.b.node('Resize', [ctx.get(x, 'nchw'), '', scales], [ctx.outName(out)], {
    mode: 'nearest',
    coordinate_transformation_mode: 'asymmetric',
    nearest_mode: 'floor',
  })[0]!;
  ctx.define(out, y, 'nchw');
};

/** Per-channel vector [C] of a batch-norm parameter (a constant of size C or 1), or `dflt` when absent. */
function perChannel(ctx: LoweringContext, node: TraceNode, key: string, C: number, dflt: number | null): Float32Array {
  const name = node.inputs[key];
  if (!name) {
    if (dflt === null) ctx.fail(`misses its '${key}' input`);
    return new Float32Array(C).fill(dflt);
  }
  const c = ctx.constant(name);
  const nonUnit = c.shape.filter((v) => v !== 1);
  if (c.values.length === 1) return new Float32Array(C).fill(c.values[0]!);
  if (c.values.length !== C || (c.shape.length > 0 && c.shape[c.shape.length - 1] !== C) || nonUnit.length !== 1) {
    ctx.fail(`has a '${key}' of shape [${c.shape}], not per-channel`);
  }
  return Float32Array.from(c.values);
}

const fusedBatchNorm: Rule = (ctx: LoweringContext, node: TraceNode): void => {
  only(ctx, node, ['x', 'mean', 'variance', 'offset', 'scale']);
  const x = input(ctx, node, 'x');
  needFloat(ctx, x);
  if (ctx.rank(x) !== 4) ctx.fail(`normalises a rank-${ctx.rank(x)} tensor`);
  const eps = node.attrs.varianceEpsilon;
  if (typeof eps !== 'number') {
    ctx.fail('has no varianceEpsilon');
    return;
  }
  const C = ctx.shape(x)[3]!;
  const out = node.outputs[0]!;
  const params = (['scale', 'offset', 'mean', 'variance'] as const).map((k) => {
    const v = perChannel(ctx, node, k, C, k === 'scale' ? 1 : k === 'offset' ? 0 : null);
    return ctx.derived(`${node.inputs[k] ?? `bn_${k}`}_${k}_${out.name}`, [C], DataType.FLOAT, v);
  });
  const y = ctx.b.node('BatchNormalization', [ctx.get(x, 'nchw'), ...params], [ctx.outName(out)], { epsilon: { float: eps } })[0]!;
  ctx.define(out, y, 'nchw');
};

export const NN_RULES: Record<string, Rule> = {
  Conv2D: conv(false),
  DepthwiseConv2dNative: conv(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  ResizeNearestNeighbor: resizeNearest,
  FusedBatchNorm: fusedBatchNorm,
};
