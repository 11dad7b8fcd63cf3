/**
 * The memory-bound kernels of a training step that the wasm backend runs on one
 * thread (or in JavaScript), computed by the native addon with every core: the
 * max-pool gradient (SPPF), concatenation and splitting along the channel axis (CSP
 * blocks, PAN), and sums and means over leading axes (bias and implicit-knowledge
 * gradients). Every other form of these kernels (another axis, another dtype) is
 * handed to the kernel registered before, unchanged.
 */
import {
  backend_util,
  Concat,
  type ConcatAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  Mean,
  ResizeNearestNeighborGrad,
  type ResizeNearestNeighborGradAttrs,
  Slice,
  type SliceAttrs,
  SplitV,
  type SplitVAttrs,
  Sum,
  type SumAttrs,
  slice_util,
  type Tensor,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import type { Float32HeapBackend as HeapBackend } from '../kernels/heap-views.js';
import { EMA_STEP, SGD_STEP, type SgdStepAttrs } from '../kernels/optimizer-steps.js';
import { nearestSource } from '../kernels/resize-nearest-grad.js';
import type { NativeAddon } from './addon.js';
import type { NativeKernel } from './conv-kernels.js';

type Args = Parameters<KernelFunc>[0];

/** A kernel that runs natively where `run` returns a result, and delegates to `builtin` where it returns null. */
function wrapped(
  kernelName: string,
  backendName: string,
  builtin: KernelConfig | undefined,
  run: (b: KernelBackend & HeapBackend, args: Args) => TensorInfo | TensorInfo[] | null,
): KernelConfig {
  const config: KernelConfig = {
    kernelName,
    backendName,
    kernelFunc: ((args: Args) => {
      const out = run(args.backend as KernelBackend & HeapBackend, args);
      if (out) return out;
      if (!builtin) throw new Error(`${kernelName}: this form needs the backend's own kernel, which it lacks`);
      return builtin.kernelFunc(args);
    }) as KernelFunc,
  };
  // The kernel registered before may bind a wasm function at backend set-up; it still must.
  if (builtin?.setupFunc) config.setupFunc = builtin.setupFunc;
  return config;
}

function maxPoolGrad(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo | null {
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  if (input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4) return null;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const geo = Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.effectiveFilterHeight,
    info.effectiveFilterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  const out = b.makeOutput(input.shape.slice(), 'float32');
  addon.maxPoolBackward(geo, b.typedArrayFromHeap(input), b.typedArrayFromHeap(dy), b.typedArrayFromHeap(out));
  return out;
}

function resizeNearestGrad(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo | null {
  const { images, dy } = args.inputs as { images: TensorInfo; dy: TensorInfo };
  if (dy.dtype !== 'float32' || images.shape.length !== 4 || dy.shape.length !== 4) return null;
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as ResizeNearestNeighborGradAttrs;
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  const [, h, w] = images.shape as [number, number, number, number];
  const rows = Int32Array.from({ length: oh }, (_, y) => nearestSource(y, h, oh, alignCorners, halfPixelCenters));
  const cols = Int32Array.from({ length: ow }, (_, x) => nearestSource(x, w, ow, alignCorners, halfPixelCenters));
  const out = b.makeOutput(images.shape.slice(), 'float32');
  addon.resizeNearestBackward(b.typedArrayFromHeap(dy), Int32Array.of(n, oh, ow, c, h, w), rows, cols, b.typedArrayFromHeap(out));
  return out;
}

/** Rows (product of all but the last axis) and the last axis of a shape. */
function rowsAndWidth(shape: number[]): [number, number] {
  const width = shape[shape.length - 1]!;
  return [util.sizeFromShape(shape.slice(0, -1)), width];
}

function concat(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo | null {
  const given = args.inputs as unknown as TensorInfo[] | Record<string, TensorInfo>;
  const inputs = Array.isArray(given) ? given : Object.values(given);
  if (!inputs.length || inputs.some((t) => t.dtype !== 'float32')) return null;
  const rank = inputs[0]!.shape.length;
  if (rank === 0) return null;
  const axis = util.parseAxisParam((args.attrs as unknown as ConcatAttrs).axis, inputs[0]!.shape)[0]!;
  if (axis !== rank - 1) return null;
  const outShape = backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    axis,
  );
  const out = b.makeOutput(outShape, 'float32');
  const [rows, width] = rowsAndWidth(outShape);
  const o = b.typedArrayFromHeap(out);
  let at = 0;
  for (const t of inputs) {
    const w = t.shape[axis]!;
    if (w > 0 && rows > 0) addon.copyColumns(b.typedArrayFromHeap(t), w, o.subarray(at), width, rows, w);
    at += w;
  }
  return out;
}

function splitV(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo[] | null {
  const x = (args.inputs as { x: TensorInfo }).x;
  const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
  if (x.dtype !== 'float32' || x.shape.length === 0) return null;
  const ax = util.parseAxisParam(axis, x.shape)[0]!;
  if (ax !== x.shape.length - 1) return null;
  const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  const [rows, width] = rowsAndWidth(x.shape);
  const outs = sizes.map((w) => b.makeOutput([...x.shape.slice(0, -1), w], 'float32'));
  // Views after every allocation (an allocation may move the heap).
  const xs = b.typedArrayFromHeap(x);
  let at = 0;
  sizes.forEach((w, i) => {
    if (w > 0 && rows > 0) addon.copyColumns(xs.subarray(at), width, b.typedArrayFromHeap(outs[i]!), w, rows, w);
    at += w;
  });
  return outs;
}

/** A slice along the last axis only (every other axis whole): row copies. */
function sliceLastAxis(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo | null {
  const x = (args.inputs as { x: TensorInfo }).x;
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return null;
  const { begin, size } = args.attrs as unknown as SliceAttrs;
  const [b0, s0] = slice_util.parseSliceParams(x as unknown as Tensor, begin, size);
  for (let i = 0; i < rank - 1; i++) if (b0[i] !== 0 || s0[i] !== x.shape[i]) return null;
  const width = x.shape[rank - 1]!;
  const w = s0[rank - 1]!;
  const outShape = [...x.shape.slice(0, -1), w];
  const out = b.makeOutput(outShape, 'float32');
  const rows = util.sizeFromShape(x.shape.slice(0, -1));
  if (w > 0 && rows > 0) addon.copyColumns(b.typedArrayFromHeap(x).subarray(b0[rank - 1]!), width, b.typedArrayFromHeap(out), w, rows, w);
  return out;
}

/** Sum or mean over leading axes (a prefix, not all): per-column sums in float64, blocked so that threads do not change them. */
function reduceLeading(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args, mean: boolean): TensorInfo | null {
  const x = (args.inputs as { x: TensorInfo }).x;
  if (x.dtype !== 'float32') return null;
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const axes = [...util.parseAxisParam(axis, x.shape)].sort((p, q) => p - q);
  const k = axes.length;
  if (k === 0 || k === x.shape.length || !axes.every((a, i) => a === i)) return null;
  const rows = util.sizeFromShape(x.shape.slice(0, k));
  const inner = util.sizeFromShape(x.shape.slice(k));
  const shape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  const sums = new Float64Array(inner);
  if (rows > 0) addon.channelSums(b.typedArrayFromHeap(x), 1, rows, inner, null, sums);
  const out = b.makeOutput(shape, 'float32');
  const o = b.typedArrayFromHeap(out);
  const scale = mean ? 1 / rows : 1;
  for (let j = 0; j < inner; j++) o[j] = sums[j]! * scale;
  return out;
}

function sgdStep(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo[] | null {
  const { x, m, g } = args.inputs as { x: TensorInfo; m: TensorInfo; g: TensorInfo };
  if ([x, m, g].some((t) => t.dtype !== 'float32')) return null;
  const { lr, momentum, weightDecay } = args.attrs as unknown as SgdStepAttrs;
  const n = util.sizeFromShape(x.shape);
  const xo = b.makeOutput(x.shape.slice(), 'float32');
  const mo = b.makeOutput(x.shape.slice(), 'float32');
  const v = (t: TensorInfo): Float32Array => b.typedArrayFromHeap(t);
  addon.sgdStep(v(x), v(m), v(g), n, lr, momentum, weightDecay, v(xo), v(mo));
  return [xo, mo];
}

function emaStep(addon: NativeAddon, b: KernelBackend & HeapBackend, args: Args): TensorInfo | null {
  const { shadow, x } = args.inputs as { shadow: TensorInfo; x: TensorInfo };
  if (shadow.dtype !== 'float32' || x.dtype !== 'float32') return null;
  const { decay } = args.attrs as unknown as { decay: number };
  const out = b.makeOutput(x.shape.slice(), 'float32');
  addon.emaStep(b.typedArrayFromHeap(shadow), b.typedArrayFromHeap(x), util.sizeFromShape(x.shape), decay, 1 - decay, b.typedArrayFromHeap(out));
  return out;
}

export const NATIVE_TENSOR_KERNELS: readonly NativeKernel[] = [
  {
    kernelName: SGD_STEP,
    method: 'Nesterov SGD update, one pass (no FMA contraction: bit-identical to the composite ops)',
    make: (addon, name, builtin) => wrapped(SGD_STEP, name, builtin, (b, a) => sgdStep(addon, b, a)),
  },
  {
    kernelName: EMA_STEP,
    method: 'EMA update, one pass (no FMA contraction: bit-identical to the composite ops)',
    make: (addon, name, builtin) => wrapped(EMA_STEP, name, builtin, (b, a) => emaStep(addon, b, a)),
  },
  {
    kernelName: MaxPoolGrad,
    method: 'first maximum of each window (OpenMP over images × channel blocks)',
    make: (addon, name, builtin) => wrapped(MaxPoolGrad, name, builtin, (b, a) => maxPoolGrad(addon, b, a)),
  },
  {
    kernelName: ResizeNearestNeighborGrad,
    method: "scatter-add per image (OpenMP), the forward resize's index rule",
    make: (addon, name, builtin) => wrapped(ResizeNearestNeighborGrad, name, builtin, (b, a) => resizeNearestGrad(addon, b, a)),
  },
  {
    kernelName: Concat,
    method: 'last axis: row copies (OpenMP); else the previous kernel',
    make: (addon, name, builtin) => wrapped(Concat, name, builtin, (b, a) => concat(addon, b, a)),
  },
  {
    kernelName: SplitV,
    method: 'last axis: row copies (OpenMP); else the previous kernel',
    make: (addon, name, builtin) => wrapped(SplitV, name, builtin, (b, a) => splitV(addon, b, a)),
  },
  {
    kernelName: Slice,
    method: 'last axis only: row copies (OpenMP); else the previous kernel',
    make: (addon, name, builtin) => wrapped(Slice, name, builtin, (b, a) => sliceLastAxis(addon, b, a)),
  },
  {
    kernelName: Sum,
    method: 'leading axes: blocked float64 column sums (OpenMP); else the previous kernel',
    make: (addon, name, builtin) => wrapped(Sum, name, builtin, (b, a) => reduceLeading(addon, b, a, false)),
  },
  {
    kernelName: Mean,
    method: 'leading axes: blocked float64 column sums (OpenMP); else the previous kernel',
    make: (addon, name, builtin) => wrapped(Mean, name, builtin, (b, a) => reduceLeading(addon, b, a, true)),
  },
];
