/**
 * The element-wise kernels of the fused training ops in native form (engine/fused-ops.ts
 * calls them through the engine, so they show in profiles and their outputs are
 * ordinary tensors): batch norm + activation forward and its input gradient, and an
 * activation's forward and gradient. Inputs are views of the wasm heap.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { Float32HeapBackend as HeapBackend } from '../kernels/heap-views.js';
import type { NativeKernel } from './conv-kernels.js';

export const BN_ACT_FORWARD = 'YolorBatchNormAct';
export const BN_ACT_BACKWARD = 'YolorBatchNormActGrad';
export const ACT_FORWARD = 'YolorActivation';
export const ACT_BACKWARD = 'YolorActivationGrad';

export interface BnActAttrs {
  mean: Float32Array;
  rstd: Float32Array;
  act: number;
}

export interface BnActGradAttrs extends BnActAttrs {
  meanDp: Float32Array;
  meanDpXhat: Float32Array;
}

function kernel(
  kernelName: string,
  backendName: string,
  run: (b: KernelBackend & HeapBackend, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>) => TensorInfo,
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: ((args) =>
      run(
        args.backend as KernelBackend & HeapBackend,
        args.inputs as Record<string, TensorInfo>,
        args.attrs as unknown as Record<string, unknown>,
      )) as KernelFunc,
  };
}

const channelsOf = (t: TensorInfo): number => t.shape[t.shape.length - 1]!;
const sizeOf = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);

export const NATIVE_NORM_ACT_KERNELS: readonly NativeKernel[] = [
  {
    kernelName: BN_ACT_FORWARD,
    method: 'batch norm + activation in one pass (OpenMP)',
    make: (addon, name) =>
      kernel(BN_ACT_FORWARD, name, (b, { x, gamma, beta }, attrs) => {
        const a = attrs as unknown as BnActAttrs;
        const out = b.makeOutput(x!.shape, 'float32');
        const c = channelsOf(x!);
        addon.bnActForward(
          b.typedArrayFromHeap(x!),
          sizeOf(x!) / c,
          c,
          a.mean,
          a.rstd,
          b.typedArrayFromHeap(gamma!),
          b.typedArrayFromHeap(beta!),
          a.act,
          b.typedArrayFromHeap(out),
        );
        return out;
      }),
  },
  {
    kernelName: BN_ACT_BACKWARD,
    method: 'batch norm + activation input gradient in one pass (OpenMP)',
    make: (addon, name) =>
      kernel(BN_ACT_BACKWARD, name, (b, { x, dy, gamma, beta }, attrs) => {
        const a = attrs as unknown as BnActGradAttrs;
        const out = b.makeOutput(x!.shape, 'float32');
        const c = channelsOf(x!);
        addon.bnActBackwardDx(
          b.typedArrayFromHeap(x!),
          b.typedArrayFromHeap(dy!),
          sizeOf(x!) / c,
          c,
          a.mean,
          a.rstd,
          b.typedArrayFromHeap(gamma!),
          b.typedArrayFromHeap(beta!),
          a.act,
          a.meanDp,
          a.meanDpXhat,
          b.typedArrayFromHeap(out),
        );
        return out;
      }),
  },
  {
    kernelName: ACT_FORWARD,
    method: 'activation (OpenMP)',
    make: (addon, name) =>
      kernel(ACT_FORWARD, name, (b, { x }, attrs) => {
        const out = b.makeOutput(x!.shape, 'float32');
        addon.actForward(b.typedArrayFromHeap(x!), sizeOf(x!), (attrs as { act: number }).act, b.typedArrayFromHeap(out));
        return out;
      }),
  },
  {
    kernelName: ACT_BACKWARD,
    method: 'activation gradient (OpenMP)',
    make: (addon, name) =>
      kernel(ACT_BACKWARD, name, (b, { x, dy }, attrs) => {
        const out = b.makeOutput(x!.shape, 'float32');
        addon.actBackward(b.typedArrayFromHeap(x!), b.typedArrayFromHeap(dy!), sizeOf(x!), (attrs as { act: number }).act, b.typedArrayFromHeap(out));
        return out;
      }),
  },
];
