/**
 * Conv2DBackpropFilter for the wasm backend, computed by the backend's own fast
 * forward convolution (XNNPACK):
 *
 *   dW[i, j, ci, co] = Σ_{b, y, x} X[b, y·s + i·d − p, x·s + j·d − p, ci] · dY[b, y, x, co]
 *
 * is a forward convolution of X' = X transposed to [Ci, H, W, B] (batch ↔ channels)
 * with the filter dY' = dY transposed to [Ho, Wo, B, Co], at stride d and dilation s;
 * its [Ci, kh, kw, Co] output is transposed back to [kh, kw, Ci, Co]. Layers
 * with few input channels take the GEMM path of conv2d-backprop-filter-gemm.ts.
 */
import {
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { filterGradPadding, resolveConvGeometry } from './conv-geometry.js';
import { conv2dBackpropFilterGemm, GEMM_FILTER_GRAD_MAX_ROWS } from './conv2d-backprop-filter-gemm.js';
import { withKernelScope } from './kernel-scope.js';

export function conv2dBackpropFilterViaConv(
  backend: KernelBackend,
  backendName: string,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const g = resolveConvGeometry(
    Conv2DBackpropFilter,
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    dataFormat,
  );
  const [kh, kw, ci, co] = filterShape;
  return withKernelScope(backend, backendName, (s) => {
    if (kh * kw * ci <= GEMM_FILTER_GRAD_MAX_ROWS) return conv2dBackpropFilterGemm(s, x, dy, g, filterShape);
    const [pt, pb] = filterGradPadding(g.inH, g.outH, kh, g.strideH, g.dilH, g.padTop);
    const [pl, pr] = filterGradPadding(g.inW, g.outW, kw, g.strideW, g.dilW, g.padLeft);
    let xt = s.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, B]
    // Crop rows/columns the forward convolution never read; pad the rest explicitly.
    xt = s.padOrCrop(xt, [
      [0, 0],
      [0, Math.min(0, pb)],
      [0, Math.min(0, pr)],
      [0, 0],
    ]);
    const dyt = s.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, B, Co]
    const out = s.run(
      'Conv2D',
      { x: xt, filter: dyt },
      {
        strides: [g.dilH, g.dilW],
        dilations: [g.strideH, g.strideW],
        pad: [
          [0, 0],
          [pt, Math.max(0, pb)],
          [pl, Math.max(0, pr)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    ); // [Ci, kh, kw, Co]
    if (out.shape[0] !== ci || out.shape[1] !== kh || out.shape[2] !== kw || out.shape[3] !== co) {
      throw new Error(`Conv2DBackpropFilter: internal shape mismatch ${out.shape} vs [${ci},${kh},${kw},${co}]`);
    }
    return s.transpose(out, [1, 2, 0, 3]);
  });
}

export function conv2dBackpropFilterConfig(backendName: string): KernelConfig {
  return {
    kernelName: Conv2DBackpropFilter,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) =>
      conv2dBackpropFilterViaConv(
        backend as KernelBackend,
        backendName,
        inputs.x!,
        inputs.dy!,
        attrs as unknown as Conv2DBackpropFilterAttrs,
      )) as KernelFunc,
  };
}
