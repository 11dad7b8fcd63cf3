/**
 * The kernels a training step needs that the wasm backend lacks (or has only in
 * a slow form), registered under the wasm backend's name. Each entry names the
 * kernel and how it is computed, for `yolor selftest` and `yolor env`.
 */
import { findBackend, getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter.js';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input.js';
import { identityConfig } from './identity.js';
import { meanLeadingAxesConfig, sumLeadingAxesConfig } from './leading-axes-reduce.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { emaStepConfig, sgdStepConfig } from './optimizer-steps.js';
import { resizeNearestGradCpuConfig, resizeNearestGradWasmConfig } from './resize-nearest-grad.js';
import { tileConfig } from './tile.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

export interface TrainingKernel {
  kernelName: string;
  method: string;
  /** Builds the kernel; `builtin` is the backend's own version where one exists (wrappers delegate to it). */
  make(backendName: string, builtin?: KernelConfig): KernelConfig;
}

export const TRAINING_KERNELS: readonly TrainingKernel[] = [
  { kernelName: 'Conv2DBackpropFilter', method: 'forward Conv2D on transposed input/gradient', make: conv2dBackpropFilterConfig },
  { kernelName: 'Conv2DBackpropInput', method: 'forward Conv2D on zero-inserted gradient, flipped filter', make: conv2dBackpropInputConfig },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter', method: 'single-pass direct loop', make: depthwiseBackpropFilterConfig },
  { kernelName: 'DepthwiseConv2dNativeBackpropInput', method: 'forward DepthwiseConv2dNative, flipped filter', make: depthwiseBackpropInputConfig },
  { kernelName: 'Identity', method: 'shares the input buffer, reference-counted (built-in copies it)', make: identityConfig },
  { kernelName: 'UnsortedSegmentSum', method: 'direct loop', make: unsortedSegmentSumConfig },
  { kernelName: 'MaxPoolGrad', method: 'direct loop (built-in misroutes all-negative windows)', make: maxPoolGradConfig },
  {
    kernelName: 'ResizeNearestNeighborGrad',
    method: 'direct loop (built-in misroutes half-pixel-centre gradients)',
    make: resizeNearestGradWasmConfig,
  },
  { kernelName: 'Tile', method: 'block copies per axis (built-in copies element by element)', make: tileConfig },
  { kernelName: 'YolorSgdStep', method: 'Nesterov SGD update of one variable in one pass (the composite ops, bit for bit)', make: sgdStepConfig },
  { kernelName: 'YolorEmaStep', method: 'EMA update of one variable in one pass (the composite ops, bit for bit)', make: emaStepConfig },
  { kernelName: 'Sum', method: 'leading axes: one streaming pass (built-in transposes first); else built-in', make: sumLeadingAxesConfig },
  { kernelName: 'Mean', method: 'leading axes: one streaming pass (built-in transposes first); else built-in', make: meanLeadingAxesConfig },
];

const installed = new Map<string, KernelConfig | undefined>();

/**
 * Registers the training kernels for `backendName` (normally 'wasm'), replacing
 * any built-in version. Idempotent.
 */
export function registerTrainingKernels(backendName = 'wasm'): void {
  for (const k of TRAINING_KERNELS) {
    const key = `${backendName}/${k.kernelName}`;
    if (installed.has(key)) continue;
    const previous = getKernel(k.kernelName, backendName);
    if (previous) unregisterKernel(k.kernelName, backendName);
    installed.set(key, previous);
    registerKernel(k.make(backendName, previous));
  }
}

/**
 * Fixes for the pure-JS cpu backend (the correctness reference): its
 * ResizeNearestNeighborGrad mixes up the images of a batch (tfjs-backend-cpu
 * 4.22). Idempotent.
 */
export function registerCpuFixes(): void {
  const key = 'cpu/ResizeNearestNeighborGrad';
  if (installed.has(key)) return;
  const previous = getKernel('ResizeNearestNeighborGrad', 'cpu');
  if (previous) unregisterKernel('ResizeNearestNeighborGrad', 'cpu');
  installed.set(key, previous);
  registerKernel(resizeNearestGradCpuConfig('cpu'));
}

/** Restores the backend's own kernels (used by the benchmark to measure the baseline). */
export function unregisterTrainingKernels(backendName = 'wasm'): void {
  for (const k of TRAINING_KERNELS) {
    const key = `${backendName}/${k.kernelName}`;
    if (!installed.has(key)) continue;
    unregisterKernel(k.kernelName, backendName);
    const previous = installed.get(key);
    if (previous) {
      registerKernel(previous);
      // Set-up functions run when a backend initialises; ours replaced this kernel before that.
      const backend = findBackend(backendName);
      if (backend && previous.setupFunc) previous.setupFunc(backend);
    }
    installed.delete(key);
  }
}
