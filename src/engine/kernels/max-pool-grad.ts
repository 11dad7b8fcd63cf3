/**
 * MaxPoolGrad as a direct loop: each output gradient goes to the first maximum
 * of its window (padding never wins). Replaces the wasm backend's built-in
 * kernel, which routes the gradient wrongly when every value in a window is
 * negative (found by `yolor selftest`'s finite-difference check); windows of
 * SiLU activations in an SPPF block are often entirely negative.
 */
import {
  backend_util,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { withOutput } from './heap-views.js';

export function maxPoolGradDirect(backend: KernelBackend, dy: TensorInfo, input: TensorInfo, attrs: MaxPoolGradAttrs): TensorInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const {
    out,
    outValues: dx,
    inValues: [xs, dys],
    commit,
  } = withOutput(backend, input.shape.slice(), [input, dy]);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  for (let b = 0; b < batchSize; b++) {
    for (let y = 0; y < oh; y++) {
      const r0 = y * sh - info.padInfo.top;
      for (let x = 0; x < ow; x++) {
        const c0 = x * sw - info.padInfo.left;
        const dyOff = ((b * oh + y) * ow + x) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let i = 0; i < fh; i += dh) {
            const r = r0 + i;
            if (r < 0 || r >= h) continue;
            for (let j = 0; j < fw; j += dw) {
              const col = c0 + j;
              if (col < 0 || col >= w) continue;
              const idx = ((b * h + r) * w + col) * c + ch;
              if (xs[idx]! > best || at < 0) {
                best = xs[idx]!;
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at]! += dys[dyOff + ch]!;
        }
      }
    }
  }
  commit();
  return out;
}

export function maxPoolGradConfig(backendName: string): KernelConfig {
  return {
    kernelName: MaxPoolGrad,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) =>
      maxPoolGradDirect(backend as KernelBackend, inputs.dy!, inputs.input!, attrs as unknown as MaxPoolGradAttrs)) as KernelFunc,
  };
}
