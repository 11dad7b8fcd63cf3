/**
 * Convolution kernels for the wasm backend computed by the native addon (oneDNN, or its
 * built-in im2col + GEMM where oneDNN is not installed):
 * the forward convolution and both gradients, regular and depthwise. Tensors are
 * handed over as views of the wasm heap, so nothing is copied; the output is
 * allocated first, because allocating may grow (and so move) the heap.
 */
import {
  Conv2D,
  type Conv2DAttrs,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type PadAttr, resolveConvGeometry } from '../kernels/conv-geometry.js';
import type { Float32HeapBackend as HeapBackend } from '../kernels/heap-views.js';
import type { NativeAddon } from './addon.js';

type Shape4 = [number, number, number, number];

interface ConvCall {
  xShape: Shape4;
  filterShape: Shape4;
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: PadAttr;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: string;
  depthwise: boolean;
}

/** The addon's geometry vector, or null where it cannot take it (negative bottom/right padding). */
export function nativeGeometry(kernelName: string, c: ConvCall): Int32Array | null {
  const g = resolveConvGeometry(kernelName, c.xShape, c.filterShape, c.strides, c.dilations, c.pad, c.dimRoundingMode, c.depthwise, c.dataFormat);
  const ic = c.xShape[3];
  const oc = c.depthwise ? ic * c.filterShape[3] : c.filterShape[3];
  const groups = c.depthwise ? ic : 1;
  const padBottom = (g.outH - 1) * g.strideH + (g.kh - 1) * g.dilH + 1 - g.inH - g.padTop;
  const padRight = (g.outW - 1) * g.strideW + (g.kw - 1) * g.dilW + 1 - g.inW - g.padLeft;
  if (padBottom < 0 || padRight < 0 || g.padTop < 0 || g.padLeft < 0) return null;
  return Int32Array.of(g.batch, g.inH, g.inW, ic, g.outH, g.outW, oc, g.kh, g.kw, groups, g.strideH, g.strideW, g.dilH, g.dilW, g.padTop, g.padLeft);
}

function outShape(geo: Int32Array, which: 'src' | 'dst'): number[] {
  return which === 'src' ? [geo[0]!, geo[1]!, geo[2]!, geo[3]!] : [geo[0]!, geo[4]!, geo[5]!, geo[6]!];
}

type Pass = 'forward' | 'data' | 'weights';

/**
 * Builds one kernel: `describe` maps the kernel's inputs/attrs to a call (or null to
 * delegate to the backend's built-in kernel), `run` calls the addon.
 */
function nativeConvKernel(
  addon: NativeAddon,
  kernelName: string,
  backendName: string,
  builtin: KernelConfig | undefined,
  pass: Pass,
  describe: (inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>) => ConvCall,
  operands: (inputs: Record<string, TensorInfo>) => [TensorInfo, TensorInfo],
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: ((args) => {
      const inputs = args.inputs as Record<string, TensorInfo>;
      const attrs = args.attrs as unknown as Record<string, unknown>;
      const call = describe(inputs, attrs);
      const geo = nativeGeometry(kernelName, call);
      if (!geo) {
        if (!builtin) throw new Error(`${kernelName}: this geometry needs the built-in kernel, which the backend lacks`);
        return builtin.kernelFunc(args);
      }
      const backend = args.backend as KernelBackend & HeapBackend;
      const [a, b] = operands(inputs);
      const shape = pass === 'forward' ? outShape(geo, 'dst') : pass === 'data' ? outShape(geo, 'src') : call.filterShape;
      const out = backend.makeOutput(shape, 'float32');
      const o = backend.typedArrayFromHeap(out);
      const av = backend.typedArrayFromHeap(a);
      const bv = backend.typedArrayFromHeap(b);
      if (pass === 'forward') addon.convForward(geo, av, bv, o);
      else if (pass === 'data') addon.convBackwardData(geo, av, bv, o);
      else addon.convBackwardWeights(geo, av, bv, o);
      return out;
    }) as KernelFunc,
  };
}

export interface NativeKernel {
  kernelName: string;
  method: string;
  make(addon: NativeAddon, backendName: string, builtin?: KernelConfig): KernelConfig;
}

const s4 = (t: TensorInfo): Shape4 => t.shape as Shape4;

export const NATIVE_CONV_KERNELS: readonly NativeKernel[] = [
  {
    kernelName: Conv2D,
    method: 'convolution forward, NHWC (oneDNN, or the built-in im2col + GEMM)',
    make: (addon, name, builtin) =>
      nativeConvKernel(
        addon,
        Conv2D,
        name,
        builtin,
        'forward',
        (i, a) => {
          const at = a as unknown as Conv2DAttrs;
          return { ...at, xShape: s4(i.x!), filterShape: s4(i.filter!), depthwise: false };
        },
        (i) => [i.x!, i.filter!],
      ),
  },
  {
    kernelName: Conv2DBackpropInput,
    method: 'convolution backward data (oneDNN, or im2col + GEMM)',
    make: (addon, name, builtin) =>
      nativeConvKernel(
        addon,
        Conv2DBackpropInput,
        name,
        builtin,
        'data',
        (i, a) => {
          const at = a as unknown as Conv2DBackpropInputAttrs;
          return { ...at, xShape: at.inputShape as Shape4, filterShape: s4(i.filter!), dilations: 1, depthwise: false };
        },
        (i) => [i.dy!, i.filter!],
      ),
  },
  {
    kernelName: Conv2DBackpropFilter,
    method: 'convolution backward weights (oneDNN, or im2col + GEMM)',
    make: (addon, name, builtin) =>
      nativeConvKernel(
        addon,
        Conv2DBackpropFilter,
        name,
        builtin,
        'weights',
        (i, a) => {
          const at = a as unknown as Conv2DBackpropFilterAttrs;
          return { ...at, xShape: s4(i.x!), filterShape: at.filterShape as Shape4, dilations: 1, depthwise: false };
        },
        (i) => [i.x!, i.dy!],
      ),
  },
  {
    kernelName: DepthwiseConv2dNative,
    method: 'depthwise convolution forward (oneDNN, or direct loops)',
    make: (addon, name, builtin) =>
      nativeConvKernel(
        addon,
        DepthwiseConv2dNative,
        name,
        builtin,
        'forward',
        (i, a) => ({ ...(a as unknown as ConvCall), xShape: s4(i.x!), filterShape: s4(i.filter!), depthwise: true }),
        (i) => [i.x!, i.filter!],
      ),
  },
  {
    kernelName: DepthwiseConv2dNativeBackpropInput,
    method: 'depthwise convolution backward data (oneDNN, or direct loops)',
    make: (addon, name, builtin) =>
      nativeConvKernel(
        addon,
        DepthwiseConv2dNativeBackpropInput,
        name,
        builtin,
        'data',
        (i, a) => {
          const at = a as unknown as ConvCall & { inputShape: Shape4 };
          return { ...at, xShape: at.inputShape, filterShape: s4(i.filter!), depthwise: true };
        },
        (i) => [i.dy!, i.filter!],
      ),
  },
  {
    kernelName: DepthwiseConv2dNativeBackpropFilter,
    method: 'depthwise convolution backward weights (oneDNN, or direct loops)',
    make: (addon, name, builtin) =>
      nativeConvKernel(
        addon,
        DepthwiseConv2dNativeBackpropFilter,
        name,
        builtin,
        'weights',
        (i, a) => {
          const at = a as unknown as ConvCall & { filterShape: Shape4 };
          return { ...at, xShape: s4(i.x!), filterShape: at.filterShape, depthwise: true };
        },
        (i) => [i.x!, i.dy!],
      ),
  },
];
