/**
 * Native kernels for the wasm backend: registered over the backend's own (or the
 * TRAINING_KERNELS replacements) when the addon loads, removed again on request
 * (the benchmark compares both in one process).
 */
import { findBackend, getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { NATIVE_CONV_KERNELS, type NativeKernel } from './conv-kernels.js';
import { NATIVE_NORM_ACT_KERNELS } from './norm-act-kernels.js';
import { activeNativeAddon, setActiveNativeAddon } from './state.js';
import { NATIVE_TENSOR_KERNELS } from './tensor-kernels.js';

export { loadNativeAddon, NATIVE_ACT, NATIVE_HOW_TO, type NativeAct, type NativeAddon, type NativeLoad } from './addon.js';
export { activeNativeAddon } from './state.js';

export const NATIVE_KERNELS: readonly NativeKernel[] = [...NATIVE_CONV_KERNELS, ...NATIVE_NORM_ACT_KERNELS, ...NATIVE_TENSOR_KERNELS];

const replaced = new Map<string, KernelConfig | undefined>();

export function registerNativeKernels(addon: NativeAddon, backendName = 'wasm'): void {
  if (activeNativeAddon() === addon) return;
  if (activeNativeAddon()) unregisterNativeKernels(backendName);
  for (const k of NATIVE_KERNELS) {
    const previous = getKernel(k.kernelName, backendName);
    if (previous) unregisterKernel(k.kernelName, backendName);
    replaced.set(k.kernelName, previous);
    registerKernel(k.make(addon, backendName, previous));
  }
  setActiveNativeAddon(addon);
}

/** Restores the kernels that were registered before the native ones. */
export function unregisterNativeKernels(backendName = 'wasm'): void {
  if (!activeNativeAddon()) return;
  for (const k of NATIVE_KERNELS) {
    unregisterKernel(k.kernelName, backendName);
    const previous = replaced.get(k.kernelName);
    if (previous) {
      registerKernel(previous);
      const backend = findBackend(backendName);
      if (backend && previous.setupFunc) previous.setupFunc(backend);
    }
  }
  replaced.clear();
  setActiveNativeAddon(null);
}
