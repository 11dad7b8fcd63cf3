/**
 * Which native addon, if any, the engine's kernels use now (set when the native
 * kernels are registered, cleared when they are removed). The fused training ops
 * read it to choose their native form.
 */
import type { NativeAddon } from './addon.js';

let active: NativeAddon | null = null;

export function setActiveNativeAddon(addon: NativeAddon | null): void {
  active = addon;
}

export function activeNativeAddon(): NativeAddon | null {
  return active;
}
